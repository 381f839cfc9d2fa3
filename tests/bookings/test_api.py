"""The bookings API: hold and pay, list, read, cancel, reschedule, staff refunds; 4xx bodies."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from payments.models import Payment
from tests.bookings.factories import next_hour, open_coach
from tests.factories import UserFactory
from tests.mfa import sign_in_with_totp


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def confirmed_via_api(paid_coach, sandbox, django_capture_on_commit_callbacks):
    coach, session_type = paid_coach
    client = UserFactory()
    api = api_for(client)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/bookings/",
            {
                "session_type": session_type.pk,
                "starts_at": next_hour(days=4).isoformat(),
                "topic": "Career change",
                "client_time_zone": "Asia/Tokyo",
            },
            format="json",
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "held" and body["checkout_url"]
    assert body["payment"]["amount"] == 12000 and body["payment"]["application_fee"] == 1800
    payment = Payment.objects.get(pk=body["payment"]["id"])
    with django_capture_on_commit_callbacks(execute=True):
        sandbox.pay_checkout_session(payment.stripe_checkout_session_id)
        sandbox.deliver_pending_events()
    return api, body["id"], coach, payment


def test_hold_pay_read_list_and_cancel_through_the_api(
    confirmed_via_api, django_capture_on_commit_callbacks
):
    api, booking_id, coach, _payment = confirmed_via_api
    detail = api.get(f"/api/bookings/{booking_id}/").json()
    assert detail["status"] == "confirmed" and detail["meeting_url"]
    assert detail["payment"]["status"] == "succeeded"
    listed = api.get("/api/bookings/").json()
    assert [row["id"] for row in listed["results"]] == [booking_id]
    # the coach sees it too; a stranger does not
    assert api_for(coach.user).get(f"/api/bookings/{booking_id}/").status_code == 200
    stranger = api_for(UserFactory()).get(f"/api/bookings/{booking_id}/")
    assert stranger.status_code == 404 and stranger.json()["error"]["code"] == "not_found"
    with django_capture_on_commit_callbacks(execute=True):
        cancelled = api.post(
            f"/api/bookings/{booking_id}/cancel/", {"reason": "ill"}, format="json"
        )
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled_by_client"
    # the refund is made by a task after commit; read back, it is done
    after = api.get(f"/api/bookings/{booking_id}/").json()
    assert after["payment"]["refunded_amount"] == 12000
    assert after["payment"]["status"] == "refunded"
    # cancelling twice is a clear 409
    again = api.post(f"/api/bookings/{booking_id}/cancel/", {}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_transition"


def test_reschedule_and_staff_refund_through_the_api(
    confirmed_via_api, django_capture_on_commit_callbacks
):
    api, booking_id, _coach, payment = confirmed_via_api
    detail = api.get(f"/api/bookings/{booking_id}/").json()
    new_start = (next_hour(days=4) + timedelta(hours=3)).isoformat()
    with django_capture_on_commit_callbacks(execute=True):
        moved = api.post(
            f"/api/bookings/{booking_id}/reschedule/", {"starts_at": new_start}, format="json"
        )
    assert moved.status_code == 200, moved.content
    assert moved.json()["id"] != booking_id and moved.json()["reschedule_count"] == 1
    assert api.get(f"/api/bookings/{booking_id}/").json()["rescheduled_to"] == moved.json()["id"]
    assert detail["payment"]["id"] == moved.json()["payment"]["id"]
    # a client may not refund; staff may, and not more than is left
    refused = api.post(f"/api/payments/{payment.pk}/refund/", {}, format="json")
    assert refused.status_code == 403
    # staff, signed in with their second factor (a forced API login would skip it)
    staff = APIClient()
    sign_in_with_totp(staff, UserFactory(is_staff=True))
    too_much = staff.post(f"/api/payments/{payment.pk}/refund/", {"amount": 12001}, format="json")
    assert too_much.status_code == 400 and too_much.json()["error"]["code"] == "invalid_amount"
    with django_capture_on_commit_callbacks(execute=True):
        refunded = staff.post(
            f"/api/payments/{payment.pk}/refund/", {"amount": 2000}, format="json"
        )
    assert refunded.status_code == 201
    assert refunded.json()["status"] == "pending" and refunded.json()["amount"] == 2000
    payment.refresh_from_db()
    assert payment.status == "partially_refunded" and payment.refunded_amount == 2000


@pytest.mark.django_db
def test_bad_input_and_a_taken_slot_get_clear_errors():
    _coach, session_type = open_coach()
    api = api_for(UserFactory())
    missing = api.post("/api/bookings/", {"starts_at": "soon"}, format="json")
    assert missing.status_code == 400
    assert set(missing.json()["error"]["fields"]) == {"session_type", "starts_at"}
    unknown = api.post(
        "/api/bookings/",
        {"session_type": 999999, "starts_at": next_hour().isoformat()},
        format="json",
    )
    assert unknown.status_code == 404
    from bookings.services import holds

    taken_at = next_hour()
    holds.booking_hold(client=UserFactory(), session_type=session_type, starts_at=taken_at)
    taken = api.post(
        "/api/bookings/",
        {
            "session_type": session_type.pk,
            "starts_at": (taken_at + timedelta(minutes=30)).isoformat(),
        },
        format="json",
    )
    assert taken.status_code == 409
    error = taken.json()["error"]
    assert error["code"] == "slot_taken" and error["message"] == "That time was just taken."
    assert len(error["fields"]["nearest_free_slots"]) == 3
    assert api.get("/api/bookings/").json()["results"] == []


@pytest.mark.django_db
def test_a_coach_cannot_hold_their_own_time():
    # given: a coach's own session type
    coach, session_type = open_coach()
    # when: the coach asks for it through the API
    response = api_for(coach.user).post(
        "/api/bookings/",
        {"session_type": session_type.pk, "starts_at": next_hour(days=3).isoformat()},
        format="json",
    )
    # then: refused before anything is held
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "own_coach"
    assert not coach.bookings.exists()
