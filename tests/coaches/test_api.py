"""The public coaches API: list with filters, detail, slots; anonymous reads; clear 4xx."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from coaches.services import search_index, session_types
from tests.coaches.factories import CoachProfileFactory, SessionTypeFactory, weekly_hours

pytestmark = pytest.mark.django_db


@pytest.fixture
def coach():
    coach = CoachProfileFactory(
        time_zone="Europe/Zurich",
        minimum_notice_minutes=0,
        buffer_after_minutes=0,
        bio="Leadership coaching",
        languages=["en"],
        booking_horizon_days=3650,
    )
    weekly_hours(coach, time(9), time(11))
    search_index.coach_search_vectors_refresh(coach_ids=[coach.pk])
    return coach


def test_anonymous_list_and_detail(client, coach):
    session_type = session_types.session_type_create(
        coach=coach, name="Hour", duration_minutes=60, price=9900
    )
    listing = client.get("/api/coaches/?q=leadership").json()
    assert listing["count"] == 1
    result = listing["results"][0]
    assert result["id"] == coach.pk
    assert result["session_types"][0]["id"] == session_type.pk
    assert result["session_types"][0]["price"] == 9900
    detail = client.get(f"/api/coaches/{coach.pk}/").json()
    assert detail["slug"] == coach.slug
    assert detail["time_zone"] == "Europe/Zurich"


def test_slots_endpoint(client, coach):
    session_type = SessionTypeFactory(coach=coach, duration_minutes=60)
    start = datetime(2030, 7, 1, tzinfo=UTC)  # a Monday, summer time in Zurich
    response = client.get(
        f"/api/coaches/{coach.pk}/slots/",
        {
            "session_type": session_type.pk,
            "start": "2030-07-01T00:00:00Z",
            "end": "2030-07-02T00:00:00Z",
        },
    )
    assert response.status_code == 200
    body = response.json()
    # 09:00-11:00 CEST = 07:00-09:00 UTC, hourly sessions every 30 minutes
    assert body["slots"] == ["2030-07-01T07:00:00Z", "2030-07-01T07:30:00Z", "2030-07-01T08:00:00Z"]
    assert body["coach_time_zone"] == "Europe/Zurich"
    assert start.isoformat().replace("+00:00", "Z") == body["start"]


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"session_type": "999"}, 404, "session_type"),
        ({"start": "yesterday"}, 400, "start"),
        ({"start": "2030-07-01T00:00:00"}, 400, "start"),  # no offset
        ({"start": "2030-07-02", "end": "2030-07-01"}, 400, "end"),
        ({"start": "2030-07-01", "end": "2030-12-01"}, 400, "end"),
    ],
)
def test_slots_bad_input_gets_a_clear_error(client, coach, params, status, field):
    session_type = SessionTypeFactory(coach=coach)
    query = {"session_type": session_type.pk, **params}
    response = client.get(f"/api/coaches/{coach.pk}/slots/", query)
    assert response.status_code == status
    assert field in response.json()["error"]["fields"]


def test_list_filters_are_the_pages_filters(client, coach):
    other = CoachProfileFactory(languages=["ja"])
    assert [c["id"] for c in client.get("/api/coaches/?language=ja").json()["results"]] == [
        other.pk
    ]
    assert client.get("/api/coaches/?sort=bogus").status_code == 400
    assert client.get("/api/coaches/?free_within_days=7").status_code == 200
