"""Community pages: each renders for a member, forms work without JavaScript, and the
e-mail preference and one-click unsubscribe pages do what they say."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from messaging.community import selectors
from messaging.community.models import (
    DigestPreference,
    Discussion,
    Group,
    Membership,
    PostStatus,
    Reaction,
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


def test_the_group_page_pages_by_older_and_newer_links(client, world):
    # given 45 discussions (the world's and 44 more), a minute apart
    coach, group, member, discussion, _reply = world
    now = timezone.now()
    for index in range(44):
        made = make_discussion(group, coach, title=f"Week {index}")
        made.last_activity_at = now - timedelta(minutes=index)
        made.save(update_fields=["last_activity_at"])
    Discussion.objects.filter(pk=discussion.pk).update(last_activity_at=now - timedelta(days=1))
    Group.objects.filter(pk=group.pk).update(discussion_count=45)
    client.force_login(member)
    url = reverse("community:group", args=[group.pk])

    def titles(html: str) -> list[str]:
        return re.findall(r'class="discussion-title" href="[^"]+">([^<]+)</a>', html)

    def link(html: str, rel: str) -> str | None:
        found = re.search(rf'<a href="(\?[^"]+)" rel="{rel}">', html)
        return found.group(1).replace("&amp;", "&") if found else None

    # when the member follows "Older" to the end
    seen, html, pages = [], client.get(url).content.decode(), 0
    assert 'data-live-list="1"' in html and link(html, "prev") is None
    while True:
        pages += 1
        seen += titles(html)
        assert "45 discussions" in html
        older = link(html, "next")
        if older is None:
            break
        html = client.get(url + older).content.decode()
        assert 'data-live-list="0"' in html
    # then each discussion came once, latest activity first, 20 a page
    assert pages == 3 and seen == [f"Week {index}" for index in range(44)] + ["Long runs"]
    # and "Newer" leads back
    html = client.get(url + link(html, "prev")).content.decode()
    assert titles(html) == [f"Week {index}" for index in range(20, 40)]
    # a cursor that is not one shows the newest page
    html = client.get(url + "?before=drop%20table").content.decode()
    assert titles(html)[:2] == ["Week 0", "Week 1"]


def test_a_long_page_runs_as_many_queries_as_a_short_one(client, world):
    # given a group with 25 discussions, and discussions with 2 and 12 replies (each reply
    # quoting the one before it and reacted to)
    coach, group, member, _discussion, _reply = world
    for index in range(24):
        make_discussion(group, coach, title=f"Week {index}")
    Group.objects.filter(pk=group.pk).update(discussion_count=25)
    short, long = (make_discussion(group, coach, title=f"{n} replies") for n in (2, 12))
    for target, count in ((short, 2), (long, 12)):
        previous = None
        for index in range(count):
            reply = make_reply(target, coach, f"Reply {index}")
            Reply.objects.filter(pk=reply.pk).update(quote_of=previous)
            Reaction.objects.create(user=member, discussion=target, reply=reply, kind="like")
            previous = reply
    client.force_login(member)

    def queries(url: str) -> int:
        client.get(url)  # once before: a first visit records it (seen_at)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured.captured_queries)

    # when the pages are read, then the number of queries does not grow with the page
    group_url = reverse("community:group", args=[group.pk])
    newest = selectors.discussion_page(group=group)
    assert len(newest.discussions) == 20
    assert queries(group_url) == queries(f"{group_url}?before={newest.older}")
    assert queries(reverse("community:discussion", args=[short.pk])) == queries(
        reverse("community:discussion", args=[long.pk])
    )
    api = "community_api_replies"
    assert queries(reverse(api, args=[short.pk])) == queries(reverse(api, args=[long.pk]))


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
