"""Coaches reads bookings through the reader bookings registers, at no extra query."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured

from bookings import selectors as bookings_selectors
from coaches import providers
from coaches.selectors import coach_calendars
from tests.bookings.factories import BookingFactory
from tests.coaches.factories import CoachProfileFactory, SessionTypeFactory, weekly_hours


def test_bookings_registers_its_selectors_as_the_booking_reader():
    assert providers.booking_reader() is bookings_selectors


def test_without_a_registered_reader_coaches_says_what_is_missing(monkeypatch):
    monkeypatch.setattr(providers, "_reader", None)
    with pytest.raises(ImproperlyConfigured, match=r"BookingsConfig\.ready\(\)"):
        providers.booking_reader()


@pytest.mark.django_db
def test_calendars_of_several_coaches_read_their_bookings_in_one_query(
    django_assert_num_queries,
):
    # given: three coaches with weekly hours, one with a confirmed booking
    start = datetime(2030, 6, 3, tzinfo=UTC)
    coaches = [CoachProfileFactory(time_zone="UTC") for _ in range(3)]
    for coach in coaches:
        weekly_hours(coach, time(9), time(12))
    session_type = SessionTypeFactory(coach=coaches[0], duration_minutes=60)
    BookingFactory(
        session_type=session_type,
        starts_at=start + timedelta(hours=10),
        ends_at=start + timedelta(hours=11),
    )

    # when: their calendars are read (rules and exceptions, then live bookings)
    with django_assert_num_queries(2):
        calendars = coach_calendars(coaches=coaches, start=start, end=start + timedelta(days=1))

    # then
    assert calendars[coaches[0].pk].busy == [
        (start + timedelta(hours=10), start + timedelta(hours=11))
    ]
    assert calendars[coaches[1].pk].busy == []
