"""The plans API: a coach's plans (bad terms a 400 naming the field, nothing stored),
subscribing (the Checkout URL), the client's subscriptions and their changes, booking with
a credit, and only one's own."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from rest_framework.test import APIClient

from bookings.models import Booking, BookingStatus, CoachingPlan
from tests.bookings import plan_setup
from tests.bookings.conftest import stripe_coach
from tests.bookings.plan_setup import DAY, START, plan_of
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _in_days(days: int) -> str:
    moment = datetime.fromtimestamp(START + days * DAY, tz=UTC).replace(hour=10)
    return moment.isoformat()


def _api(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def test_a_coach_lists_and_creates_plans(paid_coach):
    coach, session_type = paid_coach
    api = _api(coach.user)

    created = api.post(
        "/api/plans/",
        {
            "name": "Two a week",
            "session_type": session_type.pk,
            "sessions_per_period": 2,
            "interval": "week",
            "price": 15000,
        },
        format="json",
    )

    assert created.status_code == 201, created.json()
    assert created.json()["sessions_per_period"] == 2
    listed = api.get("/api/plans/").json()
    assert [plan["name"] for plan in listed["results"]] == ["Two a week"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("sessions_per_period", 0, "1 to 31"),
        ("sessions_per_period", 40, "1 to 31"),
        ("price", 10, "at least"),
        ("price", 100_000_000, "at most"),
        ("rollover_cap", -1, "below 0"),
    ],
)
def test_bad_plan_terms_are_a_400_naming_the_field(paid_coach, field, value, message):
    coach, session_type = paid_coach
    body = {
        "name": "Plan",
        "session_type": session_type.pk,
        "sessions_per_period": 4,
        "interval": "month",
        "price": 40000,
        "rollover": True,
        field: value,
    }

    response = _api(coach.user).post("/api/plans/", body, format="json")

    assert response.status_code == 400
    assert message in str(response.json()["error"]["fields"][field])
    assert not CoachingPlan.objects.exists()


def test_a_client_has_no_plans_to_manage(paid_coach):
    assert _api(UserFactory()).get("/api/plans/").status_code == 403


def test_subscribe_returns_the_checkout_url_and_twice_is_a_conflict(
    paid_coach, django_capture_on_commit_callbacks
):
    coach, session_type = paid_coach
    plan = plan_of(coach, session_type)
    user, _clock = plan_setup.clock_client()
    api = _api(user)

    with django_capture_on_commit_callbacks(execute=True):
        first = api.post(f"/api/plans/{plan.pk}/subscribe/", {}, format="json")

    assert first.status_code == 201
    assert first.json()["checkout_url"].startswith("http")
    assert first.json()["status"] == "pending"
    own = _api(coach.user).post(f"/api/plans/{plan.pk}/subscribe/", {}, format="json")
    assert own.status_code == 400
    assert own.json()["error"]["code"] == "own_plan"


def test_the_client_manages_their_subscription_and_books_with_it(
    paid_coach, django_capture_on_commit_callbacks
):
    # given
    coach, session_type = paid_coach
    plan = plan_of(coach, session_type)
    with django_capture_on_commit_callbacks(execute=True):
        other_coach, other_type = stripe_coach()
    other_plan = plan_of(other_coach, other_type)
    user, _clock = plan_setup.clock_client()
    plan_subscription = plan_setup.subscribe_and_pay(user, plan, django_capture_on_commit_callbacks)
    api = _api(user)

    # when / then
    [listed] = api.get("/api/subscriptions/").json()
    assert listed["status"] == "active"
    assert listed["credits_left"] == 4
    cancelled = api.post(f"/api/subscriptions/{plan_subscription.pk}/cancel/")
    assert cancelled.status_code == 200
    assert cancelled.json()["cancel_at_period_end"] is True
    resumed = api.post(f"/api/subscriptions/{plan_subscription.pk}/resume/")
    assert resumed.json()["cancel_at_period_end"] is False
    switch = api.post(
        f"/api/subscriptions/{plan_subscription.pk}/change/",
        {"plan": other_plan.pk},
        format="json",
    )
    assert switch.status_code == 400
    assert switch.json()["error"]["code"] == "plan_other_coach"
    stranger = _api(UserFactory()).post(f"/api/subscriptions/{plan_subscription.pk}/cancel/")
    assert stranger.status_code == 404

    booked = api.post(
        "/api/bookings/",
        {
            "session_type": session_type.pk,
            "starts_at": _in_days(3),
            "plan_subscription": plan_subscription.pk,
        },
        format="json",
    )
    assert booked.status_code == 201, booked.json()
    booking = Booking.objects.get(pk=booked.json()["id"])
    assert booking.status == BookingStatus.CONFIRMED
    assert booking.plan_credit is not None
    assert api.get("/api/subscriptions/").json()[0]["credits_left"] == 3
