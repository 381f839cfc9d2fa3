"""The client's dashboard (``/bookings/``): the join link and the countdown of what is
coming, private notes on past sessions, the coaches to book again, packages' sessions left,
and what was spent in each currency; its query count does not grow with the history."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bookings.models import BookingStatus, SessionNote
from payments.models import PaymentStatus
from tests.bookings.factories import BookingFactory, paid_package
from tests.bookings.test_insights import pay
from tests.coaches.factories import CoachProfileFactory, SessionTypeFactory
from tests.factories import UserFactory


@pytest.fixture
def client_user(db):
    return UserFactory(time_zone="Europe/Paris", first_name="Nina")


def _past(session_type, client_user, days_ago, status=BookingStatus.COMPLETED):
    starts = (timezone.now() - timedelta(days=days_ago)).replace(minute=0, second=0, microsecond=0)
    return BookingFactory(
        session_type=session_type,
        client=client_user,
        starts_at=starts,
        ends_at=starts + timedelta(hours=1),
        status=status,
    )


def test_an_upcoming_session_has_its_join_link_and_how_long_until_it_starts(client, client_user):
    booking = BookingFactory(
        client=client_user,
        starts_at=timezone.now() + timedelta(days=3, minutes=5),
        meeting_url="https://meet.example.test/room-1",
    )
    client.force_login(client_user)
    page = client.get("/bookings/").content.decode()
    assert 'href="https://meet.example.test/room-1"' in page
    assert 'data-testid="starts-in"' in page and "in 3 days" in page
    assert f'id="session-{booking.pk}"' in page


def test_a_clients_notes_on_a_past_session_are_theirs_alone(client, client_user):
    session_type = SessionTypeFactory()
    coach = session_type.coach
    past = _past(session_type, client_user, 5)
    client.force_login(client_user)
    # when the client keeps a note
    response = client.post(f"/bookings/{past.pk}/note/", {"text": "Try the 5-minute plan."})
    assert response.status_code == 302
    # then it is on their dashboard
    assert "Try the 5-minute plan." in client.get("/bookings/").content.decode()
    # and nowhere the coach looks, who cannot write it either
    client.force_login(coach.user)
    assert "5-minute plan" not in client.get(f"/bookings/{past.pk}/").content.decode()
    assert client.post(f"/bookings/{past.pk}/note/", {"text": "mine"}).status_code == 404
    # nor can another client
    client.force_login(UserFactory())
    assert client.post(f"/bookings/{past.pk}/note/", {"text": "mine"}).status_code == 404
    assert SessionNote.objects.get(booking=past).text == "Try the 5-minute plan."
    # an empty note removes it; a note too long is a clear error and changes nothing
    client.force_login(client_user)
    response = client.post(f"/bookings/{past.pk}/note/", {"text": "x" * 5001}, follow=True)
    assert b"at most 5000 characters" in response.content
    assert SessionNote.objects.get(booking=past).text == "Try the 5-minute plan."
    client.post(f"/bookings/{past.pk}/note/", {"text": "  "})
    assert not SessionNote.objects.filter(booking=past).exists()


def test_the_coaches_booked_with_a_book_again_link_and_spending_per_currency(client, client_user):
    berlin = SessionTypeFactory(coach=CoachProfileFactory(), currency="eur", price=9500)
    away = SessionTypeFactory(coach=CoachProfileFactory(can_take_charges=False))
    first = _past(berlin, client_user, 40)
    _past(berlin, client_user, 10)
    _past(away, client_user, 20)
    pay(berlin.coach, client_user, 9500, 1425, "eur", first.starts_at, booking=first)
    pay(
        berlin.coach,
        client_user,
        9500,
        1425,
        "eur",
        first.starts_at,
        status=PaymentStatus.PARTIALLY_REFUNDED,
        refunded_amount=4750,
    )
    pay(away.coach, client_user, 12000, 1800, "usd", first.starts_at)
    pay(away.coach, client_user, 12000, 1800, "usd", None, status=PaymentStatus.FAILED)
    client.force_login(client_user)
    page = client.get("/bookings/").content.decode()
    assert f'href="/coaches/{berlin.coach.slug}/">Book again' in page
    assert "Not taking bookings at the moment." in page
    assert "2 sessions" in page
    # euros: 95 + 95 - 47.50 refunded; dollars: the failed payment is not spending
    assert "€142.50" in page and "$120.00" in page
    assert "$240.00" not in page


def test_a_packages_sessions_left(client, client_user):
    session_type = SessionTypeFactory()
    package = paid_package(client=client_user, session_type=session_type, sessions=5)
    for days in (3, 6):
        booking = _past(session_type, client_user, days)
        booking.package_purchase = package
        booking.save()
    client.force_login(client_user)
    page = client.get("/bookings/").content.decode()
    assert "<strong>3</strong> of 5 sessions left" in page


def test_the_dashboard_reads_the_same_number_of_queries_whatever_the_history(client, client_user):
    client.force_login(client_user)

    def grow(count: int) -> None:
        for index in range(count):
            session_type = SessionTypeFactory(currency="eur" if index % 2 else "usd")
            booking = _past(session_type, client_user, 3 + index)
            SessionNote.objects.create(booking=booking, text=f"note {index}")
            pay(
                session_type.coach, client_user, 9000, 900, session_type.currency, booking.starts_at
            )
            BookingFactory(session_type=session_type, client=client_user)
            paid_package(client=client_user, session_type=session_type, sessions=3)

    grow(1)
    # the navigation's unread-message badge is cached after the first page: read it once
    assert client.get("/bookings/").status_code == 200
    with CaptureQueriesContext(connection) as few:
        assert client.get("/bookings/").status_code == 200
    grow(6)
    with CaptureQueriesContext(connection) as many:
        assert client.get("/bookings/").status_code == 200
    assert len(many) == len(few), [query["sql"][:120] for query in many.captured_queries]
