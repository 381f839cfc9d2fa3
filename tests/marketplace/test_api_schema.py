"""The OpenAPI schema at /api/schema/ matches what the API answers.

Schemathesis loads the schema from the app and sends every operation generated requests,
valid and invalid, through Django's WSGI handler in this process, on the test's database.
Each request goes out twice, as a client and as a coach (token authentication). Every
response must have a documented status code and content type and a body that matches its
schema, and none may be a server error.

Path and body ids are drawn from the rows made here most of the time (and at random
otherwise), so success bodies are checked as well as the 404s. The run is bounded
(``MAX_EXAMPLES`` per operation, a fixed seed that ``API_SCHEMA_SEED`` changes) so it stays
well under two minutes and repeats itself; each user stays under the API's 600 requests a
minute, so throttling does not hide the answers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bookings.models import BookingStatus
from payments.sandbox import controls
from tests.bookings.conftest import stripe_coach
from tests.bookings.factories import BookingFactory, next_hour
from tests.factories import UserFactory
from tests.messaging.factories import ThreadFactory, add_message

MAX_EXAMPLES = 15
SEED = int(os.environ.get("API_SCHEMA_SEED", "20261201"))
# How often a path or body id is one of the rows made for the run rather than a random one.
KNOWN_ID = 0.75
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass
class People:
    client_token: str
    coach_token: str
    coach_user_id: int
    coach_profile_id: int
    session_type_id: int
    booking_id: int
    bookings_to_cancel: list[int]
    bookings_to_move: list[int]
    thread_id: int
    free_starts: list[str]
    move_starts: list[str]


@pytest.fixture
def people(db, settings) -> People:
    """A client and a coach with an active account on the local Stripe, who share
    confirmed bookings (to read, to cancel, to move) and a conversation."""
    settings.SITE_URL = "http://testserver"
    controls.reset()
    controls.register_default_endpoints("http://testserver")
    coach, session_type = stripe_coach()
    client = UserFactory()

    def confirmed(hours: int) -> int:
        booking = BookingFactory(
            session_type=session_type,
            client=client,
            status=BookingStatus.CONFIRMED,
            starts_at=next_hour(days=2) + timedelta(hours=hours),
        )
        return booking.pk

    def free(days: int) -> list[str]:
        return [(next_hour(days=days) + timedelta(hours=hours)).isoformat() for hours in range(3)]

    thread = ThreadFactory(client=client, coach=coach.user)
    add_message(thread, coach.user, "Welcome")
    return People(
        client_token=Token.objects.create(user=client).key,
        coach_token=Token.objects.create(user=coach.user).key,
        coach_user_id=coach.user.pk,
        coach_profile_id=coach.pk,
        session_type_id=session_type.pk,
        booking_id=confirmed(0),
        bookings_to_cancel=[confirmed(2), confirmed(4)],
        bookings_to_move=[confirmed(6), confirmed(8)],
        thread_id=thread.pk,
        # the coach is open around the clock: these hours are free to hold, or to move to
        free_starts=free(days=4),
        move_starts=free(days=5),
    )


@pytest.fixture
def django_app(db) -> Iterator[WSGIHandler]:
    """Django's WSGI handler on the test's database connection: as in Django's test client,
    the connection is not closed at the end of each request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def known(dictionary: str) -> dict:
    return {"dictionary": dictionary, "probability": KNOWN_ID}


@pytest.fixture
def api_schema(django_app, people: People):
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {"max-examples": MAX_EXAMPLES},
            "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
            "dictionaries": {
                "booking": {"values": [people.booking_id]},
                "booking_to_cancel": {"values": people.bookings_to_cancel},
                "booking_to_move": {"values": people.bookings_to_move},
                "coach_profile": {"values": [people.coach_profile_id]},
                "coach_user": {"values": [people.coach_user_id]},
                "session_type": {"values": [people.session_type_id]},
                "thread": {"values": [people.thread_id]},
                "free_start": {"values": people.free_starts},
                "move_start": {"values": people.move_starts},
            },
            # one entry per path (the first entry that matches an operation decides)
            "operations": [
                {
                    "include-path-regex": r"^/api/bookings/$",
                    "parameters": {
                        "body.session_type": known("session_type"),
                        "body.starts_at": known("free_start"),
                    },
                },
                {
                    "include-path-regex": r"^/api/bookings/\{id\}/$",
                    "parameters": {"path.id": known("booking")},
                },
                {
                    "include-path-regex": r"^/api/bookings/\{id\}/cancel/$",
                    "parameters": {"path.id": known("booking_to_cancel")},
                },
                {
                    "include-path-regex": r"^/api/bookings/\{id\}/reschedule/$",
                    "parameters": {
                        "path.id": known("booking_to_move"),
                        "body.starts_at": known("move_start"),
                    },
                },
                {
                    "include-path-regex": r"^/api/coaches/\{id\}/",
                    "parameters": {
                        "path.id": known("coach_profile"),
                        "query.session_type": known("session_type"),
                    },
                },
                {
                    "include-path-regex": r"^/api/messages/threads/$",
                    "parameters": {
                        "body.coach": known("coach_user"),
                        "body.booking": known("booking"),
                    },
                },
                {
                    "include-path-regex": r"^/api/messages/threads/\{thread_id\}/",
                    "parameters": {"path.thread_id": known("thread")},
                },
            ],
        }
    )
    return schemathesis.openapi.from_wsgi("/api/schema/?format=json", django_app, config=config)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@hypothesis_settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_every_operation_answers_as_its_schema_says(case, people):
    for token in (people.client_token, people.coach_token):
        response = case.call(headers={"Authorization": f"Token {token}"})
        case.validate_response(response, checks=CHECKS)


# --- what the schema says, read directly ---------------------------------------------------


@pytest.fixture
def openapi(client) -> dict:
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def success_schema(openapi: dict, path: str, method: str = "get") -> dict:
    reference = openapi["paths"][path][method]["responses"]["200"]["content"]["application/json"]
    name = reference["schema"]["$ref"].rsplit("/", 1)[-1]
    return openapi["components"]["schemas"][name]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "item"), [("/api/coaches/", "CoachOutput"), ("/api/messages/threads/", "ThreadOutput")]
)
def test_paginated_lists_are_documented_as_pages(openapi, path, item):
    page = success_schema(openapi, path)
    assert page["type"] == "object"
    assert {"count", "results"} <= set(page["required"])
    assert page["properties"]["results"]["items"]["$ref"].endswith(f"/{item}")
    names = [parameter["name"] for parameter in openapi["paths"][path]["get"]["parameters"]]
    assert "page" in names
    assert sorted(names) == sorted(set(names))  # the paginator's parameters are not doubled


@pytest.mark.django_db
def test_every_error_response_has_the_error_body(openapi):
    error = openapi["components"]["schemas"]["ErrorOutput"]
    assert error["properties"]["error"]["$ref"].endswith("/ErrorDetailOutput")
    assert set(openapi["components"]["schemas"]["ErrorDetailOutput"]["required"]) == {
        "code",
        "message",
        "fields",
    }
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            # every operation authenticates and is throttled
            assert {"403", "429"} <= set(responses), (method, path)
            if "requestBody" in operation:
                assert {"400", "413", "415"} <= set(responses), (method, path)
            if "{" in path:
                assert "404" in responses, (method, path)
            for status, response in responses.items():
                if status >= "400":
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorOutput"}, (path, status)
                    assert response["description"], (path, status)


@pytest.mark.django_db
def test_operations_that_reach_stripe_document_its_failures(openapi):
    assert {"409", "502", "503"} <= set(openapi["paths"]["/api/bookings/"]["post"]["responses"])
    for path in ("/api/connect/balance", "/api/connect/payouts", "/api/connect/login-link"):
        assert "502" in openapi["paths"][path]["get"]["responses"], path


@pytest.mark.django_db
def test_a_message_file_is_a_multipart_part(openapi):
    body = openapi["paths"]["/api/messages/threads/{thread_id}/messages/"]["post"]["requestBody"]
    multipart = body["content"]["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[-1]
    json_body = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    schemas = openapi["components"]["schemas"]
    assert schemas[multipart]["properties"]["attachment"] == {"type": "string", "format": "binary"}
    assert "attachment" not in schemas[json_body]["properties"]


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post"])
def test_an_unknown_api_url_is_a_json_404(client, method):
    response = getattr(client, method)("/api/bookings/not-a-number/")
    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "code": "not_found",
            "message": "No API endpoint at /api/bookings/not-a-number/.",
            "fields": {},
        }
    }
