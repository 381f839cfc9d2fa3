"""A scripted stretch of the marketplace's money on the local Stripe, driven through the
services (no pages): 100 paid bookings with three coaches, 20 cancellations refunded (some
refunds stay pending, some fail), 3 disputes of bookings (won and lost), a fourth coach's
packages whose completed sessions are transferred (one package's charge disputed and lost
after its shares were paid, so they are reversed), and the coaches' payouts — with Stripe's
deliveries in a random order and duplicated, and optionally a share of its answers lost after
the work.

Webhooks are delivered in batches as the day goes, and what Celery beat would do (retrying
events whose handler failed, re-reading pending refunds) is done between batches, until
nothing is left to deliver or retry.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Sum

from bookings.models import Booking, BookingStatus, Package
from bookings.services import after_session, cancellation, checkout, holds, packages
from payments import tasks
from payments.errors import PaymentProviderError
from payments.gateway import stripe_client
from payments.handlers import CONNECT, PLATFORM, enabled_events
from payments.models import (
    Dispute,
    Payment,
    Payout,
    Refund,
    RefundStatus,
    Transfer,
    WebhookEvent,
    WebhookEventStatus,
)
from payments.sandbox import controls
from payments.sandbox.controls import CONNECT_WEBHOOK_PATH, PLATFORM_WEBHOOK_PATH
from payments.services import webhooks
from tests.bookings.conftest import stripe_coach
from tests.bookings.factories import next_hour
from tests.bookings.services.test_checkout import URLS
from tests.factories import UserFactory

BOOKINGS = 100
REFUNDS = 20
# The refunds' outcomes at Stripe, chosen per charge.
REFUND_OUTCOMES = ["pending_fails"] * 4 + ["fails_later"] * 2 + ["pending_succeeds"] * 5
DISPUTE_OUTCOMES = ["won", "lost", "lost"]
PACKAGE_SESSIONS_COMPLETED = (3, 2, 2)
# This buyer's package charge is disputed after its sessions were paid to the coach, and lost.
DISPUTED_PACKAGE_BUYER = 2


@dataclass
class Day:
    """What the scenario meant to happen, to compare with what did."""

    seed: int
    bookings: list[Booking] = field(default_factory=list)
    expected_status: dict[int, str] = field(default_factory=dict)
    refunds_failing: int = 0
    disputes: dict[str, str] = field(default_factory=dict)
    transfers: int = 0
    shares_reversed: int = 0
    coach_accounts: list[str] = field(default_factory=list)
    package_payments: int = 0


def register_endpoints(settings) -> None:
    """Both endpoints, enabled for the event types the product handles (as docs/webhooks.md
    tells an operator to configure them), with the secrets from settings."""
    base = "http://testserver"
    controls.register_endpoint(
        url=base + PLATFORM_WEBHOOK_PATH,
        secret=settings.STRIPE_WEBHOOK_SECRETS[0],
        connect=False,
        enabled_events=enabled_events(PLATFORM),
    )
    controls.register_endpoint(
        url=base + CONNECT_WEBHOOK_PATH,
        secret=settings.STRIPE_CONNECT_WEBHOOK_SECRETS[0],
        connect=True,
        enabled_events=enabled_events(CONNECT),
    )


def settle(capture) -> int:
    """Deliver everything pending (shuffled and duplicated when chaos is on) and do what beat
    would do, until nothing is left; returns the deliveries sent."""
    sent = 0
    for _ in range(30):
        with capture(execute=True):
            sent += len(controls.deliver_pending_events())
        waiting = list(
            WebhookEvent.objects.filter(
                status__in=[WebhookEventStatus.RECEIVED, WebhookEventStatus.RETRYING]
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        for event_id in waiting:
            with capture(execute=True):
                webhooks.webhook_event_process(event_id=event_id)
        pending_refunds = list(
            Refund.objects.filter(
                status=RefundStatus.PENDING, stripe_refund_id__isnull=True
            ).values_list("pk", flat=True)
        )
        for refund_id in pending_refunds:
            with capture(execute=True):
                tasks.execute_refund.delay(refund_id)
        unpaid = list(
            Transfer.objects.filter(status__in=["pending", "waiting_for_balance"]).values_list(
                "pk", flat=True
            )
        )
        for transfer_id in unpaid:
            with capture(execute=True):
                tasks.transfer_package_share.delay(transfer_id)
        if not (controls.pending_events() or waiting or pending_refunds or unpaid):
            return sent
    raise AssertionError("deliveries and retries did not settle")


def _book(client, session_type, starts_at, capture) -> tuple[Booking, Payment]:
    """What a client does: hold and open Checkout, trying again when Stripe fails."""
    for _ in range(6):
        try:
            with capture(execute=True):
                return checkout.booking_book(
                    client=client,
                    session_type=session_type,
                    starts_at=starts_at,
                    topic="",
                    client_time_zone="UTC",
                    urls_for=lambda booking: URLS,
                )
        except PaymentProviderError:
            continue
    raise AssertionError("Stripe never answered the hold")


def run(seed: int, capture, settings, *, duplicate_percent: int = 25, lost_percent: int = 0) -> Day:
    rng = random.Random(seed)
    day = Day(seed=seed)
    settings.SITE_URL = "http://testserver"
    controls.reset()
    register_endpoints(settings)
    controls.set_available_delay(0)
    with capture(execute=True):
        coaches = [stripe_coach() for _ in range(4)]
    day.coach_accounts = [c.user.connected_account.stripe_account_id for c, _ in coaches]
    clients = [UserFactory() for _ in range(20)]
    controls.set_delivery_chaos(shuffled=True, duplicate_percent=duplicate_percent, seed=seed)
    controls.set_lost_answers(lost_percent, seed=seed)
    base = next_hour(days=3).replace(hour=0)

    # 100 bookings paid on Checkout
    payments: list[Payment] = []
    for index in range(BOOKINGS):
        _coach, session_type = coaches[index % 3]
        starts_at = base + timedelta(hours=index // 3)
        booking, payment = _book(clients[index % 20], session_type, starts_at, capture)
        controls.pay_checkout_session(payment.stripe_checkout_session_id)
        day.bookings.append(booking)
        payments.append(payment)
        if index % 20 == 19:
            settle(capture)
    settle(capture)
    for payment in payments:
        payment.refresh_from_db()
    day.expected_status = {booking.pk: BookingStatus.CONFIRMED for booking in day.bookings}

    # 20 cancellations refunded, early (in full) or late (half), the refunds' fates chosen
    chosen = rng.sample(range(BOOKINGS), REFUNDS + len(DISPUTE_OUTCOMES))
    outcomes = REFUND_OUTCOMES + ["succeeded"] * (REFUNDS - len(REFUND_OUTCOMES))
    rng.shuffle(outcomes)
    for index, outcome in zip(chosen[:REFUNDS], outcomes, strict=True):
        booking, payment = day.bookings[index], payments[index]
        controls.set_refund_outcome(outcome, charge_id=payment.stripe_charge_id)
        late = rng.random() < 0.4
        with capture(execute=True):
            cancellation.booking_cancel(
                booking=booking,
                by=booking.client,
                now=booking.starts_at - timedelta(hours=5) if late else None,
            )
        day.expected_status[booking.pk] = BookingStatus.CANCELLED_BY_CLIENT
        day.refunds_failing += outcome in ("pending_fails", "fails_later")
        if rng.random() < 0.3:
            settle(capture)

    # 3 disputes, decided after the evidence
    for index, outcome in zip(chosen[REFUNDS:], DISPUTE_OUTCOMES, strict=True):
        dispute = controls.dispute_charge(payments[index].stripe_charge_id)
        day.disputes[dispute["id"]] = outcome
    settle(capture)
    for dispute_id, outcome in day.disputes.items():
        controls.submit_dispute_evidence(dispute_id)
        controls.close_dispute(dispute_id, outcome)
    settle(capture)

    # packages with the fourth coach: each completed session's share is transferred
    package_coach, package_type = coaches[3]
    package = Package.objects.create(
        coach=package_coach,
        session_type=package_type,
        name="Four",
        session_count=4,
        price=40001,
        currency="usd",
    )
    for buyer_index, completed in enumerate(PACKAGE_SESSIONS_COMPLETED):
        buyer = clients[buyer_index]
        for _ in range(6):
            try:
                with capture(execute=True):
                    purchase, payment = packages.package_purchase_start(
                        client=buyer, package=package, urls=URLS
                    )
                break
            except PaymentProviderError:
                continue
        controls.pay_checkout_session(payment.stripe_checkout_session_id)
        settle(capture)
        day.package_payments += 1
        for session in range(completed):
            starts_at = base + timedelta(days=1, hours=2 * session + 8 * buyer_index)
            with capture(execute=True):
                booking = holds.booking_hold(
                    client=buyer,
                    session_type=package_type,
                    starts_at=starts_at,
                    package_purchase=purchase,
                )
                after_session.booking_complete(
                    booking=booking,
                    by=package_coach.user,
                    now=booking.ends_at + timedelta(minutes=5),
                )
            day.expected_status[booking.pk] = BookingStatus.COMPLETED
            day.transfers += 1
        if buyer_index == DISPUTED_PACKAGE_BUYER:
            # its shares are paid, then the client disputes the package's charge and wins
            settle(capture)
            payment.refresh_from_db()
            dispute = controls.dispute_charge(payment.stripe_charge_id)
            settle(capture)
            controls.submit_dispute_evidence(dispute["id"])
            controls.close_dispute(dispute["id"], "lost")
            day.disputes[dispute["id"]] = "lost"
            day.transfers -= completed
            day.shares_reversed += completed
    settle(capture)

    # two days pass: refunds reach their outcomes, the coaches are paid out
    with capture(execute=True):
        controls.advance_clock(2 * 86400 + 3600)
    settle(capture)
    controls.set_lost_answers(0)
    return day


# --- what the books say, against what Stripe says ------------------------------------------


def stripe_balance_transactions(account: str = "") -> list:
    options = {"stripe_account": account} if account else {}
    page = stripe_client().v1.balance_transactions.list(params={"limit": 100}, options=options)
    return list(page.auto_paging_iter())


def _total(rows, name: str) -> int:
    return rows.aggregate(total=Sum(name))["total"] or 0


def platform_by_type_from_our_rows() -> Counter:
    """The platform's gross movements per balance-transaction type, from our rows alone.

    A destination charge (a booking's; a plan invoice's, whose Payment carries the invoice's
    charge, transfer and application fee) is the charge, its transfer of the whole amount
    and the application fee; a charge on the platform (a package's, a membership invoice's)
    only the charge."""
    payments = Payment.objects.exclude(stripe_charge_id=None)
    destination_charges = payments.exclude(stripe_transfer_id="")
    held = Refund.objects.exclude(stripe_refund_id=None)
    failed = held.filter(status__in=[RefundStatus.FAILED, RefundStatus.CANCELED])
    paid_transfers = Transfer.objects.filter(status__in=["paid", "reversed"])
    disputes = Dispute.objects.all()
    totals = Counter(
        {
            "charge": _total(payments, "amount"),
            "application_fee": _total(destination_charges, "application_fee"),
            "transfer": -_total(destination_charges, "amount") - _total(paid_transfers, "amount"),
            "refund": -_total(held, "amount"),
            "refund_failure": _total(failed, "amount"),
            "transfer_refund": _total(held, "transfer_reversal_amount")
            + _total(disputes, "transfer_reversal_amount")
            + _total(paid_transfers, "reversed_amount"),
            "application_fee_refund": -_total(held, "application_fee_refund_amount")
            - _total(disputes, "application_fee_refund_amount"),
            "adjustment": -_total(disputes.filter(funds_withdrawn=True), "amount")
            + _total(disputes.filter(funds_reinstated=True), "amount"),
        }
    )
    return _nonzero(totals)


def coach_by_type_from_our_rows(account_id: str) -> Counter:
    """A coach's gross movements per balance-transaction type, from our rows alone (a
    destination charge's payment is its whole amount, the application fee being Stripe's fee
    on that payment)."""
    payments = (
        Payment.objects.filter(destination_account_id=account_id)
        .exclude(stripe_charge_id=None)
        .exclude(stripe_transfer_id="")
    )
    held = Refund.objects.filter(payment__in=payments).exclude(stripe_refund_id=None)
    disputes = Dispute.objects.filter(payment__in=payments)
    transfers = Transfer.objects.filter(
        destination_account_id=account_id, status__in=["paid", "reversed"]
    )
    payouts = Payout.objects.filter(account__stripe_account_id=account_id)
    totals = Counter(
        {
            "payment": _total(payments, "amount") + _total(transfers, "amount"),
            "payment_refund": -_total(held, "transfer_reversal_amount")
            - _total(disputes, "transfer_reversal_amount")
            - _total(transfers, "reversed_amount"),
            "application_fee_refund": _total(held, "application_fee_refund_amount")
            + _total(disputes, "application_fee_refund_amount"),
            "payout": -_total(payouts, "amount"),
            "payout_failure": _total(payouts.filter(status="failed"), "amount"),
        }
    )
    return _nonzero(totals)


def by_type(transactions: list) -> Counter:
    totals: Counter = Counter()
    for txn in transactions:
        totals[txn["type"]] += txn["amount"]
    return _nonzero(totals)


def _nonzero(totals: Counter) -> Counter:
    return Counter({name: amount for name, amount in totals.items() if amount})
