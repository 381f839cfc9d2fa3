"""A scripted scenario of 200 paid bookings (full and partial refunds, coach cancellations, a
dispute) and package sessions paid out by transfers; afterwards our Payment, Refund, Dispute
and Transfer rows equal the local Stripe's balance transactions, for the platform and for
each coach, to the cent."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

import pytest
from django.db.models import Sum

from bookings.models import Booking, BookingStatus, Package
from bookings.services import after_session, cancellation, checkout, holds, packages
from payments.gateway import stripe_client
from payments.models import Dispute, Payment, PaymentKind, Refund, Transfer
from payments.sandbox import controls
from tests.bookings.conftest import stripe_coach
from tests.bookings.factories import next_hour
from tests.bookings.services.test_checkout import URLS
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def balance_transactions(account: str = "") -> list:
    options = {"stripe_account": account} if account else {}
    page = stripe_client().v1.balance_transactions.list(params={"limit": 100}, options=options)
    return list(page.auto_paging_iter())


def _pay(payment: Payment) -> None:
    """Pay on Checkout; of Stripe's events only ``checkout.session.completed`` is delivered
    (the others are left undelivered, as if lost: one is enough to confirm)."""
    session = controls.pay_checkout_session(payment.stripe_checkout_session_id)
    (event,) = (
        stripe_client()
        .v1.events.list(params={"type": "checkout.session.completed", "limit": 1})
        .data
    )
    assert event["data"]["object"]["id"] == session["id"]
    controls.deliver_pending_events(order=[event["id"]])


def test_two_hundred_bookings_reconcile_with_stripe_to_the_cent(
    settings, django_capture_on_commit_callbacks
):
    # given: four coaches: default fee, an override with a minimum, one abroad (a GB
    # recipient account: its bookings and package shares are cross-border payouts)
    settings.SITE_URL = "http://testserver"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    controls.reset()
    controls.register_default_endpoints("http://testserver")
    controls.set_available_delay(0)
    controls.pause_deliveries()
    rng = random.Random(6)
    with django_capture_on_commit_callbacks(execute=True):
        coaches = [
            stripe_coach(),
            stripe_coach(fee_bps_override=1000, minimum_fee_override=1500),
            stripe_coach(country="GB"),
            stripe_coach(),
        ]
    coaches[2][1].price = 9999
    coaches[2][1].save()
    clients = [UserFactory() for _ in range(20)]
    base = next_hour(days=3)
    outcomes: Counter[str] = Counter()

    # when: 200 bookings, paid on Checkout, confirmed by webhook, then changed
    bookings: list[Booking] = []
    # hourly starts, none running past the coaches' 23:59 closing
    hours = [base + timedelta(hours=h) for h in range(120)]
    hours = [start for start in hours if start.hour != 23]
    for index in range(200):
        _coach, session_type = coaches[index % 3]
        starts_at = hours[index // 3]
        with django_capture_on_commit_callbacks(execute=True):
            booking, payment = checkout.booking_book(
                client=clients[index % 20],
                session_type=session_type,
                starts_at=starts_at,
                topic="",
                client_time_zone="UTC",
                urls_for=lambda booking: URLS,
            )
            _pay(payment)
        bookings.append(booking)
    assert Booking.objects.filter(status=BookingStatus.CONFIRMED).count() == 200
    for booking in bookings:
        roll = rng.random()
        with django_capture_on_commit_callbacks(execute=True):
            if roll < 0.25:
                cancellation.booking_cancel(booking=booking, by=booking.client)
                outcomes["early cancel"] += 1
            elif roll < 0.45:
                cancellation.booking_cancel(
                    booking=booking,
                    by=booking.client,
                    now=booking.starts_at - timedelta(hours=rng.randint(1, 23)),
                )
                outcomes["late cancel"] += 1
            elif roll < 0.55:
                cancellation.booking_cancel(booking=booking, by=booking.coach.user)
                outcomes["coach cancel"] += 1
    disputed = Payment.objects.filter(booking__status=BookingStatus.CONFIRMED).first()
    with django_capture_on_commit_callbacks(execute=True):
        dispute = controls.dispute_charge(disputed.stripe_charge_id)
        (event,) = (
            stripe_client()
            .v1.events.list(params={"type": "charge.dispute.created", "limit": 1})
            .data
        )
        assert event["data"]["object"]["id"] == dispute["id"]
        controls.deliver_pending_events(order=[event["id"]])
    # a staff refund of part of another payment
    staff = UserFactory(is_staff=True)
    partly = Payment.objects.filter(booking__status=BookingStatus.CONFIRMED, status="succeeded")[1]
    with django_capture_on_commit_callbacks(execute=True):
        from payments.services.refunds import refund_by_staff

        refund_by_staff(payment=partly, amount=1234, by=staff)

    # and packages with the fourth coach: two purchases of 4 sessions, 5 sessions completed
    coach4, session_type4 = coaches[3]
    package = Package.objects.create(
        coach=coach4,
        session_type=session_type4,
        name="Four",
        session_count=4,
        price=40001,
        currency="usd",
    )
    completed = 0
    for buyer_index, sessions_to_complete in ((0, 4), (1, 1)):
        buyer = clients[buyer_index]
        with django_capture_on_commit_callbacks(execute=True):
            purchase, payment = packages.package_purchase_start(
                client=buyer, package=package, urls=URLS
            )
            _pay(payment)
        purchase.refresh_from_db()
        assert purchase.status == "active"
        for session in range(sessions_to_complete):
            starts_at = base.replace(hour=2) + timedelta(
                days=1, hours=2 * session + 10 * buyer_index
            )
            with django_capture_on_commit_callbacks(execute=True):
                booking = holds.booking_hold(
                    client=buyer,
                    session_type=session_type4,
                    starts_at=starts_at,
                    package_purchase=purchase,
                )
                after_session.booking_complete(
                    booking=booking, by=coach4.user, now=booking.ends_at + timedelta(minutes=5)
                )
            completed += 1
    with django_capture_on_commit_callbacks(execute=True):
        packages.package_refund_unused(purchase=purchase, by=purchase.client)

    # then: every refund and transfer went through
    assert set(Refund.objects.values_list("status", flat=True)) == {"succeeded"}
    assert Transfer.objects.filter(status="paid").count() == completed == 5
    assert outcomes["early cancel"] > 20 and outcomes["late cancel"] > 20
    assert Dispute.objects.count() == 1
    shares = list(
        Transfer.objects.filter(package_purchase__client=clients[0]).values_list(
            "amount", flat=True
        )
    )
    assert sum(shares) == Package.objects.get().purchases.get(client=clients[0]).coach_amount

    # the platform: every gross movement, by Stripe's type, equals our rows
    platform = Counter()
    for txn in balance_transactions():
        platform[txn["type"]] += txn["amount"]
    payments = Payment.objects.exclude(status__in=["pending", "cancelled", "failed"])
    booking_payments = payments.filter(kind=PaymentKind.BOOKING)
    refunds = Refund.objects.filter(status="succeeded")
    total = lambda rows, field: rows.aggregate(total=Sum(field))["total"] or 0  # noqa: E731
    assert platform["charge"] == total(payments, "amount")
    assert platform["application_fee"] == total(booking_payments, "application_fee")
    assert platform["transfer"] == -total(booking_payments, "amount") - total(
        Transfer.objects.filter(status="paid"), "amount"
    )
    assert platform["refund"] == -total(refunds, "amount")
    assert platform["transfer_refund"] == total(refunds, "transfer_reversal_amount")
    assert platform["application_fee_refund"] == -total(refunds, "application_fee_refund_amount")
    assert platform["adjustment"] == -total(Dispute.objects.all(), "amount")
    assert sum(platform.values()) == (
        total(payments, "amount")
        - total(booking_payments, "coach_amount")
        - total(Transfer.objects.filter(status="paid"), "amount")
        - total(refunds, "amount")
        + total(refunds, "transfer_reversal_amount")
        - total(refunds, "application_fee_refund_amount")
        - total(Dispute.objects.all(), "amount")
    )

    # each coach: net of Stripe's balance (payouts aside) equals what our rows owe them
    for coach, _session_type in coaches:
        account = coach.user.connected_account.stripe_account_id
        net = sum(txn["net"] for txn in balance_transactions(account) if txn["type"] != "payout")
        mine = booking_payments.filter(coach=coach.user)
        my_refunds = refunds.filter(payment__coach=coach.user, payment__kind=PaymentKind.BOOKING)
        expected = (
            total(mine, "coach_amount")
            - total(my_refunds, "transfer_reversal_amount")
            + total(my_refunds, "application_fee_refund_amount")
            + total(Transfer.objects.filter(status="paid", package_purchase__coach=coach), "amount")
        )
        assert net == expected, (coach, net, expected)
