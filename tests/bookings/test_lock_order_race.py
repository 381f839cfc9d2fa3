"""The lock order holds under load: a payment's webhook, the stale-hold sweeper and a client's
cancellation on the same coach, at the same moment, on the real Postgres.

Before the one lock order, settling a payment locked the payment and then the coach and the
booking, while the sweeper locked the booking and then its payment: a late payment arriving
as its hold was swept could deadlock in Postgres. Now every path takes coach → booking →
payment.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from bookings.models import Booking, BookingStatus
from bookings.services import cancellation, checkout, holds
from payments import gateway
from payments.models import (
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
    WebhookEndpoint,
    WebhookEvent,
)
from payments.sandbox import controls
from payments.services import charges, webhooks
from tests.bookings.conftest import stripe_coach
from tests.bookings.factories import next_hour
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 4
URLS = checkout.CheckoutUrls(
    success_url="http://testserver/bookings/paid/", cancel_url="http://testserver/bookings/back/"
)


def _hold(session_type, starts_at):
    client = UserFactory()
    booking, payment = checkout.booking_book(
        client=client,
        session_type=session_type,
        starts_at=starts_at,
        topic="",
        client_time_zone="UTC",
        urls_for=lambda booking: URLS,
    )
    return booking, payment


def _paid_but_gone_stale(session_type, starts_at) -> tuple[Booking, Payment, str]:
    """A hold paid on Checkout whose hold time ran out before Stripe's event arrived."""
    booking, payment = _hold(session_type, starts_at)
    controls.pay_checkout_session(payment.stripe_checkout_session_id)
    intent_id = gateway.checkout_session_retrieve(payment.stripe_checkout_session_id)
    Booking.objects.filter(pk=booking.pk).update(
        hold_expires_at=timezone.now() - timedelta(minutes=1)
    )
    return booking, payment, intent_id.payment_intent_id


def _confirmed(session_type, starts_at) -> tuple[Booking, Payment]:
    booking, payment = _hold(session_type, starts_at)
    controls.pay_checkout_session(payment.stripe_checkout_session_id)
    controls.deliver_pending_events()
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    return booking, payment


def _payment_succeeded_event(intent_id: str) -> int:
    return WebhookEvent.objects.create(
        stripe_event_id=f"evt_race_{intent_id}",
        endpoint=WebhookEndpoint.PLATFORM,
        type="payment_intent.succeeded",
        object_id=intent_id,
        stripe_created_at=timezone.now(),
        payload={},
    ).pk


def test_webhook_sweeper_and_cancel_on_one_coach_never_deadlock(sandbox, settings, monkeypatch):
    settings.SITE_URL = "http://testserver"
    _coach, session_type = stripe_coach()
    # The sweeper lingers between locking a booking and locking its payment, so the webhook
    # reaches its locks meanwhile: the interleaving that deadlocked when settling a payment
    # locked the payment before the booking (as in Saleor's ``before_after`` races).
    cancel_pending = charges.payment_cancel_pending
    linger = {"seconds": 0.0}
    booking_locked_by_sweeper = threading.Event()

    def lingering_cancel_pending(**kwargs):
        booking_locked_by_sweeper.set()
        time.sleep(linger["seconds"])
        return cancel_pending(**kwargs)

    monkeypatch.setattr(charges, "payment_cancel_pending", lingering_cancel_pending)
    for round_number in range(ROUNDS):
        # even rounds: the sweeper holds the stale booking while the webhook arrives; odd
        # rounds: the webhook goes first and the sweeper finds the booking confirmed
        sweeper_first = round_number % 2 == 0
        linger["seconds"] = 0.4 if sweeper_first else 0.0
        # given: on one coach, a paid hold gone stale (its webhook is about to arrive, the
        # sweeper is about to expire it) and a confirmed paid booking its client is cancelling
        day = next_hour(days=3 + round_number)
        confirmed, confirmed_payment = _confirmed(session_type, day + timedelta(hours=4))
        with controls.deliveries_paused():
            late, late_payment, intent_id = _paid_but_gone_stale(session_type, day)
        event_id = _payment_succeeded_event(intent_id)
        barrier = threading.Barrier(3)

        def run(step):
            try:
                barrier.wait(timeout=30)
                return step()
            finally:
                connections.close_all()

        booking_locked_by_sweeper.clear()

        def sweep():
            if not sweeper_first:
                time.sleep(0.4)
            return holds.bookings_expire_stale_holds()

        def webhook():
            if sweeper_first:
                # arrive while the sweeper holds the booking and has not yet locked the payment
                assert booking_locked_by_sweeper.wait(timeout=10)
            return webhooks.webhook_event_process(event_id=event_id)

        steps = [
            webhook,
            sweep,
            lambda: cancellation.booking_cancel(booking=confirmed, by=confirmed.client),
        ]
        # when: all three at once (a deadlock would raise DeadlockDetected in one of them)
        with ThreadPoolExecutor(max_workers=3) as pool:
            futures = [pool.submit(run, step) for step in steps]
            outcomes = [future.result(timeout=60) for future in futures]

        # then: the webhook succeeded whatever ran first; each booking ends where it must
        assert outcomes[0] == "succeeded", outcomes
        late.refresh_from_db()
        late_payment.refresh_from_db()
        # paid: confirmed (straight from the hold, or as a late payment once swept)
        assert late.status == BookingStatus.CONFIRMED, (round_number, late.status)
        assert late_payment.status == PaymentStatus.SUCCEEDED
        assert not late.slot_lost_refund
        # swept first, it was expired and its payment cancelled on the way
        swept = late.status_changes.filter(to_status=BookingStatus.EXPIRED).exists()
        assert swept == sweeper_first, (round_number, swept)
        confirmed.refresh_from_db()
        confirmed_payment.refresh_from_db()
        assert confirmed.status == BookingStatus.CANCELLED_BY_CLIENT
        refund = Refund.objects.get(payment=confirmed_payment)
        assert refund.status == RefundStatus.SUCCEEDED and refund.amount == refund.payment.amount
        assert confirmed_payment.status == PaymentStatus.REFUNDED
        assert WebhookEvent.objects.get(pk=event_id).status == "succeeded"
