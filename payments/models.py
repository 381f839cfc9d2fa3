"""Payments: the coach's Stripe Connect account, the webhook inbox and money records.

Money is integer minor units plus a lowercase ISO 4217 code everywhere, as Stripe keeps it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

# --- Connect accounts ---------------------------------------------------------------------


class AccountState(models.TextChoices):
    """Onboarding state, derived from Stripe's fields by ``payments.states.derive_state``."""

    CREATED = "created", "Created"
    ONBOARDING = "onboarding", "Onboarding"
    PENDING_VERIFICATION = "pending_verification", "Pending verification"
    ACTIVE = "active", "Active"
    RESTRICTED = "restricted", "Restricted"
    REJECTED = "rejected", "Rejected"
    DEAUTHORIZED = "deauthorized", "Deauthorized"


class PayoutInterval(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"
    MANUAL = "manual", "Manual"


class Weekday(models.TextChoices):
    MONDAY = "monday", "Monday"
    TUESDAY = "tuesday", "Tuesday"
    WEDNESDAY = "wednesday", "Wednesday"
    THURSDAY = "thursday", "Thursday"
    FRIDAY = "friday", "Friday"
    SATURDAY = "saturday", "Saturday"
    SUNDAY = "sunday", "Sunday"


class ConnectedAccount(models.Model):
    """A coach's Stripe Connect Express account, mirrored from Stripe.

    The row is created before the Stripe account (``stripe_account_id`` empty) so that its id
    can key the idempotent ``accounts.create`` call: a double click or a retry finds the row,
    locks it, and never makes a second Stripe account.
    """

    coach = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="connected_account"
    )
    stripe_account_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    account_type = models.CharField(max_length=20, default="express")
    country = models.CharField(max_length=2, blank=True)
    default_currency = models.CharField(max_length=3, blank=True)
    email = models.EmailField(blank=True)

    state = models.CharField(
        max_length=24, choices=AccountState.choices, default=AccountState.CREATED, db_index=True
    )
    state_changed_at = models.DateTimeField(default=timezone.now)
    activated_at = models.DateTimeField(null=True, blank=True)

    charges_enabled = models.BooleanField(default=False)
    payouts_enabled = models.BooleanField(default=False)
    details_submitted = models.BooleanField(default=False)
    requirements_currently_due = models.JSONField(default=list, blank=True)
    requirements_eventually_due = models.JSONField(default=list, blank=True)
    requirements_past_due = models.JSONField(default=list, blank=True)
    requirements_pending_verification = models.JSONField(default=list, blank=True)
    requirements_errors = models.JSONField(default=list, blank=True)
    disabled_reason = models.CharField(max_length=120, blank=True)
    current_deadline = models.DateTimeField(null=True, blank=True)
    capabilities = models.JSONField(default=dict, blank=True)
    deauthorized_at = models.DateTimeField(null=True, blank=True)

    business_product_description = models.CharField(max_length=500, blank=True)
    business_url = models.URLField(max_length=500, blank=True)

    payout_interval = models.CharField(
        max_length=10, choices=PayoutInterval.choices, default=PayoutInterval.DAILY
    )
    payout_weekly_anchor = models.CharField(max_length=10, choices=Weekday.choices, blank=True)
    payout_monthly_anchor = models.PositiveSmallIntegerField(null=True, blank=True)
    payout_delay_days = models.PositiveSmallIntegerField(null=True, blank=True)
    # Stripe's v1 payout schedule has no minimum; we keep the coach's minimum (minor units of
    # default_currency) here and in the account's metadata, and show it on the earnings page.
    payout_minimum_amount = models.PositiveIntegerField(default=0)

    last_checked_at = models.DateTimeField(null=True, blank=True)
    next_check_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    check_failures = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                name="connected_account_monthly_anchor_1_31",
                condition=Q(payout_monthly_anchor__isnull=True)
                | Q(payout_monthly_anchor__gte=1, payout_monthly_anchor__lte=31),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stripe_account_id or 'pending'} ({self.coach})"

    @property
    def can_take_charges(self) -> bool:
        return self.state == AccountState.ACTIVE

    @property
    def requirements_due(self) -> list[str]:
        """Everything Stripe needs now: past due first, then currently due, no repeats."""
        seen: dict[str, None] = {}
        for requirement in [*self.requirements_past_due, *self.requirements_currently_due]:
            seen.setdefault(requirement, None)
        return list(seen)


class AccountStateChange(models.Model):
    """One row per state transition of a connected account: who or what moved it, and when."""

    class Source(models.TextChoices):
        CREATE = "create", "Account created"
        RETURN = "return", "Coach returned from Stripe"
        WEBHOOK = "webhook", "Webhook"
        POLL = "poll", "Poller"
        ADMIN = "admin", "Admin refresh"
        API = "api", "API"

    account = models.ForeignKey(
        ConnectedAccount, on_delete=models.CASCADE, related_name="state_changes"
    )
    from_state = models.CharField(max_length=24, choices=AccountState.choices)
    to_state = models.CharField(max_length=24, choices=AccountState.choices)
    source = models.CharField(max_length=10, choices=Source.choices)
    stripe_event_id = models.CharField(max_length=255, blank=True)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.from_state} -> {self.to_state}"


class StaffAlert(models.Model):
    """Something staff must look at (a coach restricted or deauthorized, a failed payout).

    Open alerts are counted in the admin's badge until someone resolves them.
    """

    class Kind(models.TextChoices):
        ACCOUNT_RESTRICTED = "account_restricted", "Account restricted"
        ACCOUNT_DEAUTHORIZED = "account_deauthorized", "Account deauthorized"
        ACCOUNT_REJECTED = "account_rejected", "Account rejected"
        PAYOUT_FAILED = "payout_failed", "Payout failed"
        WEBHOOK_FAILED = "webhook_failed", "Webhook failed"
        OTHER = "other", "Other"

    kind = models.CharField(max_length=32, choices=Kind.choices, db_index=True)
    account = models.ForeignKey(
        ConnectedAccount, null=True, blank=True, on_delete=models.CASCADE, related_name="alerts"
    )
    message = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True, db_index=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.message[:60]}"


class Payout(models.Model):
    """A payout from a coach's Stripe balance to their bank, mirrored from Stripe."""

    account = models.ForeignKey(ConnectedAccount, on_delete=models.CASCADE, related_name="payouts")
    stripe_payout_id = models.CharField(max_length=255, unique=True)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=20, db_index=True)
    arrival_date = models.DateTimeField(null=True, blank=True)
    failure_code = models.CharField(max_length=120, blank=True)
    failure_message = models.TextField(blank=True)
    stripe_created_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-stripe_created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.stripe_payout_id} {self.amount} {self.currency} {self.status}"


# --- webhook inbox ------------------------------------------------------------------------


class WebhookEndpoint(models.TextChoices):
    PLATFORM = "platform", "Platform"
    CONNECT = "connect", "Connect"


class WebhookEventStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSING = "processing", "Processing"
    SUCCEEDED = "succeeded", "Succeeded"
    IGNORED = "ignored", "Ignored (no handler)"
    RETRYING = "retrying", "Waiting to retry"
    FAILED = "failed", "Failed"


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


# --- money: payments, refunds, disputes, transfers (bookings issue) ------------------------


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded"
    DISPUTED = "disputed", "Disputed"
    CANCELLED = "cancelled", "Cancelled (checkout expired)"


class PaymentKind(models.TextChoices):
    # One session on Checkout, charged as a destination charge to the coach's account.
    BOOKING = "booking", "Booking (destination charge)"
    # A package: a separate charge on the platform; transfers follow each completed session.
    PACKAGE = "package", "Package (separate charge and transfers)"


PAYMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    PaymentStatus.PENDING: frozenset(
        {PaymentStatus.SUCCEEDED, PaymentStatus.FAILED, PaymentStatus.CANCELLED}
    ),
    # A declined card is retried on the same Checkout Session.
    PaymentStatus.FAILED: frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.CANCELLED}),
    PaymentStatus.SUCCEEDED: frozenset(
        {PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED, PaymentStatus.DISPUTED}
    ),
    PaymentStatus.PARTIALLY_REFUNDED: frozenset(
        {PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED, PaymentStatus.DISPUTED}
    ),
    PaymentStatus.REFUNDED: frozenset({PaymentStatus.DISPUTED}),
    PaymentStatus.DISPUTED: frozenset(),
    PaymentStatus.CANCELLED: frozenset({PaymentStatus.SUCCEEDED}),
}


class Payment(models.Model):
    """One charge to a client: a booking's destination charge or a package's platform charge.

    ``amount = application_fee + coach_amount`` (a database check), all in ``currency``'s
    minor units. The row exists before the Checkout Session so its id keys the idempotent
    ``checkout.sessions.create`` call and travels in the session's metadata.
    """

    kind = models.CharField(max_length=10, choices=PaymentKind.choices)
    booking = models.ForeignKey(
        "bookings.Booking", null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    package_purchase = models.OneToOneField(
        "bookings.PackagePurchase",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payment",
    )
    client = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payments_made"
    )
    coach = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payments_received"
    )
    amount = models.PositiveIntegerField()
    application_fee = models.PositiveIntegerField()
    coach_amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    refunded_amount = models.PositiveIntegerField(default=0)
    status = models.CharField(
        max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.PENDING, db_index=True
    )
    destination_account_id = models.CharField(max_length=255, blank=True)
    on_behalf_of = models.CharField(max_length=255, blank=True)
    stripe_checkout_session_id = models.CharField(
        max_length=255, unique=True, null=True, blank=True
    )
    checkout_url = models.URLField(max_length=2000, blank=True)
    checkout_expires_at = models.DateTimeField(null=True, blank=True)
    stripe_payment_intent_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    stripe_charge_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    stripe_transfer_id = models.CharField(max_length=255, blank=True)
    stripe_application_fee_id = models.CharField(max_length=255, blank=True)
    failure_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                name="payment_split_adds_up",
                condition=Q(coach_amount=models.F("amount") - models.F("application_fee")),
            ),
            models.CheckConstraint(
                name="payment_refund_within_amount",
                condition=Q(refunded_amount__lte=models.F("amount")),
            ),
        ]

    def __str__(self) -> str:
        return f"Payment {self.pk} {self.amount} {self.currency} ({self.status})"

    @property
    def refundable_amount(self) -> int:
        return self.amount - self.refunded_amount


class RefundStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Refund(models.Model):
    """A refund of (part of) a payment; the row exists before the Stripe call, whose
    idempotency key is made from its id. Stripe's figures are read back after the call."""

    class Reason(models.TextChoices):
        CLIENT_CANCELLED = "client_cancelled", "Client cancelled"
        COACH_CANCELLED = "coach_cancelled", "Coach cancelled"
        SLOT_LOST = "slot_lost", "Slot taken while paying"
        NO_SHOW = "no_show", "No-show"
        PACKAGE_UNUSED = "package_unused", "Unused package sessions"
        STAFF = "staff", "Staff"

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    reverse_transfer = models.BooleanField(default=True)
    refund_application_fee = models.BooleanField(default=True)
    status = models.CharField(
        max_length=10, choices=RefundStatus.choices, default=RefundStatus.PENDING, db_index=True
    )
    stripe_refund_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    # Read back from Stripe: what came back from the coach and what the platform gave back.
    transfer_reversal_amount = models.PositiveIntegerField(default=0)
    application_fee_refund_amount = models.PositiveIntegerField(default=0)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    failure_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Refund {self.pk} {self.amount} {self.currency} ({self.status})"


class Dispute(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="disputes")
    stripe_dispute_id = models.CharField(max_length=255, unique=True)
    amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=60, blank=True)
    status = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Dispute {self.stripe_dispute_id} on payment {self.payment_id}"


class TransferStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    WAITING_FOR_BALANCE = "waiting_for_balance", "Waiting for platform balance"
    PAID = "paid", "Paid"
    REVERSED = "reversed", "Reversed"


class Transfer(models.Model):
    """Money moved to a coach's account by a separate transfer: one package session's share.

    One row per (package purchase, session sequence) and one per booking, both enforced by
    the database, so running the transfer task twice can never pay a session twice; the
    Stripe call's idempotency key is made from the row id.
    """

    package_purchase = models.ForeignKey(
        "bookings.PackagePurchase", on_delete=models.PROTECT, related_name="transfers"
    )
    booking = models.OneToOneField(
        "bookings.Booking", on_delete=models.PROTECT, related_name="package_transfer"
    )
    sequence = models.PositiveSmallIntegerField()
    amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    destination_account_id = models.CharField(max_length=255)
    transfer_group = models.CharField(max_length=255)
    status = models.CharField(
        max_length=20, choices=TransferStatus.choices, default=TransferStatus.PENDING, db_index=True
    )
    stripe_transfer_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    reversed_amount = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["package_purchase", "sequence"], name="transfer_one_per_package_session"
            )
        ]

    def __str__(self) -> str:
        return f"Transfer {self.pk} {self.amount} {self.currency} ({self.status})"
