"""Acceptance 4: the unread-message e-mail, sent by a real Celery worker once, and not again
within the hour."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from marketplace.models import SentMail
from messaging import services
from messaging.models import ReadState
from tests.conftest import wait_for

pytestmark = pytest.mark.worker

DELAY_SECONDS = 1


@pytest.fixture
def unread_worker(request, transactional_db, monkeypatch, settings):
    """A real worker whose unread delay is one second instead of ten minutes.

    The worker is a separate process: it reads the delay from its environment, which it
    inherits from this one, so the variable is set before the worker starts.
    """
    monkeypatch.setenv("MESSAGE_UNREAD_EMAIL_DELAY", str(DELAY_SECONDS))
    settings.MESSAGE_UNREAD_EMAIL_DELAY = DELAY_SECONDS
    settings.MESSAGES_BEFORE_BOOKING_LIMIT = 20
    return request.getfixturevalue("celery_worker")


def finished_notify_tasks(worker) -> list[str]:
    """Celery's "Task messaging.notify_unread[…] succeeded in …s: <result>" lines, the
    ``event`` of the worker's JSON log lines."""
    events = []
    for line in worker.output().splitlines():
        try:
            event = json.loads(line).get("event", "")
        except ValueError:
            event = line
        if "messaging.notify_unread[" in event and " succeeded in " in event:
            events.append(event)
    return events


def test_unread_message_email_is_sent_once_and_not_repeated_within_the_hour(
    unread_worker, thread, client_user, coach_user
):
    # given / when: the client writes and the coach does not read it
    services.message_send(thread=thread, sender=client_user, body="Are you free on Tuesday?")

    # then: after the delay the worker mails the coach, once
    mail = wait_for(
        lambda: SentMail.objects.filter(to=coach_user.email).first(),
        timeout=30,
        message="no unread e-mail from the worker",
    )
    assert "New message from Chloe Client" in mail.subject
    assert f"/messages/{thread.pk}/" in mail.body
    assert ReadState.objects.get(thread=thread, user=coach_user).notified_at is not None

    # when: more messages arrive within the hour
    services.message_send(thread=thread, sender=client_user, body="Or Wednesday?")
    services.message_send(thread=thread, sender=client_user, body="Either works.")
    # then: their tasks run on the worker and send nothing more
    wait_for(lambda: len(finished_notify_tasks(unread_worker)) >= 3, timeout=30)
    assert SentMail.objects.filter(to=coach_user.email).count() == 1
    assert sum(line.endswith(": False") for line in finished_notify_tasks(unread_worker)) == 2

    # and a message the coach reads in time is not mailed about at all, even after the hour
    ReadState.objects.filter(thread=thread, user=coach_user).update(
        notified_at=timezone.now() - timedelta(minutes=61)
    )
    services.message_send(thread=thread, sender=client_user, body="Read me quickly")
    services.thread_mark_read(thread=thread, user=coach_user)
    wait_for(lambda: len(finished_notify_tasks(unread_worker)) >= 4, timeout=30)
    assert SentMail.objects.filter(to=coach_user.email).count() == 1

    # when: an hour has passed and a new message stays unread
    services.message_send(thread=thread, sender=client_user, body="Still there?")
    # then: a second e-mail
    wait_for(lambda: SentMail.objects.filter(to=coach_user.email).count() == 2, timeout=30)
    time.sleep(DELAY_SECONDS + 1.5)
    assert SentMail.objects.filter(to=coach_user.email).count() == 2
    assert SentMail.objects.filter(to=client_user.email).count() == 0
