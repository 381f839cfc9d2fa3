"""Connect accounts: a coach's (or payee's) Stripe account, its history, its payouts and the
staff alerts about it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from marketplace import states


class AccountState(models.TextChoices):
    """Onboarding state, derived from Stripe's fields by ``payments.states.derive_state``."""

    CREATED = "created", "Created"
    ONBOARDING = "onboarding", "Onboarding"
    PENDING_VERIFICATION = "pending_verification", "Pending verification"
    ACTIVE = "active", "Active"
    RESTRICTED = "restricted", "Restricted"
    REJECTED = "rejected", "Rejected"
    DEAUTHORIZED = "deauthorized", "Deauthorized"


# Stripe may move an account between any of the live states (an active account can be
# restricted and recover, a rejection can be lifted on appeal); deauthorization is final: the
# coach must connect a new account. ``payments.states.derive_state`` decides the target.
_LIVE = frozenset(AccountState) - {AccountState.DEAUTHORIZED}
ACCOUNT_TRANSITIONS: dict[str, frozenset[str]] = {
    **{state: _LIVE | {AccountState.DEAUTHORIZED} for state in _LIVE},
    AccountState.DEAUTHORIZED: frozenset(),
}


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
    # As Stripe reports them (never from the coach's editable profile): the country decides
    # the region, the agreement (``full`` or ``recipient``) what money may reach the account.
    country = models.CharField(max_length=2, blank=True)
    service_agreement = models.CharField(max_length=10, blank=True)
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
        TRANSFER_FAILED = "transfer_failed", "Transfer failed"
        BALANCE_LOW = "balance_low", "Platform balance too low"
        WEBHOOK_FAILED = "webhook_failed", "Webhook failed"
        REFUND_FAILED = "refund_failed", "Refund failed"
        DISPUTE = "dispute", "Dispute"
        RECONCILIATION = "reconciliation", "Reconciliation discrepancy"
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


class PayoutStatus(models.TextChoices):
    """Stripe's payout statuses, mirrored."""

    PENDING = "pending", "Pending"
    IN_TRANSIT = "in_transit", "In transit"
    PAID = "paid", "Paid"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Canceled"


# A paid payout can still fail later (the bank returns it), as Stripe documents.
PAYOUT_TRANSITIONS: dict[str, frozenset[str]] = {
    PayoutStatus.PENDING: frozenset(
        {PayoutStatus.IN_TRANSIT, PayoutStatus.PAID, PayoutStatus.FAILED, PayoutStatus.CANCELED}
    ),
    PayoutStatus.IN_TRANSIT: frozenset(
        {PayoutStatus.PAID, PayoutStatus.FAILED, PayoutStatus.CANCELED}
    ),
    PayoutStatus.PAID: frozenset({PayoutStatus.FAILED}),
    PayoutStatus.FAILED: frozenset(),
    PayoutStatus.CANCELED: frozenset(),
}


class Payout(models.Model):
    """A payout from a coach's Stripe balance to their bank, mirrored from Stripe."""

    account = models.ForeignKey(ConnectedAccount, on_delete=models.CASCADE, related_name="payouts")
    stripe_payout_id = models.CharField(max_length=255, unique=True)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=20, choices=PayoutStatus.choices, db_index=True)
    arrival_date = models.DateTimeField(null=True, blank=True)
    failure_code = models.CharField(max_length=120, blank=True)
    failure_message = models.TextField(blank=True)
    stripe_created_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-stripe_created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.stripe_payout_id} {self.amount} {self.currency} {self.status}"


def _record_account_change(change: states.Change) -> None:
    AccountStateChange.objects.create(
        account_id=change.instance.pk,
        from_state=change.from_state,
        to_state=change.to_state,
        source=change.source,
        stripe_event_id=change.reference,
        changed_at=change.at,
    )


states.register(
    ConnectedAccount, field="state", transitions=ACCOUNT_TRANSITIONS, record=_record_account_change
)
states.register(Payout, transitions=PAYOUT_TRANSITIONS)
