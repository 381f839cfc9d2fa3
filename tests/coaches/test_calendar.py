"""The booking calendar on a coach's profile: every free slot of a week, in the visitor's
zone from the first paint, week by week up to the coach's booking horizon."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from coaches import selectors
from coaches.services import search_index
from tests.bookings.factories import open_coach
from tests.coaches.factories import weekly_hours

pytestmark = pytest.mark.django_db


@pytest.fixture
def berlin_coach():
    """A Berlin coach working 09:00-18:00 every day, hour-long sessions, 30 days ahead."""
    coach, session_type = open_coach(time_zone="Europe/Berlin")
    coach.availability_rules.all().delete()
    weekly_hours(coach, time(9), time(18))
    coach.booking_horizon_days = 30
    coach.minimum_notice_minutes = 0
    coach.save()
    return coach, session_type


def starts(html: str) -> list[datetime]:
    return [
        datetime.fromisoformat(value.replace("Z", "+00:00"))
        for value in re.findall(r'<a class="slot"[^>]*data-start="([^"]+)"', html)
    ]


def test_a_week_shows_every_free_slot_in_the_visitors_zone(client, berlin_coach):
    coach, _ = berlin_coach
    url = reverse("coaches:profile", args=[coach.slug])
    next_week = (timezone.now() + timedelta(days=7)).date().isoformat()
    client.cookies["tz"] = "America/New_York"
    html = client.get(url, {"week": next_week}).content.decode()

    # every slot of every day: 09:00-17:00 Berlin starts, half-hourly, 17 a day, 7 days
    slots = starts(html)
    assert len(slots) == 7 * 17
    assert 'data-zone="America/New_York"' in html
    # drawn in New York's clock: Berlin's 09:00 is 03:00 there, its 17:00 start 11:00
    new_york = ZoneInfo("America/New_York")
    assert {slot.astimezone(new_york).time() for slot in slots} >= {time(3), time(11)}
    assert "<h4>Morning</h4>" in html
    # grouped by the New York hour: 12:00 and later would be the afternoon; none here
    assert 'data-part="afternoon"' not in html


def test_weeks_move_forward_until_the_booking_horizon(client, berlin_coach):
    coach, session_type = berlin_coach
    url = reverse("coaches:profile", args=[coach.slug])
    client.cookies["tz"] = "Europe/Berlin"
    html = client.get(url).content.decode()
    assert 'data-testid="next-week"' in html
    assert 'rel="prev"' not in html  # no going back before this week
    # the last week holds the horizon's last day and offers no next week
    week = selectors.coach_slot_week(
        coach=coach,
        session_type=session_type,
        zone="Europe/Berlin",
        week_of=(timezone.now() + timedelta(days=400)).date(),
    )
    assert week.next_week is None
    assert week.start <= week.last_bookable_day <= week.end
    horizon = timezone.now() + timedelta(days=coach.booking_horizon_days)
    assert all(slot <= horizon for day in week.days for _, _, part in day.parts for slot in part)
    html = client.get(url, {"week": week.start.isoformat()}).content.decode()
    assert 'data-testid="next-week"' not in html and 'rel="prev"' in html


def test_search_links_to_the_searched_day_which_the_calendar_selects(client, berlin_coach):
    coach, _ = berlin_coach
    day = (timezone.now() + timedelta(days=9)).astimezone(UTC).date()
    client.cookies["tz"] = "Europe/Berlin"
    html = client.get(reverse("coaches:profile", args=[coach.slug]), {"day": day}).content.decode()
    assert f'is-selected" aria-labelledby="day-{day:%Y%m%d}"' in html
    search_index.availability_index_refresh(coach_ids=[coach.pk])
    results = client.get(
        reverse("coaches:search"),
        {"day": day.isoformat(), "from_time": "10:00", "tz": "Europe/Berlin"},
    ).content.decode()
    assert f"?day={day.isoformat()}&amp;tz=Europe%2FBerlin" in results


def test_a_first_visit_without_a_zone_draws_no_time_until_the_browser_says(client, berlin_coach):
    coach, _ = berlin_coach
    url = reverse("coaches:profile", args=[coach.slug])
    # no cookie, no account: the page waits for the browser's zone instead of drawing UTC
    first = client.get(url).content.decode()
    assert 'data-testid="calendar-pending"' in first
    assert starts(first) == []
    # the calendar it then fetches carries the cookie the head script has set
    client.cookies["tz"] = "Asia/Tokyo"
    fragment = client.get(reverse("coaches:profile_slots", args=[coach.slug])).content.decode()
    assert 'data-zone="Asia/Tokyo"' in fragment and starts(fragment)
    # a signed-in client's own zone is known at once
    from tests.factories import UserFactory

    del client.cookies["tz"]
    client.force_login(UserFactory(time_zone="America/Chicago"))
    assert 'data-zone="America/Chicago"' in client.get(url).content.decode()
