"""The webhook inbox: every Stripe event as received, and its processing."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from marketplace import states


class WebhookEndpoint(models.TextChoices):
    PLATFORM = "platform", "Platform"
    CONNECT = "connect", "Connect"


class WebhookEventStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSING = "processing", "Processing"
    SUCCEEDED = "succeeded", "Succeeded"
    # Answered 200 and never processed: why is ``WebhookEvent.ignored_reason``.
    IGNORED = "ignored", "Ignored"
    RETRYING = "retrying", "Waiting to retry"
    FAILED = "failed", "Failed"


class WebhookIgnoredReason(models.TextChoices):
    """Why an event was not processed (each is answered 200 and never retried)."""

    # ``livemode`` is not our key's mode: a live Connect endpoint also receives connected
    # accounts' test-mode events, whose objects a live key cannot read.
    OTHER_MODE = "other_mode", "an event of the other mode"
    # The type is handled on the other endpoint only (a platform payout on the platform
    # endpoint: payouts are handled for coaches, on the Connect endpoint).
    OTHER_ENDPOINT = "other_endpoint", "handled on the other endpoint only"
    NO_HANDLER = "no_handler", "no handler"


_WEBHOOK_DONE = frozenset({WebhookEventStatus.SUCCEEDED, WebhookEventStatus.IGNORED})
# Every event can be processed again from admin (``received``); processing ends in one of
# the outcomes or waits to retry.
WEBHOOK_EVENT_TRANSITIONS: dict[str, frozenset[str]] = {
    WebhookEventStatus.RECEIVED: frozenset(WebhookEventStatus) - {WebhookEventStatus.RECEIVED},
    WebhookEventStatus.PROCESSING: frozenset(WebhookEventStatus) - {WebhookEventStatus.PROCESSING},
    WebhookEventStatus.RETRYING: frozenset(WebhookEventStatus) - {WebhookEventStatus.RETRYING},
    WebhookEventStatus.FAILED: frozenset({WebhookEventStatus.RECEIVED}),
    **{status: frozenset({WebhookEventStatus.RECEIVED}) for status in _WEBHOOK_DONE},
}


class WebhookEvent(models.Model):
    """A Stripe event as received; one row per Stripe event id, whatever the redeliveries.

    Receipt is bookkeeping (``received``); processing runs in a Celery task and moves the row
    ``processing -> succeeded | ignored | retrying | failed`` keeping the last error.
    """

    stripe_event_id = models.CharField(max_length=255, unique=True)
    endpoint = models.CharField(max_length=10, choices=WebhookEndpoint.choices)
    type = models.CharField(max_length=120, db_index=True)
    stripe_account_id = models.CharField(max_length=255, blank=True, db_index=True)
    object_id = models.CharField(max_length=255, blank=True, db_index=True)
    api_version = models.CharField(max_length=40, blank=True)
    livemode = models.BooleanField(default=False)
    stripe_created_at = models.DateTimeField()
    payload = models.JSONField()

    status = models.CharField(
        max_length=12,
        choices=WebhookEventStatus.choices,
        default=WebhookEventStatus.RECEIVED,
        db_index=True,
    )
    # A database default too: receipt inserts rows with raw SQL (one round trip).
    ignored_reason = models.CharField(
        max_length=20, choices=WebhookIgnoredReason.choices, blank=True, db_default=""
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    processing_started_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.stripe_event_id} {self.type} ({self.status})"

    def status_label(self) -> str:
        """The status in words, with the true reason of an ignored event: "Ignored (a
        test-mode event; our key is live)", "Ignored (handled on the Connect endpoint
        only)", "Ignored (no handler)"."""
        label = str(self.get_status_display())
        if self.status != WebhookEventStatus.IGNORED or not self.ignored_reason:
            return label
        if self.ignored_reason == WebhookIgnoredReason.OTHER_MODE:
            event_mode, key_mode = ("live", "test") if self.livemode else ("test", "live")
            return f"{label} (a {event_mode}-mode event; our key is {key_mode})"
        if self.ignored_reason == WebhookIgnoredReason.OTHER_ENDPOINT:
            other = (
                WebhookEndpoint.CONNECT
                if self.endpoint == WebhookEndpoint.PLATFORM
                else WebhookEndpoint.PLATFORM
            )
            return f"{label} (handled on the {WebhookEndpoint(other).label} endpoint only)"
        return f"{label} ({WebhookIgnoredReason(self.ignored_reason).label})"


states.register(WebhookEvent, transitions=WEBHOOK_EVENT_TRANSITIONS)
