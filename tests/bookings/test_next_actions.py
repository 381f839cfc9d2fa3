"""What a booking offers next: a held time's way to pay or to be released, a cancellation
that shows its exact refund first and states it after, the thank-you page's session and
calendar links, the reschedule page's calendar."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from bookings.models import BookingStatus, CancellationPolicy
from bookings.services import cancellation, holds
from marketplace.errors import InvalidTransition, NotAllowed
from payments import gateway
from payments.models import PaymentStatus
from tests.bookings.services import test_cancellation
from tests.bookings.services.test_checkout import book
from tests.factories import UserFactory

confirmed = test_cancellation.confirmed  # a paid, confirmed booking three days ahead


@pytest.fixture
def held(paid_coach, sandbox, django_capture_on_commit_callbacks):
    _coach, session_type = paid_coach
    with django_capture_on_commit_callbacks(execute=True):
        booking, payment = book(UserFactory(), session_type)
    return booking, payment


def test_a_held_booking_links_to_payment_and_can_be_released(
    client, held, sandbox, django_capture_on_commit_callbacks
):
    booking, payment = held
    client.force_login(booking.client)

    # given: the held booking's page and My sessions offer both next actions
    for url in (reverse("bookings:detail", args=[booking.pk]), reverse("bookings:my_sessions")):
        html = client.get(url).content.decode()
        assert reverse("bookings:pay", args=[booking.pk]) in html
        assert "Continue to payment" in html
        assert reverse("bookings:release", args=[booking.pk]) in html
        assert "minutes left" in html
    pay_page = client.get(reverse("bookings:pay", args=[booking.pk])).content.decode()
    assert payment.checkout_url in pay_page

    # when: the client releases it
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("bookings:release", args=[booking.pk]))
    assert response.status_code == 302

    # then: the hold ended, its payment and Checkout Session are cancelled, the slot is free
    booking.refresh_from_db()
    payment.refresh_from_db()
    assert booking.status == BookingStatus.EXPIRED
    assert payment.status == PaymentStatus.CANCELLED
    session = gateway.checkout_session_retrieve(payment.stripe_checkout_session_id)
    assert session.status == "expired"
    again, _ = book(UserFactory(), booking.session_type, starts_at=booking.starts_at)
    assert again.status == BookingStatus.HELD
    # and a second release is refused with a clear message
    with pytest.raises(InvalidTransition):
        holds.booking_release(booking=booking, by=booking.client)


def test_only_the_holding_client_can_release(held):
    booking, _payment = held
    with pytest.raises(NotAllowed):
        holds.booking_release(booking=booking, by=booking.coach.user)


@pytest.mark.parametrize(
    ("hours_before", "expected"),
    [(72, 12000), (10, 6000), (-0.5, 0)],
    ids=["free window", "late", "after the start"],
)
def test_the_cancel_page_shows_the_refund_the_cancellation_then_makes(
    client,
    confirmed,
    sandbox,
    django_capture_on_commit_callbacks,
    hours_before,
    expected,
):
    # given: a 50% late refund policy and "now" at some distance from the start
    booking, payment = confirmed
    CancellationPolicy.objects.update_or_create(
        coach=booking.coach,
        defaults={"free_cancellation_hours": 24, "late_cancellation_refund_percent": 50},
    )
    now = booking.starts_at - timedelta(hours=hours_before)
    preview = cancellation.cancellation_preview(booking=booking, by=booking.client, now=now)
    assert preview.amount == expected

    # when: cancelled at that moment
    with django_capture_on_commit_callbacks(execute=True):
        cancellation.booking_cancel(booking=booking, by=booking.client, now=now)
        sandbox.deliver_pending_events()

    # then: the refund is exactly what the preview said
    assert sum(refund.amount for refund in payment.refunds.all()) == expected


def test_cancelling_asks_first_and_the_booking_states_the_refund_after(
    client,
    confirmed,
    sandbox,
    django_capture_on_commit_callbacks,
):
    booking, _payment = confirmed
    client.force_login(booking.client)
    detail = client.get(reverse("bookings:detail", args=[booking.pk])).content.decode()
    # the booking's page links to a confirmation, it does not cancel in one click
    assert f'action="{reverse("bookings:cancel", args=[booking.pk])}"' not in detail
    confirm = client.get(reverse("bookings:cancel", args=[booking.pk]))
    html = confirm.content.decode()
    assert "You get <span" in html and "$120.00</span> back" in html
    assert "Yes, cancel the session" in html
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED  # looking is not cancelling

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("bookings:cancel", args=[booking.pk]), {"reason": "Ill"})
        sandbox.deliver_pending_events()
    after = client.get(reverse("bookings:detail", args=[booking.pk])).content.decode()
    assert 'data-testid="refund-after"' in after
    assert "$120.00 back to the card" in after


def test_the_thank_you_page_shows_the_session_in_both_zones_and_calendar_links(
    client,
    confirmed,
):
    booking, _payment = confirmed
    client.force_login(booking.client)
    html = client.get(reverse("bookings:paid", args=[booking.pk])).content.decode()
    assert "(Europe/Zurich)" in html  # the client's zone
    assert f"({booking.coach.time_zone})" in html
    assert reverse("bookings:ics", args=[booking.pk]) in html
    assert "calendar.google.com" in html
    ics = client.get(reverse("bookings:ics", args=[booking.pk]))
    assert ics["Content-Type"].startswith("text/calendar")
    assert b"BEGIN:VEVENT" in ics.content
    # only the booking's people get its calendar file
    client.force_login(UserFactory())
    assert client.get(reverse("bookings:ics", args=[booking.pk])).status_code == 404


def test_the_reschedule_page_is_a_week_calendar_in_the_clients_zone(
    client,
    confirmed,
):
    booking, _payment = confirmed
    client.force_login(booking.client)
    url = reverse("bookings:reschedule", args=[booking.pk])
    html = client.get(url).content.decode()
    assert 'data-zone="Europe/Zurich"' in html
    assert html.count('data-testid="calendar-day"') == 7
    assert 'name="starts_at"' in html
    assert 'data-part="morning"' in html and 'data-part="evening"' in html
    # the coach's horizon bounds the weeks one can move to
    later = (timezone.now() + timedelta(days=200)).date().isoformat()
    last = client.get(url, {"week": later}).content.decode()
    assert 'data-testid="next-week"' not in last


def test_the_booking_keeps_the_zone_the_slot_was_picked_in(client, paid_coach):
    # given: a client whose browser is elsewhere than their account says
    _coach, session_type = paid_coach
    visitor = UserFactory(time_zone="Europe/London")
    client.force_login(visitor)
    start = (timezone.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    html = client.get(
        reverse("bookings:new"),
        {"session_type": session_type.pk, "start": start.isoformat(), "tz": "Europe/London"},
    ).content.decode()
    # then: the topic step shows and keeps that zone, not whatever the browser reports
    assert 'name="client_time_zone" value="Europe/London"' in html
    assert "(Europe/London)" in html
