"""The REST API: /api/messages/threads/... with its pagination and error shapes."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from messaging.models import Message, ReadState, Thread
from tests.bookings.factories import BookingFactory
from tests.factories import CoachUserFactory, UserFactory
from tests.messaging.factories import ThreadFactory, add_message
from tests.mfa import sign_in_with_totp

pytestmark = pytest.mark.django_db


def post_json(client, url, data):
    return client.post(url, data=json.dumps(data), content_type="application/json")


def test_open_a_thread_with_a_first_message_then_find_it_again(client, client_user, coach_user):
    client.force_login(client_user)
    created = post_json(
        client, "/api/messages/threads/", {"coach": coach_user.pk, "body": "Hello coach"}
    )
    assert created.status_code == 201
    body = created.json()
    assert body["coach"] == {"id": coach_user.pk, "name": coach_user.display_name}
    assert body["last_seq"] == 1 and body["unread"] == 0
    assert body["url"] == f"/messages/{body['id']}/"
    again = post_json(client, "/api/messages/threads/", {"coach": coach_user.pk})
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert Thread.objects.count() == 1


def test_open_a_thread_from_a_booking(client):
    booking = BookingFactory()
    client.force_login(booking.coach.user)
    response = post_json(client, "/api/messages/threads/", {"booking": booking.pk})
    assert response.status_code == 201
    assert response.json()["booking"] == booking.pk
    assert response.json()["client"]["id"] == booking.client_id


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({}, 400, "invalid"),
        ({"coach": "abc"}, 400, "invalid"),
        ({"coach": 999999}, 404, "not_found"),
        ({"booking": 999999}, 404, "not_found"),
    ],
)
def test_open_a_thread_bad_input(client, client_user, payload, status, code):
    client.force_login(client_user)
    response = post_json(client, "/api/messages/threads/", payload)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_open_a_thread_with_a_client_who_is_not_a_coach_is_404(client, client_user):
    client.force_login(client_user)
    response = post_json(client, "/api/messages/threads/", {"coach": UserFactory().pk})
    assert response.status_code == 404


def test_thread_list_is_paged_and_counts_unread(client, coach_user):
    threads = [ThreadFactory(coach=coach_user) for _ in range(23)]
    add_message(threads[0], threads[0].client, "one")
    add_message(threads[0], threads[0].client, "two")
    ThreadFactory()  # someone else's
    client.force_login(coach_user)
    first = client.get("/api/messages/threads/").json()
    assert first["count"] == 23 and len(first["results"]) == 20 and first["next"]
    assert first["results"][0]["id"] == threads[0].pk  # newest activity first
    assert first["results"][0]["unread"] == 2
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 3
    ids = {t["id"] for t in first["results"]} | {t["id"] for t in second["results"]}
    assert ids == {t.pk for t in threads}


def test_thread_detail_pages_backwards_and_catches_up(client, thread, client_user, coach_user):
    Message.objects.bulk_create(
        Message(thread=thread, sender=client_user, seq=index, body=f"m{index}")
        for index in range(1, 121)
    )
    Thread.objects.filter(pk=thread.pk).update(last_seq=120)
    client.force_login(coach_user)
    newest = client.get(f"/api/messages/threads/{thread.pk}/").json()
    assert [m["seq"] for m in newest["messages"]] == list(range(71, 121))
    assert newest["has_more"] and "before=71" in newest["next"]
    older = client.get(newest["next"]).json()
    assert [m["seq"] for m in older["messages"]] == list(range(21, 71))
    oldest = client.get(older["next"]).json()
    assert [m["seq"] for m in oldest["messages"]] == list(range(1, 21))
    assert not oldest["has_more"] and oldest["next"] is None
    caught = client.get(f"/api/messages/threads/{thread.pk}/?after=100&limit=15").json()
    assert [m["seq"] for m in caught["messages"]] == list(range(101, 116))
    assert "after=115" in caught["next"]
    assert caught["thread"]["unread"] == 120  # reading through the API marks nothing read
    bad = client.get(f"/api/messages/threads/{thread.pk}/?limit=1000")
    assert bad.status_code == 400 and "limit" in bad.json()["error"]["fields"]


def test_post_a_message_and_its_shape(client, thread, client_user):
    client.force_login(client_user)
    response = post_json(
        client,
        f"/api/messages/threads/{thread.pk}/messages/",
        {"body": "See <b>this</b>: https://example.com/a?b=1&c=2"},
    )
    assert response.status_code == 201
    message = response.json()
    assert message["seq"] == 1 and message["sender"]["id"] == client_user.pk
    assert message["body"] == "See <b>this</b>: https://example.com/a?b=1&c=2"
    assert message["body_html"] == (
        "See &lt;b&gt;this&lt;/b&gt;: "
        '<a href="https://example.com/a?b=1&amp;c=2" rel="nofollow noopener">'
        "https://example.com/a?b=1&amp;c=2</a>"
    )
    assert message["attachment"] is None and message["hidden"] is False


def test_post_an_attachment_by_multipart(client, thread, client_user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(client_user)
    pdf = SimpleUploadedFile("plan.pdf", b"%PDF-1.4\n%%EOF\n", content_type="application/pdf")
    response = client.post(
        f"/api/messages/threads/{thread.pk}/messages/", {"body": "", "attachment": pdf}
    )
    assert response.status_code == 201
    attachment = response.json()["attachment"]
    assert attachment["type"] == "application/pdf" and attachment["name"] == "plan.pdf"
    assert attachment["url"] == f"/messages/{thread.pk}/attachments/{response.json()['id']}/"


@pytest.mark.parametrize(
    ("payload", "status", "code", "field"),
    [
        ({"body": ""}, 400, "invalid", "body"),
        ({"body": "x" * 5001}, 400, "invalid", "body"),
    ],
)
def test_post_a_message_bad_input(client, thread, client_user, payload, status, code, field):
    client.force_login(client_user)
    response = post_json(client, f"/api/messages/threads/{thread.pk}/messages/", payload)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert field in response.json()["error"]["fields"]
    assert not Message.objects.exists()


def test_rate_limit_answers_429_with_a_clear_message(client, thread, coach_user, settings):
    settings.MESSAGE_RATE_LIMIT = "2/d"  # a day-long window: no edge inside the test
    client.force_login(coach_user)
    url = f"/api/messages/threads/{thread.pk}/messages/"
    assert post_json(client, url, {"body": "a"}).status_code == 201
    assert post_json(client, url, {"body": "b"}).status_code == 201
    response = post_json(client, url, {"body": "c"})
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"
    assert "too quickly" in response.json()["error"]["message"]


def test_pre_booking_limit_answers_403_with_a_clear_message(client, thread, client_user, settings):
    settings.MESSAGES_BEFORE_BOOKING_LIMIT = 1
    client.force_login(client_user)
    url = f"/api/messages/threads/{thread.pk}/messages/"
    assert post_json(client, url, {"body": "a"}).status_code == 201
    response = post_json(client, url, {"body": "b"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "limit_before_booking"
    assert "Book a session" in response.json()["error"]["message"]


def test_mark_read(client, thread, client_user, coach_user):
    for index in range(3):
        add_message(thread, client_user, f"m{index}")
    client.force_login(coach_user)
    url = f"/api/messages/threads/{thread.pk}/read/"
    assert post_json(client, url, {"up_to_seq": 2}).json() == {
        "last_read_seq": 2,
        "unread_messages": 1,
    }
    assert post_json(client, url, {}).json() == {"last_read_seq": 3, "unread_messages": 0}
    assert post_json(client, url, {"up_to_seq": -1}).status_code == 400
    assert ReadState.objects.get(thread=thread, user=coach_user).last_read_seq == 3


def test_token_authentication_works_for_the_api(client, thread, coach_user):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=coach_user)
    response = client.get("/api/messages/threads/", headers={"Authorization": f"Token {token.key}"})
    assert response.status_code == 200 and response.json()["results"][0]["id"] == thread.pk


def test_the_schema_documents_the_endpoints(client, coach_user):
    sign_in_with_totp(client, CoachUserFactory(is_staff=True))
    schema = client.get("/api/schema/", headers={"Accept": "application/json"})
    assert schema.status_code == 200
    paths = schema.json()["paths"] if schema["Content-Type"].startswith("application/json") else {}
    text = json.dumps(paths) if paths else schema.content.decode()
    for path in (
        "/api/messages/threads/",
        "/api/messages/threads/{thread_id}/",
        "/api/messages/threads/{thread_id}/messages/",
        "/api/messages/threads/{thread_id}/read/",
    ):
        assert path in text
