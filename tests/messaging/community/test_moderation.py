"""Acceptance 4: a report puts the reply in the queue; hiding it removes it live from the
viewers; its author is told the reason; a banned member can no longer post or read the
private group (and their open socket closes); a held word holds the post for review.

The API is called as the pages' script calls it; viewers are WebSocket clients of uvicorn
serving the product, as a browser's socket is."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from messaging.community.models import HeldWord, Notification, PostStatus, Reply
from tests.messaging.community.factories import (
    add_member,
    booked_client,
    coach_group,
    make_discussion,
    verified_coach,
)
from tests.messaging.conftest import session_cookie


def api_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post(client: Client, url: str, data: dict):
    return client.post(url, data=json.dumps(data), content_type="application/json")


def viewer_socket(server, user, discussion):
    socket_ = connect(
        f"{server.ws_url}/ws/community/discussions/{discussion.pk}/",
        additional_headers={"Origin": server.url, "Cookie": f"sessionid={session_cookie(user)}"},
        open_timeout=10,
    )
    assert json.loads(socket_.recv(timeout=5))["kind"] == "hello"
    return socket_


def next_event(socket_, kind: str, timeout: float = 5.0) -> dict:
    while True:
        event = json.loads(socket_.recv(timeout=timeout))
        if event["kind"] == kind:
            return event


def test_report_queue_hide_live_reason_ban_and_held_words(asgi_live_server, mailoutbox, settings):
    # given: a private group with its coach, a poster and a viewer who has the page open
    settings.COMMUNITY_POST_RATE_LIMIT = "100/m"
    coach = verified_coach(first_name="Maya", last_name="Brooks")
    group = coach_group(coach)
    poster = add_member(group, booked_client(coach, first_name="Pat", last_name="Poster")).user
    viewer = add_member(group, booked_client(coach, first_name="Vera", last_name="Viewer")).user
    discussion = make_discussion(group, coach, title="Race week")
    replies_url = f"/api/community/discussions/{discussion.pk}/replies/"
    as_poster, as_viewer, as_coach = api_client(poster), api_client(viewer), api_client(coach)
    socket_ = viewer_socket(asgi_live_server, viewer, discussion)

    # the poster replies; the viewer's socket gets it
    created = post(as_poster, replies_url, {"body": "You are all slow"})
    assert created.status_code == 201
    reply = Reply.objects.get(pk=created.json()["id"])
    assert next_event(socket_, "reply")["reply"]["seq"] == reply.seq

    # when: the viewer reports it
    report = post(
        as_viewer,
        "/api/community/reports/",
        {"discussion": discussion.pk, "reply": reply.pk, "reason": "Rude to everyone"},
    )
    assert report.status_code == 201
    # then: it is in the group's queue, for moderators only
    queue = as_coach.get(f"/api/community/groups/{group.pk}/moderation/").json()
    assert [(r["reply"], r["reason"]) for r in queue["reports"]] == [(reply.pk, "Rude to everyone")]
    assert as_viewer.get(f"/api/community/groups/{group.pk}/moderation/").status_code == 404
    page = as_coach.get(f"/community/groups/{group.pk}/moderation/")
    assert b"Rude to everyone" in page.content and b"You are all slow" in page.content

    # when: the coach hides it with a reason
    hidden = post(
        as_coach,
        f"/api/community/replies/{reply.pk}/moderation/",
        {"action": "hide", "reason": "Rule 1: be kind"},
    )
    assert hidden.json() == {"status": "hidden", "moderation_reason": "Rule 1: be kind"}
    # then: it leaves the viewer's page live, and the lists
    gone = next_event(socket_, "gone")
    assert (gone["discussion"], gone["reply"]) == (discussion.pk, reply.seq)
    assert [r["seq"] for r in as_viewer.get(replies_url).json()["replies"]] == []
    assert (
        b"You are all slow" not in as_viewer.get(f"/community/discussions/{discussion.pk}/").content
    )
    # and the author is told the reason, in the app and by e-mail
    notice = Notification.objects.get(user=poster, kind="moderation")
    assert "Rule 1: be kind" in notice.text
    assert any(mail.to == [poster.email] and "Rule 1: be kind" in mail.body for mail in mailoutbox)
    assert as_viewer.get(f"/api/community/groups/{group.pk}/").status_code == 200

    # when: a held word is used
    HeldWord.objects.create(phrase="miracle pill")
    held = post(as_poster, replies_url, {"body": "Buy the MIRACLE pill here"})
    # then: the post is held, the viewer does not get it, the queue does
    assert held.status_code == 201 and held.json()["status"] == PostStatus.HELD
    with pytest.raises(TimeoutError):
        next_event(socket_, "reply", timeout=1.0)
    queue = as_coach.get(f"/api/community/groups/{group.pk}/moderation/").json()
    assert [r["id"] for r in queue["held_replies"]] == [held.json()["id"]]
    # approving publishes it to the viewers
    post(
        as_coach,
        f"/api/community/replies/{held.json()['id']}/moderation/",
        {"action": "approve"},
    )
    assert next_event(socket_, "reply")["reply"]["id"] == held.json()["id"]

    # when: the coach bans the viewer (their page is still open)
    banned = post(
        as_coach,
        f"/api/community/groups/{group.pk}/members/{viewer.pk}/",
        {"action": "ban", "reason": "Reported others falsely"},
    )
    assert banned.status_code == 200 and banned.json()["state"] == "banned"
    # then: their socket is told and closed, and the private group is gone for them
    assert next_event(socket_, "revoked")["kind"] == "revoked"
    with pytest.raises(ConnectionClosed):
        socket_.recv(timeout=5)
    assert as_viewer.get(replies_url).status_code == 404
    assert as_viewer.get(f"/api/community/groups/{group.pk}/").status_code == 404
    assert post(as_viewer, replies_url, {"body": "let me in"}).status_code == 404
    assert as_viewer.get(f"/community/discussions/{discussion.pk}/").status_code == 404
    assert post(as_viewer, f"/api/community/groups/{group.pk}/join/", {}).status_code == 404
