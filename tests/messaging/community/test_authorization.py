"""Acceptance 2: every community page, API endpoint and WebSocket subscription of a private
(invite-only) group, tried as a non-member, a member, a moderator, a banned member, a
suspended member and a signed-out visitor: only the allowed cells succeed; the others get
403/404 (or the sign-in page), change nothing and leak nothing.

Each request runs in a savepoint that is rolled back, so every cell starts from the same
state.
"""

from __future__ import annotations

import json

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import reverse
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from messaging import services as messaging_services
from messaging.community import selectors
from messaging.community.models import (
    Discussion,
    Image,
    MemberRole,
    Membership,
    ModerationAction,
    Reply,
    Report,
)
from messaging.community.services import posts
from tests.messaging.community.factories import (
    add_member,
    ban,
    booked_client,
    coach_group,
    verified_coach,
)
from tests.messaging.community.test_services import PNG
from tests.messaging.conftest import session_cookie

ROLES = ("non-member", "member", "moderator", "banned", "suspended", "anonymous")
SIGNED_IN = frozenset(ROLES) - {"anonymous"}
READERS = frozenset({"member", "moderator", "suspended"})
POSTERS = frozenset({"member", "moderator"})
MODERATORS = frozenset({"moderator"})
AUTHOR = frozenset({"member"})  # the member wrote the reply the edit and delete cells target
NOBODY: frozenset[str] = frozenset()

SECRETS = ("Quokka Circle", "Secret tempo plan", "threshold-7731", "reply-secret-5521")


class World:
    """The private group, its people and content."""

    def __init__(self, tmp_path, settings) -> None:
        settings.MEDIA_ROOT = tmp_path
        settings.COMMUNITY_POST_RATE_LIMIT = "1000/m"
        self.owner = verified_coach(first_name="Olive", last_name="Owner")
        self.group = coach_group(self.owner, name="Quokka Circle")
        self.group.cover.save("cover.png", SimpleUploadedFile("c.png", PNG))
        self.group.cover_type = "image/png"
        self.group.save()
        self.people = {
            "non-member": booked_client(self.owner, first_name="Nina"),
            "member": booked_client(self.owner, first_name="Mark"),
            "moderator": booked_client(self.owner, first_name="Moe"),
            "banned": booked_client(self.owner, first_name="Bart"),
            "suspended": booked_client(self.owner, first_name="Sue"),
        }
        add_member(self.group, self.people["member"])
        add_member(self.group, self.people["moderator"], role=MemberRole.MODERATOR)
        ban(self.group, self.people["banned"])
        add_member(self.group, self.people["suspended"])
        messaging_services.user_suspend(
            user=self.people["suspended"], moderator=self.owner, note="spam"
        )
        self.other = add_member(self.group, booked_client(self.owner, first_name="Otto")).user
        self.invitee = booked_client(self.owner, first_name="Ivy")
        owner_access = selectors.access_for(group=self.group, user=self.owner)
        self.discussion = posts.discussion_start(
            access=owner_access,
            author=self.owner,
            title="Secret tempo plan",
            body="Run at threshold-7731 pace",
            images=[SimpleUploadedFile("plan.png", PNG)],
        )
        self.image = Image.objects.get(discussion=self.discussion)
        self.reply = posts.reply_post(
            access=owner_access,
            discussion=self.discussion,
            author=self.owner,
            body="reply-secret-5521",
        )
        member_access = selectors.access_for(group=self.group, user=self.people["member"])
        self.own_reply = posts.reply_post(
            access=member_access,
            discussion=self.discussion,
            author=self.people["member"],
            body="my own words",
        )
        self.report = Report.objects.create(
            group=self.group,
            discussion=self.discussion,
            reply=self.reply,
            reporter=self.other,
            reason="rude",
        )


def pages(w: World):
    """(label, method, url, data, allowed, kind): kind "page" wants 200, "form" a redirect
    with no error message."""
    g, d, r, own = w.group.pk, w.discussion.pk, w.reply.pk, w.own_reply.pk
    return [
        ("index", "get", reverse("community:index"), None, SIGNED_IN, "page"),
        ("notifications", "get", reverse("community:notifications"), None, SIGNED_IN, "page"),
        ("e-mail page", "get", reverse("community:digest_preference"), None, SIGNED_IN, "page"),
        ("group", "get", reverse("community:group", args=[g]), None, READERS, "page"),
        (
            "group search",
            "get",
            reverse("community:group", args=[g]) + "?q=tempo",
            None,
            READERS,
            "page",
        ),
        ("cover", "get", reverse("community:group_cover", args=[g]), None, READERS, "page"),
        ("members", "get", reverse("community:members", args=[g]), None, READERS, "page"),
        (
            "new discussion page",
            "get",
            reverse("community:discussion_new", args=[g]),
            None,
            READERS,
            "page",
        ),
        ("discussion", "get", reverse("community:discussion", args=[d]), None, READERS, "page"),
        ("image", "get", reverse("community:image", args=[d, w.image.pk]), None, READERS, "page"),
        ("history", "get", reverse("community:history", args=[d]), None, MODERATORS, "page"),
        (
            "moderation queue",
            "get",
            reverse("community:moderation", args=[g]),
            None,
            MODERATORS,
            "page",
        ),
        ("group edit page", "get", reverse("community:group_edit", args=[g]), None, NOBODY, "page"),
        (
            "discussion edit page",
            "get",
            reverse("community:discussion_edit", args=[d]),
            None,
            NOBODY,
            "page",
        ),
        (
            "reply edit page",
            "get",
            reverse("community:reply_edit", args=[own]),
            None,
            AUTHOR,
            "page",
        ),
        ("join", "post", reverse("community:join", args=[g]), {}, READERS, "form"),
        ("leave", "post", reverse("community:leave", args=[g]), {}, READERS, "form"),
        (
            "start discussion",
            "post",
            reverse("community:discussion_new", args=[g]),
            {"title": "t", "body": "b"},
            POSTERS,
            "form",
        ),
        ("reply", "post", reverse("community:reply", args=[d]), {"body": "hi"}, POSTERS, "form"),
        (
            "react",
            "post",
            reverse("community:discussion_react", args=[d]),
            {"kind": "like"},
            POSTERS,
            "form",
        ),
        (
            "react to reply",
            "post",
            reverse("community:reply_react", args=[r]),
            {"kind": "like"},
            POSTERS,
            "form",
        ),
        ("follow", "post", reverse("community:follow", args=[d]), {"on": "1"}, READERS, "form"),
        (
            "report",
            "post",
            reverse("community:discussion_report", args=[d]),
            {"reason": "x"},
            READERS,
            "form",
        ),
        (
            "report reply",
            "post",
            reverse("community:reply_report", args=[r]),
            {"reason": "x"},
            READERS,
            "form",
        ),
        (
            "edit discussion",
            "post",
            reverse("community:discussion_edit", args=[d]),
            {"title": "t", "body": "b"},
            NOBODY,
            "form",
        ),
        (
            "delete discussion",
            "post",
            reverse("community:discussion_delete", args=[d]),
            {},
            NOBODY,
            "form",
        ),
        (
            "edit reply",
            "post",
            reverse("community:reply_edit", args=[own]),
            {"body": "b"},
            AUTHOR,
            "form",
        ),
        ("delete reply", "post", reverse("community:reply_delete", args=[own]), {}, AUTHOR, "form"),
        (
            "hide discussion",
            "post",
            reverse("community:discussion_moderate", args=[d]),
            {"action": "hide", "reason": "x"},
            MODERATORS,
            "form",
        ),
        (
            "hide reply",
            "post",
            reverse("community:reply_moderate", args=[r]),
            {"action": "hide", "reason": "x"},
            MODERATORS,
            "form",
        ),
        (
            "dismiss report",
            "post",
            reverse("community:report_dismiss", args=[w.report.pk]),
            {},
            MODERATORS,
            "form",
        ),
        (
            "invite",
            "post",
            reverse("community:invite", args=[g]),
            {"user": w.invitee.pk},
            MODERATORS,
            "form",
        ),
        (
            "warn",
            "post",
            reverse("community:member_action", args=[g, w.other.pk]),
            {"action": "warn", "reason": "x"},
            MODERATORS,
            "form",
        ),
        (
            "ban",
            "post",
            reverse("community:member_action", args=[g, w.other.pk]),
            {"action": "ban", "reason": "x"},
            MODERATORS,
            "form",
        ),
        (
            "group edit",
            "post",
            reverse("community:group_edit", args=[g]),
            {"name": "n", "access": "invite"},
            NOBODY,
            "form",
        ),
        ("mark read", "post", reverse("community:notifications_read"), {}, SIGNED_IN, "form"),
        (
            "e-mail preference",
            "post",
            reverse("community:digest_preference"),
            {"community-frequency": "never"},
            SIGNED_IN,
            "form",
        ),
    ]


def api(w: World):
    g, d, r, own = w.group.pk, w.discussion.pk, w.reply.pk, w.own_reply.pk
    base = "/api/community"
    return [
        ("api groups", "get", f"{base}/groups/", None, SIGNED_IN),
        ("api notifications", "get", f"{base}/notifications/", None, SIGNED_IN),
        ("api mark read", "post", f"{base}/notifications/read/", {}, SIGNED_IN),
        ("api preference", "get", f"{base}/notifications/preferences/", None, SIGNED_IN),
        (
            "api set preference",
            "put",
            f"{base}/notifications/preferences/",
            {"frequency": "daily"},
            SIGNED_IN,
        ),
        ("api group", "get", f"{base}/groups/{g}/", None, READERS),
        ("api join", "post", f"{base}/groups/{g}/join/", {}, READERS),
        ("api leave", "post", f"{base}/groups/{g}/leave/", {}, READERS),
        ("api members", "get", f"{base}/groups/{g}/members/", None, READERS),
        ("api invite", "post", f"{base}/groups/{g}/members/", {"user": w.invitee.pk}, MODERATORS),
        (
            "api ban",
            "post",
            f"{base}/groups/{g}/members/{w.other.pk}/",
            {"action": "ban", "reason": "x"},
            MODERATORS,
        ),
        ("api discussions", "get", f"{base}/groups/{g}/discussions/", None, READERS),
        ("api search", "get", f"{base}/groups/{g}/discussions/?q=tempo", None, READERS),
        (
            "api start",
            "post",
            f"{base}/groups/{g}/discussions/",
            {"title": "t", "body": "b"},
            POSTERS,
        ),
        ("api queue", "get", f"{base}/groups/{g}/moderation/", None, MODERATORS),
        ("api discussion", "get", f"{base}/discussions/{d}/", None, READERS),
        (
            "api edit discussion",
            "patch",
            f"{base}/discussions/{d}/",
            {"title": "t", "body": "b"},
            NOBODY,
        ),
        ("api delete discussion", "delete", f"{base}/discussions/{d}/", None, NOBODY),
        ("api replies", "get", f"{base}/discussions/{d}/replies/", None, READERS),
        ("api catch-up", "get", f"{base}/discussions/{d}/replies/?after=1", None, READERS),
        (
            "api reply",
            "post",
            f"{base}/discussions/{d}/replies/",
            {"body": "hi", "quote_of": r},
            POSTERS,
        ),
        ("api react", "post", f"{base}/discussions/{d}/reactions/", {"kind": "heart"}, POSTERS),
        (
            "api react to reply",
            "post",
            f"{base}/replies/{r}/reactions/",
            {"kind": "heart"},
            POSTERS,
        ),
        ("api follow", "put", f"{base}/discussions/{d}/follow/", None, READERS),
        ("api unfollow", "delete", f"{base}/discussions/{d}/follow/", None, READERS),
        (
            "api hide discussion",
            "post",
            f"{base}/discussions/{d}/moderation/",
            {"action": "hide", "reason": "x"},
            MODERATORS,
        ),
        (
            "api hide reply",
            "post",
            f"{base}/replies/{r}/moderation/",
            {"action": "hide", "reason": "x"},
            MODERATORS,
        ),
        ("api edit reply", "patch", f"{base}/replies/{own}/", {"body": "b"}, AUTHOR),
        ("api delete reply", "delete", f"{base}/replies/{own}/", None, AUTHOR),
        (
            "api report",
            "post",
            f"{base}/reports/",
            {"discussion": d, "reply": r, "reason": "x"},
            READERS,
        ),
    ]


def client_for(role: str, w: World) -> Client:
    client = Client()
    if role != "anonymous":
        client.force_login(w.people[role])
    return client


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def fingerprint():
    return (
        Discussion.objects.count(),
        sorted(Reply.objects.values_list("pk", "status", "body")),
        sorted(Discussion.objects.values_list("pk", "status", "title")),
        sorted(Membership.objects.values_list("user_id", "state", "role")),
        Report.objects.count(),
        ModerationAction.objects.count(),
    )


@pytest.mark.django_db
def test_every_page_and_endpoint_allows_exactly_the_allowed_roles(tmp_path, settings):
    # given
    w = World(tmp_path, settings)
    before = fingerprint()
    wrong: list[str] = []

    # when: every cell, each in a savepoint rolled back afterwards
    for role in ROLES:
        client = client_for(role, w)
        for label, method, url, data, allowed, kind in pages(w):
            # a fresh sign-in per cell: no message of an earlier cell is still pending
            client = client_for(role, w)
            with transaction.atomic():
                response = getattr(client, method)(url, data=data or {})
                errors = [m for m in get_messages(response.wsgi_request) if m.level_tag == "error"]
                to_login = (
                    response.status_code == 302 and "/accounts/login/" in response["Location"]
                )
                if kind == "page":
                    succeeded = response.status_code == 200
                else:
                    succeeded = response.status_code == 302 and not to_login and not errors
                refused = (
                    response.status_code in (403, 404)
                    or to_login
                    or (kind == "form" and (errors or response.status_code == 200))
                )
                transaction.set_rollback(True)
            if succeeded != (role in allowed) or (role not in allowed and not refused):
                wrong.append(f"{role} / {label}: {response.status_code} {errors}")
            if role not in READERS:
                content = body_of(response)
                for secret in SECRETS:
                    if secret.encode() in content:
                        wrong.append(f"{role} / {label} leaks {secret}")
        for label, method, url, data, allowed in api(w):
            with transaction.atomic():
                response = getattr(client, method)(
                    url,
                    data=json.dumps(data) if data is not None else None,
                    content_type="application/json",
                )
                transaction.set_rollback(True)
            succeeded = 200 <= response.status_code < 300
            if succeeded != (role in allowed):
                wrong.append(f"{role} / {label}: {response.status_code} {response.content[:120]}")
            if role not in allowed:
                assert response.status_code in (401, 403, 404), (role, label, response.status_code)
                assert response.json()["error"]["code"] in (
                    "not_found",
                    "permission_denied",
                    "not_authenticated",
                    "not_a_member",
                    "messaging_suspended",
                    "banned",
                    "not_author",
                ), (role, label, response.json())
                for secret in SECRETS:
                    assert secret.encode() not in response.content, (role, label, secret)

    # then
    assert wrong == [], "\n".join(wrong)
    assert fingerprint() == before


@pytest.mark.django_db
def test_lists_never_show_the_private_group_to_outsiders(tmp_path, settings):
    w = World(tmp_path, settings)
    for role in ("non-member", "banned"):
        client = client_for(role, w)
        for url in (reverse("community:index"), "/api/community/groups/"):
            content = client.get(url).content
            for secret in SECRETS:
                assert secret.encode() not in content, (role, url, secret)
    member = client_for("member", w)
    assert b"Quokka Circle" in member.get(reverse("community:index")).content


def test_websocket_subscriptions_follow_the_same_rule(asgi_live_server, tmp_path, settings):
    # given
    w = World(tmp_path, settings)
    paths = [
        f"/ws/community/discussions/{w.discussion.pk}/",
        f"/ws/community/groups/{w.group.pk}/",
    ]
    origin = {"Origin": asgi_live_server.url}
    # when / then
    for role in ROLES:
        cookie = session_cookie(w.people[role]) if role != "anonymous" else ""
        headers = {**origin, "Cookie": f"sessionid={cookie}"}
        for path in paths:
            url = asgi_live_server.ws_url + path
            if role in READERS:
                with connect(url, additional_headers=headers, open_timeout=10) as socket_:
                    assert json.loads(socket_.recv(timeout=5))["kind"] == "hello"
            else:
                with pytest.raises(InvalidStatus) as refused:
                    connect(url, additional_headers=headers, open_timeout=10).close()
                assert refused.value.response.status_code == 403, (role, path)
    # a page from another site cannot open a member's socket
    member_cookie = {"Cookie": f"sessionid={session_cookie(w.people['member'])}"}
    with pytest.raises(InvalidStatus):
        connect(
            asgi_live_server.ws_url + paths[0],
            additional_headers={**member_cookie, "Origin": "https://evil.example"},
            open_timeout=10,
        ).close()
