"""The slot selectors against the real database: bookings, holds, buffers, exceptions."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from bookings.models import BookingStatus
from coaches.models import ExtraHours, TimeOff
from coaches.selectors import available_slots, nearest_free_slots, slot_is_available
from tests.bookings.factories import BookingFactory
from tests.coaches.factories import CoachProfileFactory, SessionTypeFactory, weekly_hours

pytestmark = pytest.mark.django_db

# A Monday, well ahead of any real "now" the bookings selector uses for hold expiry.
DAY = date(2030, 6, 3)
NOW = datetime(2030, 6, 1, tzinfo=UTC)


@pytest.fixture
def coach():
    coach = CoachProfileFactory(
        time_zone="UTC",
        buffer_before_minutes=0,
        buffer_after_minutes=0,
        minimum_notice_minutes=0,
        booking_horizon_days=3650,
    )
    weekly_hours(coach, time(9), time(12))
    return coach


@pytest.fixture
def hour(coach):
    return SessionTypeFactory(coach=coach, duration_minutes=60)


def at(hours: int, minutes: int = 0, day: date = DAY) -> datetime:
    return datetime.combine(day, time(hours, minutes), tzinfo=UTC)


def day_slots(coach, session_type, day: date = DAY) -> list[datetime]:
    return available_slots(
        coach=coach,
        session_type=session_type,
        start=at(0, day=day),
        end=at(0, day=day) + timedelta(days=1),
        now=NOW,
    )


def test_slots_fill_the_rules_of_the_day(coach, hour):
    assert day_slots(coach, hour) == [at(9), at(9, 30), at(10), at(10, 30), at(11)]


def test_a_confirmed_booking_and_its_buffers_take_time(coach, hour):
    coach.buffer_before_minutes = 15
    coach.buffer_after_minutes = 30
    coach.save()
    BookingFactory(session_type=hour, starts_at=at(10), ends_at=at(11))
    # 09:00 would end at 10:00, inside the 15-minute buffer before; 11:00 starts inside
    # the 30-minute buffer after.
    assert day_slots(coach, hour) == []
    coach.buffer_before_minutes = 0
    coach.buffer_after_minutes = 0
    coach.save()
    assert day_slots(coach, hour) == [at(9), at(11)]


def test_a_live_hold_counts_as_taken_an_expired_hold_and_a_cancellation_do_not(coach, hour):
    BookingFactory(
        session_type=hour,
        starts_at=at(9),
        ends_at=at(10),
        status=BookingStatus.HELD,
        hold_expires_at=datetime.now(UTC) + timedelta(minutes=20),
    )
    BookingFactory(
        session_type=hour,
        starts_at=at(10),
        ends_at=at(11),
        status=BookingStatus.HELD,
        hold_expires_at=datetime.now(UTC) - timedelta(minutes=1),
    )
    BookingFactory(
        session_type=hour,
        starts_at=at(11),
        ends_at=at(12),
        status=BookingStatus.CANCELLED_BY_CLIENT,
    )
    assert day_slots(coach, hour) == [at(10), at(10, 30), at(11)]


def test_time_off_and_extra_hours(coach, hour):
    TimeOff.objects.create(coach=coach, starts_at=at(9, 30), ends_at=at(10, 15))
    ExtraHours.objects.create(coach=coach, date=DAY, start_time=time(18), end_time=time(19))
    assert day_slots(coach, hour) == [at(10, 30), at(11), at(18)]


def test_daily_limit_closes_the_day(coach, hour):
    coach.max_sessions_per_day = 1
    coach.save()
    BookingFactory(session_type=hour, starts_at=at(9), ends_at=at(10))
    assert day_slots(coach, hour) == []
    assert day_slots(coach, hour, DAY + timedelta(days=1))


def test_notice_and_horizon(coach, hour):
    coach.minimum_notice_minutes = 60
    coach.booking_horizon_days = 3
    coach.save()
    now = at(9, 45)
    slots = available_slots(
        coach=coach, session_type=hour, start=at(0), end=at(0) + timedelta(days=10), now=now
    )
    assert slots[0] == at(11)
    assert max(slots) < now + timedelta(days=3)


def test_an_inactive_or_foreign_session_type_has_no_slots(coach, hour):
    foreign = SessionTypeFactory()
    assert day_slots(coach, foreign) == []
    hour.is_active = False
    hour.save()
    assert day_slots(coach, hour) == []


def test_slot_is_available(coach, hour):
    BookingFactory(session_type=hour, starts_at=at(10), ends_at=at(11))
    assert slot_is_available(coach=coach, session_type=hour, starts_at=at(9), now=NOW)
    assert not slot_is_available(coach=coach, session_type=hour, starts_at=at(10), now=NOW)
    assert not slot_is_available(coach=coach, session_type=hour, starts_at=at(9, 15), now=NOW)
    assert not slot_is_available(coach=coach, session_type=hour, starts_at=at(13), now=NOW)


def test_nearest_free_slots(coach, hour):
    BookingFactory(session_type=hour, starts_at=at(10), ends_at=at(11))
    nearest = nearest_free_slots(coach=coach, session_type=hour, around=at(10), count=3, now=NOW)
    # two slots one hour away, then the previous day's last one (23 hours away, tied with
    # the next day's first, the earlier wins)
    assert nearest == [at(11, day=DAY - timedelta(days=1)), at(9), at(11)]


def test_zurich_coach_on_the_spring_forward_sunday(hour, coach):
    coach.time_zone = "Europe/Zurich"
    coach.save()
    sunday = date(2030, 3, 31)
    slots = available_slots(
        coach=coach,
        session_type=hour,
        start=at(0, day=sunday) - timedelta(hours=2),
        end=at(0, day=sunday) + timedelta(days=1),
        now=datetime(2030, 1, 1, tzinfo=UTC),
    )
    # 09:00 CEST is 07:00 UTC on that Sunday; the day before, 09:00 CET was 08:00 UTC.
    assert slots[0] == at(7, day=sunday)
