"""Acceptance 2: every messaging page, API endpoint and WebSocket subscription, tried by a
signed-in non-participant, answers 403 or 404, changes nothing and leaks nothing."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from messaging import services
from messaging.models import Block, Message, ReadState, Report
from tests.bookings.factories import BookingFactory
from tests.factories import CoachUserFactory, UserFactory
from tests.messaging.conftest import session_cookie
from tests.messaging.factories import ThreadFactory, add_message
from tests.mfa import sign_in_with_totp

SECRET = "SECRET-PLAN-4711"
PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def make_private_thread(tmp_path, settings):
    """A thread between two people with distinctive names, a secret and an attachment."""
    settings.MEDIA_ROOT = tmp_path
    booking = BookingFactory(
        client=UserFactory(first_name="Zebulon", last_name="Quixote", email="zq@private.test"),
        session_type__coach__user=CoachUserFactory(
            first_name="Xanthe", last_name="Vexley", email="xv@private.test"
        ),
    )
    coach = booking.coach.user
    thread = ThreadFactory(client=booking.client, coach=coach, booking=booking)
    add_message(thread, booking.client, SECRET)
    attachment = services.message_send(
        thread=thread,
        sender=coach,
        body="see the plan",
        attachment=SimpleUploadedFile("plan.pdf", PDF_BYTES + SECRET.encode()),
    )
    return thread, booking, attachment


LEAKS = (SECRET, "Zebulon", "Quixote", "Xanthe", "Vexley", "zq@private.test", "xv@private.test")


def attempts(thread, booking, attachment):
    """(label, method, url, data, format) for every route that names the thread."""
    tid, mid = thread.pk, attachment.pk
    return [
        ("page", "get", reverse("messaging:thread", args=[tid]), None, None),
        ("older page", "get", reverse("messaging:thread", args=[tid]) + "?before=3", None, None),
        ("send form", "post", reverse("messaging:send", args=[tid]), {"body": "hi"}, None),
        ("block", "post", reverse("messaging:block", args=[tid]), {}, None),
        ("unblock", "post", reverse("messaging:unblock", args=[tid]), {}, None),
        (
            "report",
            "post",
            reverse("messaging:report", args=[tid, mid]),
            {"reason": "snooping"},
            None,
        ),
        ("attachment", "get", reverse("messaging:attachment", args=[tid, mid]), None, None),
        ("start from booking", "post", reverse("messaging:start"), {"booking": booking.pk}, None),
        ("api thread", "get", f"/api/messages/threads/{tid}/", None, None),
        ("api catch-up", "get", f"/api/messages/threads/{tid}/?after=0", None, None),
        ("api send", "post", f"/api/messages/threads/{tid}/messages/", {"body": "hi"}, "json"),
        ("api read", "post", f"/api/messages/threads/{tid}/read/", {"up_to_seq": 2}, "json"),
        (
            "api open from booking",
            "post",
            "/api/messages/threads/",
            {"booking": booking.pk},
            "json",
        ),
    ]


def call(client, method, url, data, data_format):
    if data_format == "json":
        return getattr(client, method)(url, data=json.dumps(data), content_type="application/json")
    return getattr(client, method)(url, data=data or {})


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["outsider client", "outsider coach", "staff without a report"])
def test_a_non_participant_gets_404_everywhere_and_learns_nothing(client, tmp_path, settings, who):
    # given
    thread, booking, attachment = make_private_thread(tmp_path, settings)
    intruder = {
        "outsider client": lambda: UserFactory(),
        "outsider coach": lambda: CoachUserFactory(),
        "staff without a report": lambda: UserFactory(is_staff=True, is_superuser=True),
    }[who]()
    if intruder.is_staff:
        sign_in_with_totp(client, intruder)
    else:
        client.force_login(intruder)
    before = (
        Message.objects.count(),
        list(ReadState.objects.order_by("pk").values_list("last_read_seq", flat=True)),
    )
    # when / then
    for label, method, url, data, data_format in attempts(thread, booking, attachment):
        response = call(client, method, url, data, data_format)
        assert response.status_code in (403, 404), f"{label}: {response.status_code}"
        body = b"".join(response.streaming_content) if response.streaming else response.content
        for leak in LEAKS:
            assert leak.encode() not in body, f"{label} leaks {leak}"
        if data_format == "json" or url.startswith("/api/"):
            assert response.json()["error"]["code"] in ("not_found", "permission_denied")
    # the lists the intruder may see do not contain the thread
    for url in (reverse("messaging:inbox"), "/api/messages/threads/"):
        response = client.get(url)
        assert response.status_code == 200
        for leak in LEAKS:
            assert leak.encode() not in response.content
    assert client.get("/api/messages/threads/").json()["count"] == 0
    # and nothing changed
    assert (
        Message.objects.count(),
        list(ReadState.objects.order_by("pk").values_list("last_read_seq", flat=True)),
    ) == before
    assert not Block.objects.exists() and not Report.objects.exists()


@pytest.mark.django_db
def test_signed_out_visitors_are_sent_to_sign_in_or_get_403(client, tmp_path, settings):
    thread, booking, attachment = make_private_thread(tmp_path, settings)
    for label, method, url, data, data_format in attempts(thread, booking, attachment):
        response = call(client, method, url, data, data_format)
        if url.startswith("/api/"):
            assert response.status_code in (401, 403), label
        else:
            assert response.status_code == 302 and "/accounts/login/" in response["Location"]
        assert SECRET.encode() not in response.content


@pytest.mark.django_db
def test_staff_moderating_a_report_may_read_but_not_write(client, tmp_path, settings):
    thread, _booking, _attachment = make_private_thread(tmp_path, settings)
    reported = Message.objects.get(thread=thread, seq=1)
    services.message_report(message=reported, reporter=thread.coach, reason="odd")
    moderator = UserFactory(is_staff=True, is_superuser=True)
    sign_in_with_totp(client, moderator)
    page = client.get(reverse("messaging:thread", args=[thread.pk]))
    assert page.status_code == 200 and SECRET.encode() in page.content
    assert b"as a moderator" in page.content
    assert client.get(f"/api/messages/threads/{thread.pk}/").status_code == 200
    response = client.post(
        f"/api/messages/threads/{thread.pk}/messages/",
        data=json.dumps({"body": "hi"}),
        content_type="application/json",
    )
    assert response.status_code == 404
    # a staff member without the moderation permission is still a stranger
    sign_in_with_totp(client, UserFactory(is_staff=True))
    assert client.get(reverse("messaging:thread", args=[thread.pk])).status_code == 404


def test_websocket_subscriptions_of_non_participants_are_refused(
    asgi_live_server, tmp_path, settings
):
    # given
    thread, _booking, _attachment = make_private_thread(tmp_path, settings)
    outsider = UserFactory()
    origin = {"Origin": asgi_live_server.url}
    path = f"{asgi_live_server.ws_url}/ws/messages/threads/{thread.pk}/"

    # when / then: the handshake is refused for a stranger, a signed-out visitor and a
    # thread that does not exist
    for cookie, url in (
        (session_cookie(outsider), path),
        ("", path),
        (session_cookie(thread.client), f"{asgi_live_server.ws_url}/ws/messages/threads/999999/"),
    ):
        headers = {**origin, "Cookie": f"sessionid={cookie}"}
        with pytest.raises(InvalidStatus) as refused:
            connect(url, additional_headers=headers, open_timeout=10).close()
        assert refused.value.response.status_code == 403
        assert SECRET.encode() not in (refused.value.response.body or b"")

    # the outsider's own socket stays silent while the participants talk; the participant's
    # socket gets the message
    with (
        connect(
            f"{asgi_live_server.ws_url}/ws/messages/",
            additional_headers={**origin, "Cookie": f"sessionid={session_cookie(outsider)}"},
        ) as outsider_socket,
        connect(
            path,
            additional_headers={**origin, "Cookie": f"sessionid={session_cookie(thread.client)}"},
        ) as client_socket,
    ):
        assert json.loads(outsider_socket.recv(timeout=5))["kind"] == "hello"
        assert json.loads(client_socket.recv(timeout=5))["kind"] == "hello"
        services.message_send(thread=thread, sender=thread.coach, body=f"{SECRET} again")
        received = [json.loads(client_socket.recv(timeout=5)) for _ in range(2)]
        assert {event["kind"] for event in received} == {"message", "unread"}
        with pytest.raises(TimeoutError):
            outsider_socket.recv(timeout=1.0)


def test_the_socket_answers_pings_and_ignores_garbage(asgi_live_server, thread):
    headers = {
        "Origin": asgi_live_server.url,
        "Cookie": f"sessionid={session_cookie(thread.client)}",
    }
    with connect(
        f"{asgi_live_server.ws_url}/ws/messages/threads/{thread.pk}/", additional_headers=headers
    ) as socket_:
        assert json.loads(socket_.recv(timeout=5)) == {"kind": "hello", "user": thread.client_id}
        socket_.send("not json {")
        socket_.send(json.dumps({"kind": "ping"}))
        assert json.loads(socket_.recv(timeout=5)) == {"kind": "pong"}
