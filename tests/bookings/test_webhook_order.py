"""Stripe's events arrive at least once and in any order: every order of the three events
that say "paid", each delivered twice, gives one confirmation and one pair of e-mails."""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core import mail
from django.db import connections

from bookings.models import BookingStatus
from payments.models import WebhookEvent
from payments.sandbox import controls
from tests.bookings.conftest import stripe_coach
from tests.bookings.services.test_checkout import book
from tests.factories import UserFactory

PAID_EVENTS = ("checkout.session.completed", "payment_intent.succeeded", "charge.succeeded")


def _paid_with_events_held_back(session_type, sandbox):
    booking, payment = book(UserFactory(), session_type)
    sandbox.pause_deliveries()
    sandbox.pay_checkout_session(payment.stripe_checkout_session_id)
    by_type = {}
    for event in sandbox.pending_events():
        if event["type"] in PAID_EVENTS:
            by_type[event["type"]] = event["id"]
    assert set(by_type) == set(PAID_EVENTS)
    return booking, payment, by_type


def _confirmation_mails(booking):
    return [
        m
        for m in mail.outbox
        if m.subject.startswith("[Coach Connect] Confirmed")
        and m.to[0] in (booking.client.email, booking.coach.user.email)
    ]


@pytest.mark.parametrize(
    "order",
    list(itertools.permutations(PAID_EVENTS)),
    ids=lambda order: ">".join(name.split(".")[-1] for name in order),
)
def test_every_order_with_duplicates_confirms_once(
    order, paid_coach, sandbox, django_capture_on_commit_callbacks
):
    # given: paid, with Stripe's events not yet delivered
    _coach, session_type = paid_coach
    with django_capture_on_commit_callbacks(execute=True):
        booking, payment, by_type = _paid_with_events_held_back(session_type, sandbox)
    mail.outbox.clear()
    ids = [by_type[name] for name in order]
    # when: delivered in this order, then each again (duplicates), then everything else
    with django_capture_on_commit_callbacks(execute=True):
        statuses = sandbox.deliver_pending_events(order=[*ids, *reversed(ids), ids[0]])
        sandbox.deliver_pending_events()
    # then
    assert all(200 <= status < 300 for status in statuses)
    booking.refresh_from_db()
    payment.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    assert booking.status_changes.filter(to_status=BookingStatus.CONFIRMED).count() == 1
    assert payment.status == "succeeded"
    assert len(_confirmation_mails(booking)) == 2
    assert WebhookEvent.objects.filter(stripe_event_id__in=ids, status="succeeded").count() == 3


@pytest.mark.django_db(transaction=True)
def test_the_three_events_processed_at_the_same_moment_confirm_once(settings):
    # given
    settings.SITE_URL = "http://testserver"
    controls.reset()
    controls.register_default_endpoints("http://testserver")
    _coach, session_type = stripe_coach()
    booking, _payment, by_type = _paid_with_events_held_back(session_type, controls)
    mail.outbox.clear()
    barrier = threading.Barrier(6)

    def deliver(event_id: str) -> list[int]:
        try:
            barrier.wait(timeout=30)
            return controls.deliver_pending_events(order=[event_id])
        finally:
            connections.close_all()

    # when: each event twice, six threads at once
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(deliver, [*by_type.values(), *by_type.values()]))

    # then
    assert all(200 <= status < 300 for statuses in results for status in statuses), results
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    assert booking.status_changes.filter(to_status=BookingStatus.CONFIRMED).count() == 1
    assert len(_confirmation_mails(booking)) == 2
