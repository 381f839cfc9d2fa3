"""Payments: reads and query building (connected accounts, earnings, the funnel, alerts)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone

from marketplace.errors import NotFound
from marketplace.models import User
from payments import designs, gateway
from payments.errors import stripe_errors
from payments.models import (
    SUBSCRIPTION_RUNNING,
    AccountState,
    ConnectedAccount,
    Dispute,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentKind,
    PaymentStatus,
    PayoutRequest,
    PayoutRequestEvent,
    PayoutRequestStatus,
    Refund,
    RefundStatus,
    SavedCard,
    StaffAlert,
    Subscription,
    SubscriptionStatus,
    Transfer,
    TransferStatus,
    WebhookEvent,
    WebhookEventStatus,
)
from payments.states import requirement_labels

POLL_BATCH = 500


def connected_account_for(coach: User) -> ConnectedAccount | None:
    return ConnectedAccount.objects.filter(coach=coach).first()


def connected_account_can_take_charges(coach: User) -> bool:
    """Whether the coach's Stripe account is active (for the coaches app, e.g. when a coach
    profile is created after the account became active)."""
    return ConnectedAccount.objects.filter(coach=coach, state=AccountState.ACTIVE).exists()


def connected_account_destination(coach: User) -> str | None:
    """The Stripe account id to send a coach's money to, or None when it cannot take charges."""
    return (
        ConnectedAccount.objects.filter(coach=coach, state=AccountState.ACTIVE)
        .values_list("stripe_account_id", flat=True)
        .first()
    )


def connected_accounts_due_for_poll(*, now: datetime | None = None) -> list[int]:
    """Accounts the poller should re-read: every account with a Stripe id that is not
    deauthorized and whose ``next_check_due_at`` has come (or is unset), or that has not been
    checked for 24 hours, oldest check first."""
    now = now or timezone.now()
    return list(
        ConnectedAccount.objects.exclude(stripe_account_id=None)
        .exclude(state=AccountState.DEAUTHORIZED)
        .filter(
            Q(next_check_due_at__isnull=True)
            | Q(next_check_due_at__lte=now)
            | Q(last_checked_at__isnull=True)
            | Q(last_checked_at__lte=now - timedelta(hours=24))
        )
        .order_by("last_checked_at")
        .values_list("pk", flat=True)[:POLL_BATCH]
    )


def webhook_events_due_for_retry(
    *, now: datetime | None = None, stuck_after: timedelta = timedelta(minutes=5)
) -> list[int]:
    """Events whose queued processing may have been lost: waiting to retry and overdue by
    ``stuck_after``, received and untouched for ``stuck_after``, or claimed by a worker
    that has not finished it within ``stuck_after`` (killed while its handler ran)."""
    now = now or timezone.now()
    return list(
        WebhookEvent.objects.filter(
            Q(status=WebhookEventStatus.RETRYING, next_attempt_at__lte=now - stuck_after)
            | Q(status=WebhookEventStatus.RECEIVED, received_at__lte=now - stuck_after)
            | Q(
                status=WebhookEventStatus.PROCESSING,
                processing_started_at__lte=now - stuck_after,
            )
        ).values_list("pk", flat=True)[:POLL_BATCH]
    )


def refunds_due_for_poll(
    *, now: datetime | None = None, older_than: timedelta = timedelta(minutes=10)
) -> list[int]:
    """Refunds still pending some minutes after they were recorded: Stripe holds them as
    pending (re-read them), or the call never reached Stripe (make it)."""
    now = now or timezone.now()
    return list(
        Refund.objects.filter(
            status=RefundStatus.PENDING, created_at__lte=now - older_than
        ).values_list("pk", flat=True)[:POLL_BATCH]
    )


def payment_refunds(payment_id: int) -> list[Refund]:
    """A payment's refunds, newest first, with Stripe's status (for the booking page)."""
    return list(Refund.objects.filter(payment_id=payment_id).order_by("-created_at", "-id"))


def payment_dispute(payment_id: int) -> Dispute | None:
    """The payment's latest dispute: its status and evidence deadline."""
    return Dispute.objects.filter(payment_id=payment_id).order_by("-created_at", "-id").first()


def open_staff_alert_count() -> int:
    return StaffAlert.objects.filter(resolved_at__isnull=True).count()


# --- the coach's setup status -------------------------------------------------------------


@dataclass(frozen=True)
class ConnectStatus:
    has_account: bool
    state: str
    state_label: str
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool
    requirements: list[str]
    eventually_due: list[str]
    pending_verification: list[str]
    deadline: datetime | None
    disabled_reason: str
    can_continue_setup: bool
    can_open_dashboard: bool
    stripe_account_id: str
    payout_interval: str
    payout_weekly_anchor: str
    payout_monthly_anchor: int | None
    payout_minimum_amount: int
    default_currency: str
    business_url: str
    business_product_description: str
    last_checked_at: datetime | None
    # The account's country as Stripe reports it (fixed once the account exists), its name,
    # and what the design Stripe allows for it means for the coach, in plain words.
    country: str = ""
    country_name: str = ""
    design_summary: str = ""


def connect_status(coach: User) -> ConnectStatus:
    account = connected_account_for(coach)
    if account is None:
        return ConnectStatus(
            has_account=False,
            state=AccountState.CREATED,
            state_label="Not started",
            charges_enabled=False,
            payouts_enabled=False,
            details_submitted=False,
            requirements=[],
            eventually_due=[],
            pending_verification=[],
            deadline=None,
            disabled_reason="",
            can_continue_setup=True,
            can_open_dashboard=False,
            stripe_account_id="",
            payout_interval="daily",
            payout_weekly_anchor="",
            payout_monthly_anchor=None,
            payout_minimum_amount=0,
            default_currency="",
            business_url="",
            business_product_description="",
            last_checked_at=None,
        )
    final = account.state in (AccountState.DEAUTHORIZED, AccountState.REJECTED)
    design = designs.design_for_account(account)
    return ConnectStatus(
        has_account=bool(account.stripe_account_id),
        state=account.state,
        state_label=account.get_state_display(),
        charges_enabled=account.charges_enabled,
        payouts_enabled=account.payouts_enabled,
        details_submitted=account.details_submitted,
        requirements=requirement_labels(account.requirements_due),
        eventually_due=requirement_labels(
            [r for r in account.requirements_eventually_due if r not in account.requirements_due]
        ),
        pending_verification=requirement_labels(account.requirements_pending_verification),
        deadline=account.current_deadline,
        disabled_reason=account.disabled_reason,
        can_continue_setup=not final
        and (account.state != AccountState.ACTIVE or bool(account.requirements_due)),
        can_open_dashboard=bool(account.stripe_account_id)
        and account.details_submitted
        and account.state != AccountState.DEAUTHORIZED,
        stripe_account_id=account.stripe_account_id or "",
        payout_interval=account.payout_interval,
        payout_weekly_anchor=account.payout_weekly_anchor,
        payout_monthly_anchor=account.payout_monthly_anchor,
        payout_minimum_amount=account.payout_minimum_amount,
        default_currency=account.default_currency,
        business_url=account.business_url,
        business_product_description=account.business_product_description,
        last_checked_at=account.last_checked_at,
        country=account.country,
        country_name=designs.SUPPORTED_COUNTRIES.get(account.country, account.country),
        design_summary=design.summary,
    )


# --- earnings -----------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthNet:
    month: date
    currency: str
    amount: int


@dataclass
class Earnings:
    """A coach's money, read from Stripe: the connected account's balance and ledger, the
    transfers the platform made to it and its payouts. Lifetime figures are per currency, in
    minor units."""

    currency: str
    gross: dict[str, int] = field(default_factory=dict)
    platform_fees: dict[str, int] = field(default_factory=dict)
    refunds: dict[str, int] = field(default_factory=dict)
    net: dict[str, int] = field(default_factory=dict)
    available: list[gateway.Amount] = field(default_factory=list)
    pending: list[gateway.Amount] = field(default_factory=list)
    transfers: list[gateway.TransferSummary] = field(default_factory=list)
    payouts: list[gateway.PayoutSummary] = field(default_factory=list)
    # Net by month of ``currency`` (the main one), and of every currency earned.
    by_month: list[MonthNet] = field(default_factory=list)
    months_by_currency: dict[str, list[MonthNet]] = field(default_factory=dict)


def _add(totals: dict[str, int], currency: str, amount: int) -> None:
    totals[currency] = totals.get(currency, 0) + amount


def coach_earnings(
    coach: User, *, months: int = 12, zone_name: str | None = None
) -> Earnings | None:
    """The coach's earnings, None before a Stripe account exists.

    From the connected account's own ledger (its balance transactions), so the figures are
    Stripe's to the cent: gross is what clients paid (``payment``: the destination payments
    and package transfers), platform fees the application fees taken from them less fees
    refunded, refunds what was taken back for refunds and disputes, and net everything that
    landed in the balance except payouts (gross - fees - refunds). Raises
    ``PaymentProviderError`` when Stripe cannot be read.
    """
    account = connected_account_for(coach)
    if account is None or not account.stripe_account_id:
        return None
    stripe_id = account.stripe_account_id
    with stripe_errors():
        balance = gateway.balance_retrieve(stripe_account_id=stripe_id)
        ledger = gateway.balance_transactions_list(stripe_account_id=stripe_id)
        earnings = Earnings(
            currency=account.default_currency or "usd",
            available=balance.available,
            pending=balance.pending,
            transfers=gateway.transfers_list(stripe_account_id=stripe_id, limit=100),
            payouts=gateway.payouts_list(stripe_account_id=stripe_id, limit=100),
        )
    # Months are the calendar months of the zone the page is read in (the coach's own).
    zone = _zone_named(zone_name) if zone_name else _zone(coach)
    month_totals: dict[tuple[date, str], int] = defaultdict(int)
    for txn in ledger:
        if txn.type.startswith("payout"):
            continue  # money leaving for the bank is not earnings
        currency = txn.currency
        if txn.type == "payment":
            _add(earnings.gross, currency, txn.amount)
            _add(earnings.platform_fees, currency, txn.fee)
        elif txn.type == "application_fee_refund":
            _add(earnings.platform_fees, currency, -txn.amount)
        else:
            _add(earnings.refunds, currency, -txn.net)
        _add(earnings.net, currency, txn.net)
        if txn.created:
            local_day = timezone.localtime(txn.created, zone).date()
            month_totals[(local_day.replace(day=1), currency)] += txn.net
    # Each currency earned has its own months; the main currency is the account's default
    # when something was earned in it, else the one earned most in.
    earned = sorted(earnings.net, key=lambda code: (-earnings.gross.get(code, 0), code))
    if earned and earnings.currency not in earnings.net:
        earnings.currency = earned[0]
    for currency in [earnings.currency, *(code for code in earned if code != earnings.currency)]:
        earnings.months_by_currency[currency] = _last_months(
            month_totals, months=months, currency=currency, zone=zone
        )
    earnings.by_month = earnings.months_by_currency[earnings.currency]
    return earnings


def _zone_named(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _zone(user: User) -> ZoneInfo:
    try:
        return ZoneInfo(user.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _last_months(
    totals: dict[tuple[date, str], int], *, months: int, currency: str, zone: ZoneInfo
) -> list[MonthNet]:
    today = timezone.localtime(timezone.now(), zone).date().replace(day=1)
    result = []
    year, month = today.year, today.month
    for _ in range(months):
        first = date(year, month, 1)
        result.append(MonthNet(first, currency, totals.get((first, currency), 0)))
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return list(reversed(result))


# --- admin: the onboarding funnel ---------------------------------------------------------


@dataclass(frozen=True)
class Funnel:
    counts: list[tuple[str, str, int]]
    total: int
    median_to_active: timedelta | None
    activated: int


def onboarding_funnel() -> Funnel:
    counts = dict(
        ConnectedAccount.objects.values_list("state")
        .annotate(n=Count("pk"))
        .values_list("state", "n")
    )
    durations = [
        (activated - created).total_seconds()
        for created, activated in ConnectedAccount.objects.filter(
            activated_at__isnull=False
        ).values_list("created_at", "activated_at")
        if activated is not None
    ]
    return Funnel(
        counts=[(state.value, state.label, counts.get(state.value, 0)) for state in AccountState],
        total=sum(counts.values()),
        median_to_active=timedelta(seconds=statistics.median(durations)) if durations else None,
        activated=len(durations),
    )


def _stripe_account_id_of(coach: User) -> str:
    account = connected_account_for(coach)
    if account is None or not account.stripe_account_id:
        raise NotFound("Set up payouts first.")
    return account.stripe_account_id


def connected_account_balance(coach: User) -> gateway.BalanceSnapshot:
    """The coach's Stripe balance, read from Stripe (``PaymentProviderError`` if it fails)."""
    stripe_account_id = _stripe_account_id_of(coach)
    with stripe_errors():
        return gateway.balance_retrieve(stripe_account_id=stripe_account_id)


def connected_account_payouts(coach: User, *, limit: int = 100) -> list[gateway.PayoutSummary]:
    """The coach's latest payouts, read from Stripe (``PaymentProviderError`` if it fails)."""
    stripe_account_id = _stripe_account_id_of(coach)
    with stripe_errors():
        return gateway.payouts_list(stripe_account_id=stripe_account_id, limit=limit)


# Destination charges (the platform keeps their application fee) and charges on the platform
# (it keeps what it does not transfer): a booking's and a plan invoice's; a package's and a
# membership invoice's.
_DESTINATION_KINDS = (PaymentKind.BOOKING, PaymentKind.PLAN)
_PLATFORM_KINDS = (PaymentKind.PACKAGE, PaymentKind.MEMBERSHIP)


def money_ledger() -> dict[str, dict[str, int]]:
    """Per currency, in minor units: charged, platform fees, refunded, reversed from coaches,
    fee refunds, disputed, package transfers, and the platform's net (before Stripe's
    processing fees)."""
    ledger: dict[str, dict[str, int]] = {}
    for currency in Payment.objects.values_list("currency", flat=True).distinct():
        paid = Payment.objects.filter(currency=currency).exclude(
            status__in=[PaymentStatus.PENDING, PaymentStatus.FAILED, PaymentStatus.CANCELLED]
        )
        refunds = Refund.objects.filter(currency=currency, status=RefundStatus.SUCCEEDED)
        figures = {
            "charged": paid.aggregate(v=Sum("amount"))["v"] or 0,
            "fees": paid.filter(kind__in=_DESTINATION_KINDS).aggregate(v=Sum("application_fee"))[
                "v"
            ]
            or 0,
            "refunded": refunds.aggregate(v=Sum("amount"))["v"] or 0,
            "reversed": refunds.aggregate(v=Sum("transfer_reversal_amount"))["v"] or 0,
            "fee_refunds": refunds.aggregate(v=Sum("application_fee_refund_amount"))["v"] or 0,
            "disputed": Dispute.objects.filter(currency=currency).aggregate(v=Sum("amount"))["v"]
            or 0,
            "transfers": Transfer.objects.filter(
                currency=currency, status=TransferStatus.PAID
            ).aggregate(v=Sum("amount"))["v"]
            or 0,
        }
        package_charged = paid.filter(kind__in=_PLATFORM_KINDS).aggregate(v=Sum("amount"))["v"] or 0
        package_refunded = (
            refunds.filter(payment__kind__in=_PLATFORM_KINDS).aggregate(v=Sum("amount"))["v"] or 0
        )
        figures["net"] = (
            figures["fees"]
            - figures["fee_refunds"]
            + package_charged
            - package_refunded
            - figures["transfers"]
            - figures["disputed"]
        )
        ledger[currency] = figures
    return ledger


# --- the payments of a purpose (read by the app that owns it) ------------------------------

_PAID = (PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.DISPUTED)


def open_payment_ids_of_booking(booking_id: int) -> list[int]:
    """The booking's payments still waiting for the client (pending, or declined)."""
    return list(
        Payment.objects.filter(
            booking_id=booking_id, status__in=[PaymentStatus.PENDING, PaymentStatus.FAILED]
        ).values_list("pk", flat=True)
    )


def pending_payment_of_booking(booking_id: int) -> Payment | None:
    return (
        Payment.objects.filter(booking_id=booking_id, status=PaymentStatus.PENDING)
        .order_by("-pk")
        .first()
    )


def paid_payment_of_booking(booking_id: int) -> Payment | None:
    """The booking's paid payment (refundable unless disputed), or None."""
    return Payment.objects.filter(booking_id=booking_id, status__in=_PAID).order_by("-pk").first()


def payment_of_booking(booking_id: int) -> Payment | None:
    """The booking's payment to show (the paid one if any), or None for a package session."""
    payments = list(Payment.objects.filter(booking_id=booking_id).order_by("-pk"))
    for payment in payments:
        if payment.status not in (PaymentStatus.PENDING, PaymentStatus.CANCELLED):
            return payment
    return payments[0] if payments else None


def package_paid_at_purchase(package_purchase_id: int) -> bool:
    """Whether the package's coach was paid for every session when it was bought (a
    destination charge), so its sessions are not transferred one by one."""
    return (
        Payment.objects.filter(package_purchase_id=package_purchase_id, kind=PaymentKind.PACKAGE)
        .exclude(on_behalf_of="")
        .exists()
    )


def payment_of_package(package_purchase_id: int) -> Payment:
    return Payment.objects.get(package_purchase_id=package_purchase_id)


# --- staff payouts ------------------------------------------------------------------------


def payouts_received(user: User) -> list[PayoutRequest]:
    """The payouts staff approved for ``user`` (the "Payments received" page), newest first:
    what is on its way, paid, failed or reversed; requests still awaiting approval or
    cancelled before approval are staff's business, not yet the payee's."""
    return list(
        PayoutRequest.objects.filter(recipient=user)
        .exclude(status=PayoutRequestStatus.REQUESTED)
        .exclude(status=PayoutRequestStatus.CANCELLED, approved_at__isnull=True)
        .select_related("transfer")
        .order_by("-created_at", "-id")
    )


def payout_request_audit(
    *, payout_request_ids: list[int] | None = None
) -> list[PayoutRequestEvent]:
    """The audit trail of payout requests (all, or those given), oldest first."""
    events = PayoutRequestEvent.objects.select_related("actor", "payout_request__recipient")
    if payout_request_ids is not None:
        events = events.filter(payout_request_id__in=payout_request_ids)
    return list(events.order_by("at", "id"))


def platform_available(currency: str) -> int:
    """The platform's available Stripe balance in ``currency`` (``PaymentProviderError`` if
    Stripe cannot be read): shown before a payout is approved."""
    with stripe_errors():
        return gateway.platform_available_balance(currency)


def open_invoice_url(subscription_id: OuterRef) -> Subquery:
    """The hosted page of the subscription's latest open invoice (what a client pays a
    failed renewal on), "" if none: an expression over ``subscription_id`` (an ``OuterRef``
    to it), so the owner of a subscription reads it in the query of its own rows."""
    return Subquery(
        Invoice.objects.filter(subscription_id=subscription_id, status=InvoiceStatus.OPEN)
        .exclude(hosted_invoice_url="")
        .order_by("-issued_at", "-id")
        .values("hosted_invoice_url")[:1]
    )


def payee_running_connect_subscriptions(payee: User) -> list[Subscription]:
    """The running subscriptions whose invoices pay ``payee`` (a coach's coaching plans)."""
    return list(
        Subscription.objects.filter(payee=payee, status__in=SUBSCRIPTION_RUNNING)
        .exclude(destination_account_id="")
        .exclude(stripe_subscription_id=None)
        .order_by("pk")
    )


# A subscription whose period ended this long ago without news from Stripe is re-read.
SUBSCRIPTION_SILENT_AFTER = timedelta(hours=1)


def subscriptions_due_for_poll(*, now: datetime | None = None) -> list[int]:
    """Subscriptions a lost webhook may have left behind: running ones whose period ended
    (their renewal not heard of) and Checkout Sessions open for more than ten minutes (paid
    or expired without our hearing), each at most once every six hours (``updated_at``)."""
    now = now or timezone.now()
    quiet = now - timedelta(hours=6)
    renewals = Subscription.objects.filter(
        status__in=SUBSCRIPTION_RUNNING,
        stripe_subscription_id__isnull=False,
        current_period_end__lt=now - SUBSCRIPTION_SILENT_AFTER,
        updated_at__lt=quiet,
    )
    checkouts = Subscription.objects.filter(
        status=SubscriptionStatus.CHECKOUT,
        stripe_checkout_session_id__isnull=False,
        created_at__lt=now - timedelta(minutes=10),
        updated_at__lt=now - timedelta(minutes=10),
    )
    return list((renewals | checkouts).order_by("pk").values_list("pk", flat=True)[:POLL_BATCH])


# --- saved cards ---------------------------------------------------------------------------


def saved_cards_of(user: User) -> list[SavedCard]:
    """The client's saved cards as the mirror has them, newest first (with their Customer,
    for ``is_default``)."""
    return list(SavedCard.objects.select_related("customer").filter(customer__user_id=user.pk))


@dataclass(frozen=True)
class RenewalNeed:
    """A running subscription of the client's that renews with their only saved card:
    ``label`` names it ("coaching plan")."""

    label: str


def card_needed_for_renewal(card: SavedCard) -> RenewalNeed | None:
    """Whether removing ``card`` leaves a subscription that still renews with no card: the
    client has one running (not ending at its period's end) and no other saved card."""
    if SavedCard.objects.filter(customer_id=card.customer_id).exclude(pk=card.pk).exists():
        return None
    running = (
        Subscription.objects.filter(
            customer_user_id=card.customer.user_id,
            status__in=SUBSCRIPTION_RUNNING,
            cancel_at_period_end=False,
        )
        .order_by("-created_at")
        .first()
    )
    if running is None:
        return None
    return RenewalNeed(label=running.get_kind_display().lower())


# --- invoices ------------------------------------------------------------------------------

INVOICES_PER_PAGE = 20


def _invoices() -> QuerySet[Invoice]:
    # Drafts are Stripe's work in progress (no number, no PDF): shown once finalized.
    return (
        Invoice.objects.exclude(status=InvoiceStatus.DRAFT)
        .select_related("customer_user", "payee")
        .order_by("-issued_at", "-id")
    )


def invoices_of_customer(user: User) -> QuerySet[Invoice]:
    """The invoices ``user`` pays (a client's plans and receipts, a coach's membership),
    newest first."""
    return _invoices().filter(customer_user=user)


def invoices_of_payee(user: User) -> QuerySet[Invoice]:
    """The invoices paid to ``user`` (a coach's plan subscribers'), newest first."""
    return _invoices().filter(payee=user)


# What the invoices table (``payments/_invoices.html``) shows of an invoice: its lines, the
# amounts behind its total and Stripe's ids stay unread, and of the payer only the name.
_INVOICE_TABLE_FIELDS = (
    "number",
    "status",
    "currency",
    "total",
    "hosted_invoice_url",
    "invoice_pdf",
    "period_start",
    "period_end",
    "issued_at",
    "customer_user__first_name",
    "customer_user__last_name",
    "customer_user__email",
)


def invoices_page(
    invoices: QuerySet[Invoice],
    page_number: int | str | None = 1,
    *,
    per_page: int = INVOICES_PER_PAGE,
) -> Page:
    """One page of ``invoices`` for the invoices table, with the columns it shows (two
    queries whatever the page: the count and the rows); a page number out of range gives
    the last page."""
    rows = invoices.select_related(None).select_related("customer_user")
    return Paginator(rows.only(*_INVOICE_TABLE_FIELDS), per_page).get_page(page_number)


def invoice_for_viewer(*, user: User, invoice_id: int) -> Invoice:
    """The invoice if ``user`` may see it (its payer, its payee, or staff), else
    ``NotFound`` (another person's invoice is not told apart from a missing one)."""
    invoice = Invoice.objects.filter(pk=invoice_id).first()
    if invoice is None or not (
        user.is_staff or user.pk in (invoice.customer_user_id, invoice.payee_id)
    ):
        raise NotFound("No such invoice.")
    return invoice


def customer_usual_currency(user: User) -> str:
    """The currency the client last paid in, else the platform's (a card saved for later
    charges is offered the payment methods of this currency)."""
    last = (
        Payment.objects.filter(client=user)
        .exclude(status__in=[PaymentStatus.PENDING, PaymentStatus.FAILED, PaymentStatus.CANCELLED])
        .order_by("-created_at")
        .values_list("currency", flat=True)
        .first()
    )
    return last or settings.PLATFORM_CURRENCY.lower()
