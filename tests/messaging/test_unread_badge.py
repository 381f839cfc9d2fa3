"""The navigation's unread badge is cached per user, and a message that arrives, is read or
is hidden shows on the very next page."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messaging import services
from messaging.models import Message
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _badge(client) -> tuple[str, list[str]]:
    """The badge's count on the home page, and the queries the page ran."""
    with CaptureQueriesContext(connection) as queries:
        html = client.get("/").content.decode()
    start = html.index('id="unread-badge" data-count="') + len('id="unread-badge" data-count="')
    return html[start : html.index('"', start)], [query["sql"] for query in queries]


def _counts_messages(queries: list[str]) -> bool:
    return any('FROM "messaging_message"' in sql for sql in queries)


def test_the_badge_is_counted_once_then_served_from_the_cache(client, thread, client_user):
    # given: one unread message
    services.message_send(thread=thread, sender=thread.coach, body="Welcome")
    client.force_login(client_user)
    # when: two pages
    first, first_queries = _badge(client)
    second, second_queries = _badge(client)
    # then: the same count, the second without counting messages again
    assert first == second == "1"
    assert _counts_messages(first_queries)
    assert not _counts_messages(second_queries)


def test_a_message_that_arrives_shows_on_the_next_page(
    client, thread, client_user, django_capture_on_commit_callbacks
):
    client.force_login(client_user)
    assert _badge(client)[0] == "0"
    # when: the coach writes twice
    with django_capture_on_commit_callbacks(execute=True):
        services.message_send(thread=thread, sender=thread.coach, body="Hello")
    assert _badge(client)[0] == "1"
    with django_capture_on_commit_callbacks(execute=True):
        services.message_send(thread=thread, sender=thread.coach, body="Are you there?")
    # then: each shows at once
    assert _badge(client)[0] == "2"


def test_reading_answering_and_hiding_clear_the_badge(
    client, thread, client_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.message_send(thread=thread, sender=thread.coach, body="One")
        services.message_send(thread=thread, sender=thread.coach, body="Two")
    client.force_login(client_user)
    assert _badge(client)[0] == "2"
    # when: the client reads the first message
    with django_capture_on_commit_callbacks(execute=True):
        services.thread_mark_read(thread=thread, user=client_user, up_to_seq=1)
    assert _badge(client)[0] == "1"
    # when: a moderator hides the second
    moderator = UserFactory(is_staff=True)
    with django_capture_on_commit_callbacks(execute=True):
        services.message_hide(
            message=Message.objects.get(thread=thread, seq=2), moderator=moderator
        )
    assert _badge(client)[0] == "0"
    # when: a third arrives and the client answers (the answer marks the thread read)
    with django_capture_on_commit_callbacks(execute=True):
        services.message_send(thread=thread, sender=thread.coach, body="Three")
    assert _badge(client)[0] == "1"
    with django_capture_on_commit_callbacks(execute=True):
        services.message_send(thread=thread, sender=client_user, body="Here!")
    assert _badge(client)[0] == "0"


@pytest.mark.django_db(transaction=True)
def test_opening_the_conversation_clears_the_badge_on_that_page(client, thread, client_user):
    # committed as the server commits, so the read mark's change is known before the page
    # draws its navigation
    services.message_send(thread=thread, sender=thread.coach, body="Hello")
    client.force_login(client_user)
    assert _badge(client)[0] == "1"
    # when: the client opens the conversation (marking it read as the page renders)
    html = client.get(thread.get_absolute_url()).content.decode()
    # then: that page's badge, and the next page's, count nothing
    assert 'id="unread-badge" data-count="0"' in html
    assert _badge(client)[0] == "0"
