"""The local Stripe's state, in PostgreSQL so the web process, workers and tests share it.

Stripe objects are stored as their JSON shape keyed by their Stripe id, with the columns the
sandbox queries by (type, owning account, creation time). What Stripe keeps hidden but the
sandbox needs (card outcomes, payout bookkeeping) lives in ``internal``, never in the JSON.
"""

from __future__ import annotations

from django.db import models


class StripeObject(models.Model):
    """One Stripe API object (account, checkout.session, charge, event, ...)."""

    stripe_id = models.CharField(max_length=80, unique=True)
    object_type = models.CharField(max_length=40, db_index=True)
    # The connected account that owns the object; "" for the platform's own objects.
    account = models.CharField(max_length=40, blank=True, default="", db_index=True)
    created = models.BigIntegerField(db_index=True)
    data = models.JSONField()
    internal = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["object_type", "account", "-created", "-id"])]

    def __str__(self) -> str:
        return self.stripe_id


class IdempotencyKey(models.Model):
    """A finished request's response, replayed for a repeat with the same key (24 hours)."""

    account = models.CharField(max_length=40, blank=True, default="")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=255)
    params_digest = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "key"], name="sandbox_idempotency_key_unique"
            )
        ]

    def __str__(self) -> str:
        return self.key


class SandboxState(models.Model):
    """The single row of sandbox-wide state: the clock offset, the delivery switches and the
    outcomes chosen for tests (``controls``).

    Its row lock also guards the platform's balance.
    """

    class RefundOutcome(models.TextChoices):
        SUCCEEDED = "succeeded", "Succeed at once"
        PENDING_SUCCEEDS = "pending_succeeds", "Stay pending, then succeed"
        PENDING_FAILS = "pending_fails", "Stay pending, then fail"
        FAILS_LATER = "fails_later", "Succeed, then fail (as Stripe's 4000 0000 0000 5126)"

    clock_offset_seconds = models.BigIntegerField(default=0)
    deliveries_paused = models.BooleanField(default=False)
    available_delay_seconds = models.PositiveIntegerField(default=2 * 86400)
    # When set, new charges become available at 00:00 UTC after this many business days
    # (Monday to Friday), as Stripe's payout schedules count them, instead of after
    # ``available_delay_seconds``.
    available_business_days = models.PositiveSmallIntegerField(null=True, blank=True)
    # What new refunds of charges without a refund test card do.
    refund_outcome = models.CharField(
        max_length=20, choices=RefundOutcome.choices, default=RefundOutcome.SUCCEEDED
    )
    # Deliveries held back and sent in a random order, some of them twice.
    deliveries_shuffled = models.BooleanField(default=False)
    duplicate_percent = models.PositiveSmallIntegerField(default=0)
    # Answers lost after the work is done (the caller sees a connection error or a timeout).
    lost_answer_percent = models.PositiveSmallIntegerField(default=0)
    # Seeds the random choices above, so a test can repeat a run.
    chaos_seed = models.BigIntegerField(default=0)
    # The simulated network latency of each API answer (log-normal, milliseconds); unset:
    # the settings ``STRIPE_SANDBOX_LATENCY_P50_MS`` / ``_P95_MS``.
    latency_p50_ms = models.PositiveIntegerField(null=True, blank=True)
    latency_p95_ms = models.PositiveIntegerField(null=True, blank=True)
    # What a subscription becomes when Stripe's retries of a renewal run out: "canceled"
    # (Stripe's default setting; blank), "unpaid", or "past_due" (left as it is).
    failed_renewal_outcome = models.CharField(max_length=10, blank=True, default="")

    def __str__(self) -> str:
        return f"sandbox clock +{self.clock_offset_seconds}s"


class WebhookEndpoint(models.Model):
    """A Stripe webhook endpoint (``/v1/webhook_endpoints``): where events are delivered.

    ``connect`` endpoints receive the events of connected accounts, the others the
    platform's; a ``livemode`` Connect endpoint receives connected accounts' test-mode events
    as well, as Stripe's do. ``status`` is ``enabled`` or ``disabled`` (nothing delivered).
    After a secret is rolled, deliveries carry one ``v1`` signature per secret still valid.
    """

    stripe_id = models.CharField(max_length=40, unique=True)
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=200)
    connect = models.BooleanField(default=False)
    enabled_events = models.JSONField(default=list)
    created = models.BigIntegerField()
    status = models.CharField(max_length=10, default="enabled")
    livemode = models.BooleanField(default=False)
    api_version = models.CharField(max_length=40, blank=True, default="")
    description = models.CharField(max_length=5000, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    # Rolled secrets still signing until they expire: [{"secret", "expires"}] (Unix time).
    previous_secrets = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["url", "connect"], name="sandbox_endpoint_url_unique")
        ]

    def __str__(self) -> str:
        return f"{self.url} ({'connect' if self.connect else 'platform'})"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed (will retry)"
    GAVE_UP = "gave_up", "Gave up"


class WebhookDelivery(models.Model):
    """One event to one endpoint; attempts are logged on it."""

    event_id = models.CharField(max_length=80, db_index=True)
    event_type = models.CharField(max_length=80)
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    status = models.CharField(
        max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_response = models.TextField(blank=True, default="")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    log = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} -> {self.endpoint.url}"
