"""The home page's catalogue (specialisations on offer, featured coaches) is rendered once
per language and catalogue version; every change to what it shows is on the next visit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from bookings.models import BookingStatus
from coaches.models import Specialization
from coaches.services import profiles, reviews, session_types
from tests.bookings.factories import BookingFactory, open_coach

pytestmark = pytest.mark.django_db


def _home(client) -> tuple[str, list[str]]:
    """The home page's main content (the head's CSRF token differs per visit) and its
    queries."""
    with CaptureQueriesContext(connection) as queries:
        html = client.get("/").content.decode()
    return html[html.index('<main id="main"') :], [query["sql"] for query in queries]


def _reads_coaches(queries: list[str]) -> bool:
    return any('FROM "coaches_coachprofile"' in sql for sql in queries)


@pytest.fixture
def coach():
    profile, _ = open_coach()
    profile.user.first_name = "Featured"
    profile.user.last_name = "Person"
    profile.user.save()
    profile.specializations.set(Specialization.objects.filter(slug="career"))
    return profile


def test_the_catalogue_is_read_once_then_served_from_the_cache(client, coach):
    first, first_queries = _home(client)
    second, second_queries = _home(client)
    assert reverse("coaches:profile", args=[coach.slug]) in first
    assert "?specialization=career" in first
    assert first == second
    assert _reads_coaches(first_queries)
    assert not _reads_coaches(second_queries)


def test_each_language_has_its_own_rendering(client, coach):
    english, _ = _home(client)
    with translation.override("de"):
        german, queries = _home(client)
    assert _reads_coaches(queries)
    assert "$120.00" in english
    assert "120,00" in german  # the coach's price in German digits


def test_a_coach_renamed_or_repriced_shows_on_the_next_visit(
    client, coach, django_capture_on_commit_callbacks
):
    _home(client)
    with django_capture_on_commit_callbacks(execute=True):
        coach.user.first_name = "Renamed"
        coach.user.save()
    html, queries = _home(client)
    assert "Renamed Person" in html and _reads_coaches(queries)
    with django_capture_on_commit_callbacks(execute=True):
        session_types.session_type_create(
            coach=coach, name="Short", duration_minutes=30, price=4500
        )
    assert "from $45.00" in _home(client)[0]


def test_a_sign_in_does_not_render_the_catalogue_again(
    client, coach, django_capture_on_commit_callbacks
):
    _home(client)
    with django_capture_on_commit_callbacks(execute=True):
        coach.user.last_login = timezone.now()
        coach.user.save(update_fields=["last_login"])
    assert not _reads_coaches(_home(client)[1])


def test_a_coach_who_can_no_longer_take_charges_leaves_the_catalogue(
    client, coach, django_capture_on_commit_callbacks
):
    assert reverse("coaches:profile", args=[coach.slug]) in _home(client)[0]
    with django_capture_on_commit_callbacks(execute=True):
        profiles.coach_set_charges_enabled(coach=coach.user, enabled=False)
    html = _home(client)[0]
    assert reverse("coaches:profile", args=[coach.slug]) not in html
    assert "?specialization=career" not in html  # no public coach offers it now


def test_specialisations_and_ratings_show_on_the_next_visit(
    client, coach, django_capture_on_commit_callbacks
):
    _home(client)
    with django_capture_on_commit_callbacks(execute=True):
        coach.specializations.add(*Specialization.objects.filter(slug="leadership"))
    assert "?specialization=leadership" in _home(client)[0]
    starts_at = (timezone.now() - timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    booking = BookingFactory(
        coach=coach,
        session_type=coach.session_types.first(),
        status=BookingStatus.COMPLETED,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=1),
    )
    with django_capture_on_commit_callbacks(execute=True):
        reviews.review_create(booking=booking, client=booking.client, rating=4, text="Good")
    assert "★ 4.00 (1 review)" in _home(client)[0]
