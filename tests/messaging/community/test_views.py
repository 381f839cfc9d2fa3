"""Community pages: each renders for a member, forms work without JavaScript, and the
e-mail preference and one-click unsubscribe pages do what they say."""

from __future__ import annotations

import pytest
from django.urls import reverse

from messaging.community.models import (
    DigestPreference,
    Discussion,
    Group,
    Membership,
    PostStatus,
    Reply,
    Report,
)
from messaging.community.services import notifications
from tests.factories import UserFactory
from tests.messaging.community.factories import (
    add_member,
    booked_client,
    coach_group,
    make_discussion,
    make_reply,
    verified_coach,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    coach = verified_coach(first_name="Maya", last_name="Brooks")
    group = coach_group(coach)
    client = booked_client(coach, first_name="Chloe", last_name="Client")
    add_member(group, client)
    discussion = make_discussion(group, client, title="Long runs", body="How **far**?")
    reply = make_reply(discussion, coach, "About 30 km")
    return coach, group, client, discussion, reply


def test_every_page_renders_for_the_coach_and_the_member(client, world):
    coach, group, member, discussion, reply = world
    pages = [
        reverse("community:index"),
        reverse("community:group", args=[group.pk]),
        reverse("community:group", args=[group.pk]) + "?q=runs",
        reverse("community:members", args=[group.pk]),
        reverse("community:discussion_new", args=[group.pk]),
        reverse("community:discussion", args=[discussion.pk]),
        reverse("community:discussion", args=[discussion.pk]) + f"?quote={reply.pk}",
        reverse("community:notifications"),
        reverse("community:digest_preference"),
    ]
    for user in (coach, member):
        client.force_login(user)
        for url in pages:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
    client.force_login(coach)
    for url in (
        reverse("community:group_new"),
        reverse("community:group_edit", args=[group.pk]),
        reverse("community:moderation", args=[group.pk]),
        reverse("community:history", args=[discussion.pk]),
        reverse("community:reply_edit", args=[reply.pk]),
    ):
        assert client.get(url).status_code == 200, url
    page = client.get(reverse("community:discussion", args=[discussion.pk])).content.decode()
    assert "How <strong>far</strong>?" in page and "About 30 km" in page


def test_the_forms_work_without_javascript(client, world):
    coach, group, member, discussion, reply = world
    client.force_login(member)
    response = client.post(
        reverse("community:discussion_new", args=[group.pk]),
        {"title": "Hydration", "body": "Water or *sports drinks*?"},
    )
    created = Discussion.objects.get(title="Hydration")
    assert response.status_code == 302 and response["Location"] == created.get_absolute_url()
    response = client.post(
        reverse("community:reply", args=[discussion.pk]),
        {"body": "Thanks!", "quote_of": reply.pk},
    )
    answer = Reply.objects.get(body="Thanks!")
    assert answer.quote_of == reply and response.status_code == 302
    client.post(reverse("community:reply_react", args=[reply.pk]), {"kind": "thanks"})
    assert reply.reactions.filter(kind="thanks", user=member).exists()
    client.post(reverse("community:reply_report", args=[reply.pk]), {"reason": "off topic"})
    assert Report.objects.filter(reply=reply, reporter=member).exists()
    # the coach moderates from the queue
    client.force_login(coach)
    queue = client.get(reverse("community:moderation", args=[group.pk]))
    assert b"off topic" in queue.content
    client.post(
        reverse("community:reply_moderate", args=[reply.pk]),
        {"action": "hide", "reason": "Off topic here"},
    )
    reply.refresh_from_db()
    assert reply.status == PostStatus.HIDDEN
    # and invites another client who booked
    other = booked_client(coach, first_name="Theo")
    client.post(reverse("community:invite", args=[group.pk]), {"user": other.pk})
    assert Membership.objects.get(group=group, user=other).state == "invited"


def test_a_coach_creates_a_group_from_the_page(client):
    coach = verified_coach()
    client.force_login(coach)
    response = client.post(
        reverse("community:group_new"),
        {"name": "Early risers", "description": "", "rules": "", "access": "request"},
    )
    group = Group.objects.get(name="Early risers")
    assert response.status_code == 302 and group.access == "request" and group.owner == coach
    client.force_login(UserFactory())
    assert client.get(reverse("community:group_new")).status_code == 404


def test_the_digest_preference_page_saves_the_choice(client):
    user = UserFactory()
    client.force_login(user)
    page = client.get(reverse("community:digest_preference"))
    assert b'value="immediately"' in page.content and b'value="never"' in page.content
    client.post(reverse("community:digest_preference"), {"community-frequency": "immediately"})
    assert DigestPreference.objects.get(user=user).frequency == "immediately"
    response = client.post(reverse("community:digest_preference"), {"community-frequency": "x"})
    assert response.status_code == 200 and DigestPreference.objects.get(user=user).frequency == (
        "immediately"
    )


def test_one_click_unsubscribe_needs_no_session_and_no_csrf_token(client):
    from django.test import Client

    user = UserFactory()
    token = notifications.unsubscribe_token(user)
    url = reverse("community:unsubscribe", args=[token])
    # a GET (a person, or a scanner prefetching the link) changes nothing
    assert client.get(url).status_code == 200
    assert not DigestPreference.objects.filter(user=user, frequency="never").exists()
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(url, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert DigestPreference.objects.get(user=user).frequency == "never"
    bad = strict.post(reverse("community:unsubscribe", args=[token[:-2] + "xx"]))
    assert bad.status_code == 404
