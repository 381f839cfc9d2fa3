"""Payouts beyond bookings: staff pay a bonus to a coach, or prize money to someone who is
not a coach (a challenge winner), from the platform's balance.

A ``PayeeInvitation`` lets a person who is not a coach set up an Express account that only
receives transfers. A ``PayoutRequest`` is one payment to one payee: staff request it, another
staff member approves it above the two-person threshold, and its ``Transfer`` (kind
``staff_payout``) carries the money to Stripe with the same attempts, idempotency keys and
error classification as a package share. ``PayoutRequestEvent`` is the audit trail: who did
what, when.

Money is integer minor units plus a lowercase ISO 4217 code: ``amount`` is what staff
awarded, ``platform_fee`` what the platform keeps of a prize, ``net_amount`` (their
difference, a database check) what is transferred.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from marketplace import states
from marketplace.money import format_money


class PayeeInvitation(models.Model):
    """Staff invite someone by e-mail to receive payouts (a prize winner who is not a coach).

    The link's token is e-mailed once and only its SHA-256 is kept. Whoever signs in with
    the invited address and opens the link before it expires becomes a payee: they may set
    up an Express account with the ``transfers`` capability alone, through the same payment
    setup as coaches.
    """

    email = models.EmailField(db_index=True)
    note = models.CharField(
        max_length=200, blank=True, help_text="What the payouts are for, e.g. a challenge won"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payee_invitations",
    )
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Invitation of {self.email}"


class PayoutReason(models.TextChoices):
    BONUS = "bonus", "Bonus"
    PRIZE = "prize", "Prize"
    GOODWILL = "goodwill", "Goodwill"
    CORRECTION = "correction", "Correction"


class PayoutRequestStatus(models.TextChoices):
    # Waiting for a staff member's approval (another one above the two-person threshold).
    REQUESTED = "requested", "Requested"
    # Approved: its transfer is queued or being sent to Stripe.
    APPROVED = "approved", "Approved, on its way"
    PAID = "paid", "Paid"
    # Stripe refused the transfer for good (the reason is kept); staff were told.
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    PARTIALLY_REVERSED = "partially_reversed", "Partly reversed"
    REVERSED = "reversed", "Reversed"


PAYOUT_REQUEST_TRANSITIONS: dict[str, frozenset[str]] = {
    PayoutRequestStatus.REQUESTED: frozenset(
        {PayoutRequestStatus.APPROVED, PayoutRequestStatus.CANCELLED}
    ),
    # Cancelled only while its transfer was never sent (checked under the transfer's lock).
    PayoutRequestStatus.APPROVED: frozenset(
        {PayoutRequestStatus.PAID, PayoutRequestStatus.FAILED, PayoutRequestStatus.CANCELLED}
    ),
    PayoutRequestStatus.PAID: frozenset(
        {PayoutRequestStatus.PARTIALLY_REVERSED, PayoutRequestStatus.REVERSED}
    ),
    PayoutRequestStatus.PARTIALLY_REVERSED: frozenset({PayoutRequestStatus.REVERSED}),
    PayoutRequestStatus.FAILED: frozenset(),
    PayoutRequestStatus.CANCELLED: frozenset(),
    PayoutRequestStatus.REVERSED: frozenset(),
}


class PayoutRequest(models.Model):
    """One payment from the platform's balance to a payee's connected account."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payouts_received"
    )
    # The recipient's Stripe account when the request was made (its country, agreement and
    # currency were checked against it).
    destination_account_id = models.CharField(max_length=255)
    amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    platform_fee = models.PositiveIntegerField(default=0)
    # The fee rate applied (basis points), shown before approval.
    platform_fee_bps = models.PositiveIntegerField(default=0)
    net_amount = models.PositiveIntegerField()
    reason = models.CharField(max_length=20, choices=PayoutReason.choices)
    note = models.CharField(max_length=500, blank=True)
    status = models.CharField(
        max_length=20,
        choices=PayoutRequestStatus.choices,
        default=PayoutRequestStatus.REQUESTED,
        db_index=True,
    )
    # Above the threshold a second staff member must approve.
    needs_second_person = models.BooleanField(default=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    paid_at = models.DateTimeField(null=True, blank=True)
    failure_code = models.CharField(max_length=100, blank=True)
    failure_message = models.TextField(blank=True)
    # The reversal (one per request, all or part of what was transferred): its amount and
    # reason are written before Stripe is asked, so a retry repeats the same reversal.
    reversal_amount = models.PositiveIntegerField(default=0)
    reversal_reason = models.CharField(max_length=500, blank=True)
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    stripe_transfer_reversal_id = models.CharField(max_length=255, blank=True)
    reversed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                name="payout_request_net_is_amount_less_fee",
                condition=Q(net_amount=F("amount") - F("platform_fee")),
            ),
            models.CheckConstraint(
                name="payout_request_amount_positive", condition=Q(amount__gt=0)
            ),
            models.CheckConstraint(
                name="payout_request_reversal_within_net",
                condition=Q(reversal_amount__lte=F("net_amount")),
            ),
        ]

    def __str__(self) -> str:
        return (
            f"Payout {self.pk}: {format_money(self.amount, self.currency)} "
            f"{self.get_reason_display().lower()} to {self.recipient}"
        )

    @property
    def transfer_group(self) -> str:
        return f"payout-request-{self.pk}"

    @property
    def received_amount(self) -> int:
        """What the payee keeps once any reversal went through."""
        reversed_amount = self.reversal_amount if self.stripe_transfer_reversal_id else 0
        return self.net_amount - reversed_amount


class PayoutRequestEvent(models.Model):
    """The audit trail of payout requests: every request, approval, execution, failure,
    cancellation and reversal, with who did it (none for Stripe's answers), when, and what."""

    class Action(models.TextChoices):
        REQUESTED = "requested", "Requested"
        APPROVED = "approved", "Approved"
        APPROVAL_REFUSED = "approval_refused", "Approval refused"
        CANCELLED = "cancelled", "Cancelled"
        WAITING_FOR_BALANCE = "waiting_for_balance", "Waiting for platform balance"
        EXECUTED = "executed", "Transfer made"
        RETRYING = "retrying", "Transfer retried"
        FAILED = "failed", "Transfer failed"
        REVERSAL_REQUESTED = "reversal_requested", "Reversal requested"
        REVERSED = "reversed", "Reversed"
        REVERSAL_REFUSED = "reversal_refused", "Reversal refused"

    payout_request = models.ForeignKey(
        PayoutRequest, on_delete=models.PROTECT, related_name="events"
    )
    action = models.CharField(max_length=30, choices=Action.choices, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(db_index=True)
    amount = models.IntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    detail = models.TextField(blank=True)
    stripe_id = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.payout_request_id}: {self.get_action_display()} at {self.at:%Y-%m-%d %H:%M}"


states.register(PayoutRequest, transitions=PAYOUT_REQUEST_TRANSITIONS)
