"""Billing records: a client's Stripe Customer and saved cards, subscriptions and invoices,
mirrored from Stripe (Stripe moves them; these rows follow, re-read on every webhook).

Payments owns the Stripe side only. What a subscription is *for* (a coach's coaching plan,
a coach's platform membership) is its ``kind``, whose owner app registers a
``payments.purposes.SubscriptionPurpose`` and is told when its invoices are paid or fail
and when the subscription's status moves.

Money is integer minor units plus a lowercase ISO 4217 code, as everywhere.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Q

from marketplace import states
from marketplace.money import format_money


class Customer(models.Model):
    """One Stripe Customer per client, created on their first payment; it holds the cards
    the client chose to save (the cards themselves never reach our servers)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="stripe_customer"
    )
    stripe_customer_id = models.CharField(max_length=255, unique=True)
    # The card Stripe charges for renewals (``invoice_settings.default_payment_method``).
    default_payment_method_id = models.CharField(max_length=255, blank=True)
    email = models.EmailField(blank=True)
    # When the cards and the default last mirrored were read from Stripe (the read's start):
    # a read that started earlier never overwrites a later one.
    cards_read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.stripe_customer_id} ({self.user})"


class SavedCard(models.Model):
    """A card PaymentMethod attached to a client's Customer: what Billing lists (brand, last
    four digits, expiry), never the number."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="cards")
    stripe_payment_method_id = models.CharField(max_length=255, unique=True)
    brand = models.CharField(max_length=20)
    last4 = models.CharField(max_length=4)
    exp_month = models.PositiveSmallIntegerField()
    exp_year = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.brand} •••• {self.last4}"

    @property
    def is_default(self) -> bool:
        return self.customer.default_payment_method_id == self.stripe_payment_method_id

    @property
    def brand_label(self) -> str:
        """The card network as people write it ("Visa", "American Express")."""
        return CARD_BRANDS.get(self.brand, self.brand.replace("_", " ").title() or "Card")

    @property
    def expiry(self) -> str:
        """``MM/YYYY``, as printed on the card."""
        return f"{self.exp_month:02d}/{self.exp_year}"

    def has_expired(self, today: date) -> bool:
        """Past the last day of its expiry month."""
        return (self.exp_year, self.exp_month) < (today.year, today.month)


# Stripe's ``card.brand`` values and their names.
CARD_BRANDS = {
    "amex": "American Express",
    "cartes_bancaires": "Cartes Bancaires",
    "diners": "Diners Club",
    "discover": "Discover",
    "eftpos_au": "eftpos",
    "interac": "Interac",
    "jcb": "JCB",
    "link": "Link",
    "mastercard": "Mastercard",
    "unionpay": "UnionPay",
    "visa": "Visa",
}


class SubscriptionKind(models.TextChoices):
    """What a subscription pays for: its purpose (``payments.purposes``)."""

    # A client's subscription to a coach's coaching plan: a Connect subscription whose
    # invoices are destination charges to the coach, the platform keeping a fee percent.
    PLAN = "plan", "Coaching plan"
    # A coach's platform membership: the coach pays the platform; it lowers their fee.
    MEMBERSHIP = "membership", "Platform membership"


class SubscriptionStatus(models.TextChoices):
    """Stripe's subscription statuses, and the two of ours before Stripe has one."""

    # Ours: the Checkout Session is open; Stripe has no subscription yet.
    CHECKOUT = "checkout", "Awaiting checkout"
    # Ours: the Checkout Session expired unpaid; there never was a subscription.
    CHECKOUT_EXPIRED = "checkout_expired", "Checkout not completed"
    INCOMPLETE = "incomplete", "Incomplete"
    INCOMPLETE_EXPIRED = "incomplete_expired", "Incomplete, expired"
    TRIALING = "trialing", "Trialing"
    ACTIVE = "active", "Active"
    PAST_DUE = "past_due", "Past due"
    UNPAID = "unpaid", "Unpaid"
    PAUSED = "paused", "Paused"
    CANCELED = "canceled", "Canceled"


# Stripe's statuses whose subscription still runs (renews, or waits for payment).
SUBSCRIPTION_RUNNING = frozenset(
    {
        SubscriptionStatus.TRIALING,
        SubscriptionStatus.ACTIVE,
        SubscriptionStatus.PAST_DUE,
        SubscriptionStatus.PAUSED,
        SubscriptionStatus.INCOMPLETE,
    }
)
_FINAL = frozenset(
    {
        SubscriptionStatus.CHECKOUT_EXPIRED,
        SubscriptionStatus.INCOMPLETE_EXPIRED,
        SubscriptionStatus.CANCELED,
    }
)
_STRIPE_STATUSES = frozenset(SubscriptionStatus) - {
    SubscriptionStatus.CHECKOUT,
    SubscriptionStatus.CHECKOUT_EXPIRED,
}
# Stripe moves a subscription between its statuses as it pleases (retries, payments made in
# its dashboard); a canceled or expired one is final. A Checkout Session that completes after
# it expired still made its subscription.
SUBSCRIPTION_TRANSITIONS: dict[str, frozenset[str]] = {
    SubscriptionStatus.CHECKOUT: _STRIPE_STATUSES | {SubscriptionStatus.CHECKOUT_EXPIRED},
    SubscriptionStatus.CHECKOUT_EXPIRED: _STRIPE_STATUSES,
    **{
        status: (_STRIPE_STATUSES - {status}) for status in _STRIPE_STATUSES if status not in _FINAL
    },
    SubscriptionStatus.INCOMPLETE_EXPIRED: frozenset(),
    SubscriptionStatus.CANCELED: frozenset(),
}


class Subscription(models.Model):
    """A Stripe subscription and what it is for.

    The row exists before the Checkout Session (``mode=subscription``) so its id keys the
    idempotent session call and travels in the session's and the subscription's metadata;
    ``stripe_subscription_id`` is set when Checkout completes. ``application_fee_bps`` is the
    platform's share of each invoice of a Connect subscription (Stripe's
    ``application_fee_percent`` = bps / 100).
    """

    kind = models.CharField(max_length=12, choices=SubscriptionKind.choices)
    # Who pays: the client of a coaching plan, the coach of a membership.
    customer_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="subscriptions"
    )
    # Who is paid on a Connect subscription (the coach's user), else none (the platform).
    payee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="subscriptions_received",
    )
    status = models.CharField(
        max_length=20,
        choices=SubscriptionStatus.choices,
        default=SubscriptionStatus.CHECKOUT,
        db_index=True,
    )
    stripe_subscription_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    stripe_customer_id = models.CharField(max_length=255, blank=True)
    stripe_price_id = models.CharField(max_length=255)
    stripe_checkout_session_id = models.CharField(
        max_length=255, unique=True, null=True, blank=True
    )
    checkout_url = models.URLField(max_length=2000, blank=True)
    checkout_expires_at = models.DateTimeField(null=True, blank=True)
    amount = models.PositiveIntegerField(help_text="Per period, in the currency's minor units.")
    currency = models.CharField(max_length=3)
    application_fee_bps = models.PositiveIntegerField(default=0)
    destination_account_id = models.CharField(max_length=255, blank=True)
    on_behalf_of = models.CharField(max_length=255, blank=True)
    current_period_start = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    # Stripe's ``pause_collection.behavior`` while collection is paused, else empty.
    pause_collection = models.CharField(max_length=20, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    latest_invoice_id = models.CharField(max_length=255, blank=True)
    # Changes asked of Stripe so far: each update's idempotency key is
    # ``subscription-<id>-update-<n>`` (a cancel, a resume and a cancel again are three).
    updates_requested = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer_user", "status"], name="subscription_payer_idx")]

    def __str__(self) -> str:
        return f"Subscription {self.pk} ({self.get_kind_display()}, {self.status})"

    @property
    def is_running(self) -> bool:
        return self.status in SUBSCRIPTION_RUNNING


class InvoiceStatus(models.TextChoices):
    """Stripe's invoice statuses."""

    DRAFT = "draft", "Draft"
    OPEN = "open", "Open"
    PAID = "paid", "Paid"
    VOID = "void", "Void"
    UNCOLLECTIBLE = "uncollectible", "Uncollectible"


# Stripe's invoice moves: a draft is finalized (open) or deleted; an open one is paid, voided
# or marked uncollectible; an uncollectible one can still be paid or voided.
INVOICE_TRANSITIONS: dict[str, frozenset[str]] = {
    InvoiceStatus.DRAFT: frozenset(
        {InvoiceStatus.OPEN, InvoiceStatus.PAID, InvoiceStatus.VOID, InvoiceStatus.UNCOLLECTIBLE}
    ),
    InvoiceStatus.OPEN: frozenset(
        {InvoiceStatus.PAID, InvoiceStatus.VOID, InvoiceStatus.UNCOLLECTIBLE}
    ),
    InvoiceStatus.UNCOLLECTIBLE: frozenset({InvoiceStatus.PAID, InvoiceStatus.VOID}),
    InvoiceStatus.PAID: frozenset(),
    InvoiceStatus.VOID: frozenset(),
}


class Invoice(models.Model):
    """A Stripe invoice, mirrored: a subscription's period, or the receipt of a one-off
    booking or package payment (Checkout's ``invoice_creation``).

    ``lines`` keeps Stripe's lines as shown to the client: ``[{"description", "amount",
    "period_start", "period_end", "proration"}]`` (amounts in minor units, periods as epoch
    seconds).
    """

    stripe_invoice_id = models.CharField(max_length=255, unique=True)
    subscription = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.PROTECT, related_name="invoices"
    )
    # The payment this invoice is the receipt of (a one-off payment), or the payment its
    # charge made (a subscription invoice paid by card).
    payment = models.OneToOneField(
        "payments.Payment", null=True, blank=True, on_delete=models.PROTECT, related_name="invoice"
    )
    customer_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="invoices"
    )
    payee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="invoices_received",
    )
    stripe_customer_id = models.CharField(max_length=255, blank=True)
    number = models.CharField(max_length=64, blank=True)
    status = models.CharField(
        max_length=14, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT, db_index=True
    )
    billing_reason = models.CharField(max_length=40, blank=True)
    currency = models.CharField(max_length=3)
    subtotal = models.IntegerField(default=0)
    total = models.IntegerField(default=0)
    amount_due = models.PositiveIntegerField(default=0)
    amount_paid = models.PositiveIntegerField(default=0)
    amount_remaining = models.PositiveIntegerField(default=0)
    application_fee_amount = models.PositiveIntegerField(default=0)
    hosted_invoice_url = models.URLField(max_length=2000, blank=True)
    invoice_pdf = models.URLField(max_length=2000, blank=True)
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    lines = models.JSONField(default=list, blank=True)
    attempt_count = models.PositiveIntegerField(default=0)
    next_payment_attempt = models.DateTimeField(null=True, blank=True)
    stripe_payment_intent_id = models.CharField(max_length=255, blank=True)
    # Stripe's ``created`` (the invoice's date) and ``status_transitions.paid_at``.
    issued_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-issued_at", "-id"]
        indexes = [
            models.Index(fields=["customer_user", "-issued_at"], name="invoice_customer_idx"),
            models.Index(fields=["payee", "-issued_at"], name="invoice_payee_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                name="invoice_paid_within_due",
                condition=Q(amount_paid__lte=models.F("amount_due")),
            )
        ]

    def __str__(self) -> str:
        return f"Invoice {self.number or self.stripe_invoice_id}: " + format_money(
            self.total, self.currency
        )


states.register(Subscription, transitions=SUBSCRIPTION_TRANSITIONS)
states.register(Invoice, transitions=INVOICE_TRANSITIONS)
