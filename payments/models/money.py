"""Money records: payments, refunds, disputes and transfers.

Money is integer minor units plus a lowercase ISO 4217 code everywhere, as Stripe keeps it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from marketplace import states
from marketplace.money import format_money


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded"
    DISPUTED = "disputed", "Disputed"
    CANCELLED = "cancelled", "Cancelled (checkout expired)"


class PaymentKind(models.TextChoices):
    """What a payment is for: its purpose. The app that owns the purpose registers its
    handlers in ``payments.purposes`` and is told what happens to the payment."""

    # One session on Checkout, charged as a destination charge to the coach's account.
    BOOKING = "booking", "Booking (destination charge)"
    # A package: a separate charge on the platform; transfers follow each completed session.
    PACKAGE = "package", "Package (separate charge and transfers)"
    # A coaching plan's invoice, charged by Stripe Billing as a destination charge to the
    # coach's account (the invoice's ``application_fee_amount`` kept by the platform).
    PLAN = "plan", "Coaching plan invoice (destination charge)"
    # A coach's platform membership invoice: a charge on the platform, no transfer.
    MEMBERSHIP = "membership", "Platform membership invoice"


PAYMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    PaymentStatus.PENDING: frozenset(
        {PaymentStatus.SUCCEEDED, PaymentStatus.FAILED, PaymentStatus.CANCELLED}
    ),
    # A declined card is retried on the same Checkout Session.
    PaymentStatus.FAILED: frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.CANCELLED}),
    PaymentStatus.SUCCEEDED: frozenset(
        {PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED, PaymentStatus.DISPUTED}
    ),
    # A refund that fails (or is canceled) gives the money back: the payment moves back.
    PaymentStatus.PARTIALLY_REFUNDED: frozenset(
        {
            PaymentStatus.PARTIALLY_REFUNDED,
            PaymentStatus.REFUNDED,
            PaymentStatus.DISPUTED,
            PaymentStatus.SUCCEEDED,
        }
    ),
    PaymentStatus.REFUNDED: frozenset(
        {PaymentStatus.DISPUTED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.SUCCEEDED}
    ),
    PaymentStatus.DISPUTED: frozenset(),
    PaymentStatus.CANCELLED: frozenset({PaymentStatus.SUCCEEDED}),
}


class Payment(models.Model):
    """One charge to a client: a booking's destination charge or a package's platform charge.

    ``amount = application_fee + coach_amount`` (a database check), all in ``currency``'s
    minor units. The row exists before the Checkout Session so its id keys the idempotent
    ``checkout.sessions.create`` call and travels in the session's metadata.
    """

    kind = models.CharField(max_length=12, choices=PaymentKind.choices)
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
    # The client's Stripe Customer when the payment was made, whose saved cards Checkout
    # offers; empty when the client had none yet (Checkout makes it). Kept on the row so
    # the Checkout Session's parameters depend on the payment alone.
    stripe_customer_id = models.CharField(max_length=255, blank=True)
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
        return f"Payment {self.pk}: {format_money(self.amount, self.currency)} ({self.status})"

    @property
    def is_destination_charge(self) -> bool:
        """Paid to the coach's account as it is charged: a booking, or a package whose coach
        Stripe lets us pay only that way (charged on the account's behalf, ``on_behalf_of``;
        the coach is paid for every session at purchase). Other packages are charges on the
        platform whose session shares are transferred later."""
        return self.kind in (PaymentKind.BOOKING, PaymentKind.PLAN) or bool(self.on_behalf_of)

    @property
    def refundable_amount(self) -> int:
        return self.amount - self.refunded_amount


class RefundStatus(models.TextChoices):
    """Stripe's refund statuses (``requires_action`` counts as pending)."""

    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Canceled"


REFUND_TRANSITIONS: dict[str, frozenset[str]] = {
    RefundStatus.PENDING: frozenset(
        {RefundStatus.SUCCEEDED, RefundStatus.FAILED, RefundStatus.CANCELED}
    ),
    # A card refund can succeed and fail days later (Stripe's charge.refund.updated).
    RefundStatus.SUCCEEDED: frozenset({RefundStatus.FAILED}),
    RefundStatus.FAILED: frozenset(),
    RefundStatus.CANCELED: frozenset(),
}


class Refund(models.Model):
    """A refund of (part of) a payment; the row exists before the Stripe call, whose
    idempotency key is made from its id. Its status follows Stripe's refund.

    While Stripe holds the refund (``stripe_refund_id`` set, status pending or succeeded) its
    amount counts in the payment's ``refunded_amount``, as in the charge's
    ``amount_refunded``; a refund that fails or is canceled stops counting. The transfer
    reversal and fee refund it made stay made (Stripe does not undo them).
    """

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
    stripe_transfer_reversal_id = models.CharField(max_length=255, blank=True)
    application_fee_refund_amount = models.PositiveIntegerField(default=0)
    # Stripe's reason when the refund failed (``expired_or_canceled_card``, ...).
    failure_reason = models.CharField(max_length=60, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    failure_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Refund {self.pk}: {format_money(self.amount, self.currency)} ({self.status})"

    @property
    def counts_as_refunded(self) -> bool:
        """Stripe holds it: its amount is in the charge's ``amount_refunded``."""
        return bool(self.stripe_refund_id) and self.status in (
            RefundStatus.PENDING,
            RefundStatus.SUCCEEDED,
        )


class DisputeStatus(models.TextChoices):
    """Stripe's dispute statuses, mirrored (Stripe moves them; we follow)."""

    WARNING_NEEDS_RESPONSE = "warning_needs_response", "Inquiry: needs response"
    WARNING_UNDER_REVIEW = "warning_under_review", "Inquiry: under review"
    WARNING_CLOSED = "warning_closed", "Inquiry closed"
    NEEDS_RESPONSE = "needs_response", "Needs response"
    UNDER_REVIEW = "under_review", "Under review"
    WON = "won", "Won"
    LOST = "lost", "Lost"
    PREVENTED = "prevented", "Prevented"


_DISPUTE_OPEN = frozenset(
    {
        DisputeStatus.WARNING_NEEDS_RESPONSE,
        DisputeStatus.WARNING_UNDER_REVIEW,
        DisputeStatus.NEEDS_RESPONSE,
        DisputeStatus.UNDER_REVIEW,
    }
)
# An open dispute may move to any other status (an inquiry can become a dispute); a closed
# one is final.
DISPUTE_TRANSITIONS: dict[str, frozenset[str]] = {
    **{status: frozenset(DisputeStatus) - {status} for status in _DISPUTE_OPEN},
    **{status: frozenset() for status in frozenset(DisputeStatus) - _DISPUTE_OPEN},
    "": frozenset(DisputeStatus),
}


DISPUTE_OPEN_STATUSES = _DISPUTE_OPEN


class Dispute(models.Model):
    """A client's chargeback, mirrored from Stripe: its status, the evidence deadline, and
    what a lost dispute took back from the coach (a transfer reversal we make, as Stripe
    leaves a destination charge's transfer alone)."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="disputes")
    stripe_dispute_id = models.CharField(max_length=255, unique=True)
    amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=60, blank=True)
    status = models.CharField(max_length=40, choices=DisputeStatus.choices, blank=True)
    evidence_due_by = models.DateTimeField(null=True, blank=True)
    # Stripe took the amount from the platform / gave it back (a won dispute).
    funds_withdrawn = models.BooleanField(default=False)
    funds_reinstated = models.BooleanField(default=False)
    # A lost dispute of a destination charge: the coach's transfer reversed.
    stripe_transfer_reversal_id = models.CharField(max_length=255, blank=True)
    transfer_reversal_amount = models.PositiveIntegerField(default=0)
    application_fee_refund_amount = models.PositiveIntegerField(default=0)
    closed_at = models.DateTimeField(null=True, blank=True)
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
    # Stripe refused it for good (wrong region, an account that cannot receive transfers):
    # staff and the coach were told; staff may send it again once the cause is fixed.
    FAILED = "failed", "Failed"
    # Its owner called it off before any attempt reached Stripe (a cancelled staff payout).
    CANCELLED = "cancelled", "Cancelled"


TRANSFER_TRANSITIONS: dict[str, frozenset[str]] = {
    TransferStatus.PENDING: frozenset(
        {
            TransferStatus.WAITING_FOR_BALANCE,
            TransferStatus.PAID,
            TransferStatus.FAILED,
            TransferStatus.CANCELLED,
        }
    ),
    TransferStatus.WAITING_FOR_BALANCE: frozenset(
        {
            TransferStatus.PENDING,
            TransferStatus.PAID,
            TransferStatus.FAILED,
            TransferStatus.CANCELLED,
        }
    ),
    TransferStatus.PAID: frozenset({TransferStatus.REVERSED}),
    TransferStatus.REVERSED: frozenset(),
    TransferStatus.FAILED: frozenset({TransferStatus.PENDING, TransferStatus.PAID}),
    TransferStatus.CANCELLED: frozenset(),
}


class TransferKind(models.TextChoices):
    """What a separate transfer pays for; its purpose's handlers hear what happens to it."""

    PACKAGE_SHARE = "package_share", "Package session share"
    STAFF_PAYOUT = "staff_payout", "Staff payout (bonus, prize, goodwill, correction)"


class Transfer(models.Model):
    """Money moved to a connected account by a separate transfer: one package session's share
    to its coach, or one staff payout request to its payee.

    One row per (package purchase, session sequence), one per booking and one per payout
    request, all enforced by the database, so running the transfer task twice can never pay
    twice; the Stripe call's idempotency key is made from the row (``idempotency_prefix``).
    """

    kind = models.CharField(
        max_length=20, choices=TransferKind.choices, default=TransferKind.PACKAGE_SHARE
    )
    package_purchase = models.ForeignKey(
        "bookings.PackagePurchase",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="transfers",
    )
    booking = models.OneToOneField(
        "bookings.Booking",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="package_transfer",
    )
    payout_request = models.OneToOneField(
        "payments.PayoutRequest",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="transfer",
    )
    sequence = models.PositiveSmallIntegerField(default=1)
    amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    destination_account_id = models.CharField(max_length=255)
    transfer_group = models.CharField(max_length=255)
    # Shown to the payee on Stripe (their Express dashboard): what a staff payout is for.
    description = models.CharField(max_length=500, blank=True)
    status = models.CharField(
        max_length=20, choices=TransferStatus.choices, default=TransferStatus.PENDING, db_index=True
    )
    stripe_transfer_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    # The package's charge: the transfer draws on its funds (``source_transaction``), not on
    # the platform's available balance.
    source_transaction = models.CharField(max_length=255, blank=True)
    reversed_amount = models.PositiveIntegerField(default=0)
    # Attempts with their own idempotency key: a new one only after Stripe answered the last
    # with an error (Stripe replays a key's error for 24 hours); a lost answer is retried with
    # the same key. ``idempotency_key`` is the current attempt's (``transfer-<id>-<attempt>``).
    attempts = models.PositiveIntegerField(default=0)
    idempotency_key = models.CharField(max_length=255, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    failure_code = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["package_purchase", "sequence"], name="transfer_one_per_package_session"
            ),
            models.CheckConstraint(
                name="transfer_has_one_owner",
                condition=(
                    Q(
                        kind="package_share",
                        package_purchase__isnull=False,
                        booking__isnull=False,
                        payout_request__isnull=True,
                    )
                    | Q(
                        kind="staff_payout",
                        package_purchase__isnull=True,
                        booking__isnull=True,
                        payout_request__isnull=False,
                    )
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"Transfer {self.pk}: {format_money(self.amount, self.currency)} ({self.status})"

    @property
    def idempotency_prefix(self) -> str:
        """Attempt ``n`` of the transfer is sent under ``<prefix>-<n>``: a package share's
        ``transfer-<id>``, a payout request's ``payout-request-<request id>``."""
        if self.payout_request_id:
            return f"payout-request-{self.payout_request_id}"
        return f"transfer-{self.pk}"

    def attempt_key(self, attempt: int) -> str:
        return f"{self.idempotency_prefix}-{attempt}"


states.register(Payment, transitions=PAYMENT_TRANSITIONS)
states.register(Refund, transitions=REFUND_TRANSITIONS)
states.register(Dispute, transitions=DISPUTE_TRANSITIONS)
states.register(Transfer, transitions=TRANSFER_TRANSITIONS)
