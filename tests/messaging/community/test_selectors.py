"""Community reads: a group's list paged by cursor (latest activity first)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from messaging.community import selectors
from messaging.community.models import Discussion, PostStatus
from messaging.community.selectors import ListCursor
from tests.messaging.community.factories import coach_group, make_discussion, verified_coach

pytestmark = pytest.mark.django_db


@pytest.fixture
def group():
    return coach_group(verified_coach())


def _discussions(group, activity: list[datetime]) -> list[Discussion]:
    """Discussions whose latest activity is ``activity`` (in order of creation)."""
    made = []
    for index, when in enumerate(activity):
        discussion = make_discussion(group, group.owner, title=f"d{index}")
        Discussion.objects.filter(pk=discussion.pk).update(last_activity_at=when)
        made.append(discussion)
    return made


def _titles(page) -> list[str]:
    return [discussion.title for discussion in page.discussions]


def _walk_older(group, limit: int) -> list[list[str]]:
    pages, page = [], selectors.discussion_page(group=group, limit=limit)
    pages.append(_titles(page))
    while page.older is not None:
        page = selectors.discussion_page(group=group, before=page.older, limit=limit)
        pages.append(_titles(page))
    return pages


def test_pages_follow_latest_activity_and_split_equal_times_by_id(group):
    # given seven discussions, three of them with the same latest activity, one hidden
    now = timezone.now()
    same = now - timedelta(hours=2)
    _discussions(group, [now - timedelta(hours=5), same, same, same, now, now - timedelta(hours=1)])
    hidden = make_discussion(group, group.owner, title="hidden")
    Discussion.objects.filter(pk=hidden.pk).update(status=PostStatus.HIDDEN)
    # when the list is read three at a time, always older
    pages = _walk_older(group, limit=3)
    # then every published discussion comes once, newest first, the ties newest id first
    assert pages == [["d4", "d5", "d3"], ["d2", "d1", "d0"]]
    expected = list(
        Discussion.objects.filter(group=group, status=PostStatus.PUBLISHED)
        .order_by("-last_activity_at", "-id")
        .values_list("title", flat=True)
    )
    assert [title for titles in pages for title in titles] == expected


def test_newer_pages_lead_back_to_the_newest(group):
    now = timezone.now()
    _discussions(group, [now - timedelta(minutes=index) for index in range(7)])
    first = selectors.discussion_page(group=group, limit=3)
    second = selectors.discussion_page(group=group, before=first.older, limit=3)
    third = selectors.discussion_page(group=group, before=second.older, limit=3)
    assert (_titles(first), _titles(second), _titles(third)) == (
        ["d0", "d1", "d2"],
        ["d3", "d4", "d5"],
        ["d6"],
    )
    assert first.newer is None and not first.paged and third.older is None
    back = selectors.discussion_page(group=group, after=third.newer, limit=3)
    assert _titles(back) == ["d3", "d4", "d5"] and back.paged
    # the page newer than the second is the newest page, not a partial one
    top = selectors.discussion_page(group=group, after=back.newer, limit=3)
    assert _titles(top) == ["d0", "d1", "d2"] and top.newer is None and not top.paged


def test_a_discussion_moving_to_the_top_does_not_repeat_the_page_before(group):
    now = timezone.now()
    made = _discussions(group, [now - timedelta(minutes=index) for index in range(6)])
    first = selectors.discussion_page(group=group, limit=3)
    assert _titles(first) == ["d0", "d1", "d2"]
    # someone replies to a discussion of the next page: it moves to the top
    Discussion.objects.filter(pk=made[4].pk).update(last_activity_at=now + timedelta(minutes=1))
    second = selectors.discussion_page(group=group, before=first.older, limit=3)
    # the next page goes on after d2 (by numbers, page 2 would now start with d2 again)
    assert _titles(second) == ["d3", "d5"]


def test_a_cursor_reads_back_what_was_written_and_nothing_else():
    when = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
    cursor = ListCursor(when, 42)
    assert ListCursor.parse(str(cursor)) == cursor
    for text in ("", None, "abc", "12", "12.", ".5", "-1.2", "1.2.3", "1e5.3", "9" * 30 + ".1"):
        assert ListCursor.parse(text) is None, text
