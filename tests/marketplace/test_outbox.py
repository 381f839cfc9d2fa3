"""The outbox: every task queued with ``enqueue`` is written in the caller's transaction,
published after commit, and kept for the drain when the broker cannot take it; a Stripe
webhook's processing is written by the statement that stores the event."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from marketplace import queue
from marketplace.celery import app as celery_app
from marketplace.emails import send_templated_email
from marketplace.models import OutboxMessage, SentMail
from tests.conftest import wait_for
from tests.marketplace.own_redis import use_broker


@pytest.fixture
def not_eager(settings):
    """Tasks go to a broker, as outside the tests."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    settings.CELERY_TASK_ALWAYS_EAGER = False
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def broker_down(not_eager):
    """A broker nobody listens on (each test its own, so no test inherits another's pause)."""
    previous = celery_app.conf.broker_url
    use_broker(f"redis+socket:///tmp/cc-no-broker-{uuid.uuid4().hex[:12]}.sock")
    yield
    use_broker(previous)


def _mail(subject: str) -> None:
    send_templated_email(to="client@example.test", subject=subject, template="test_hello")


@pytest.mark.django_db
def test_eager_tasks_run_at_commit_with_no_outbox_row(
    django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=True):
        _mail("Eager")
    assert [message.subject for message in mailoutbox] == ["[Coach Connect] Eager"]
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db
def test_the_task_is_written_in_the_callers_transaction(broker_down):
    # when: queued inside a transaction that is rolled back
    with transaction.atomic():
        _mail("Rolled back")
        inside = list(OutboxMessage.objects.values_list("task", flat=True))
        transaction.set_rollback(True)
    # then: it existed with the change, and went with it
    assert inside == ["marketplace.send_email"]
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db
def test_a_task_the_broker_cannot_take_stays_in_the_outbox(
    broker_down, django_capture_on_commit_callbacks
):
    # when: the publish after commit fails
    with django_capture_on_commit_callbacks(execute=True):
        _mail("While the broker is down")
    # then: the row stays, with what went wrong
    row = OutboxMessage.objects.get()
    assert row.task == "marketplace.send_email"
    assert row.kwargs["subject"] == "[Coach Connect] While the broker is down"
    assert row.attempts == 1 and "OperationalError" in row.last_error
    assert row.sent_at is None
    # and the tasks queued right after do not wait for the broker again: they stay untried
    with django_capture_on_commit_callbacks(execute=True):
        _mail("Right after")
    assert OutboxMessage.objects.get(kwargs__subject="[Coach Connect] Right after").attempts == 0


@pytest.mark.django_db
def test_a_countdown_is_kept_as_the_time_the_task_is_due(broker_down):
    before = timezone.now()
    queue.enqueue(
        "marketplace.send_email", to=["a@example.test"], subject="s", body="b", countdown=600
    )
    row = OutboxMessage.objects.get()
    assert before + timedelta(seconds=600) <= row.eta <= timezone.now() + timedelta(seconds=600)


@pytest.mark.django_db
def test_the_drain_leaves_fresh_rows_to_the_publish_after_commit(broker_down):
    # given: a row just written (the test's transaction is not committed: no publish yet)
    queue.enqueue("marketplace.send_email", to=["a@example.test"], subject="s", body="b")
    # then: younger than OUTBOX_DRAIN_AFTER, it may still be being published by its request
    assert queue.outbox_drain() == 0
    assert OutboxMessage.objects.get().attempts == 0  # not tried


@pytest.mark.django_db
def test_the_drain_stops_at_the_first_refusal_and_keeps_the_rows(broker_down):
    for index in range(3):
        queue.enqueue("marketplace.send_email", to=["a@example.test"], subject=f"{index}", body="b")
    assert queue.outbox_drain(older_than=0) == 0
    # the oldest was tried and refused; the drain did not try the others
    assert list(OutboxMessage.objects.values_list("attempts", flat=True)) == [1, 0, 0]
    assert not OutboxMessage.objects.filter(sent_at__isnull=False).exists()


@pytest.mark.django_db
def test_the_drain_forgets_rows_it_sent_more_than_a_day_ago():
    old = OutboxMessage.objects.create(
        task="marketplace.send_email",
        created_at=timezone.now() - timedelta(days=2),
        sent_at=timezone.now() - timedelta(days=1, minutes=1),
    )
    recent = OutboxMessage.objects.create(
        task="marketplace.send_email",
        created_at=timezone.now() - timedelta(hours=2),
        sent_at=timezone.now() - timedelta(hours=1),
    )
    queue.outbox_drain()
    assert list(OutboxMessage.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not OutboxMessage.objects.filter(pk=old.pk).exists()


def test_a_task_published_after_commit_runs_on_the_worker_and_leaves_no_row(celery_worker):
    # when
    with transaction.atomic():
        _mail("Published at once")
        assert OutboxMessage.objects.count() == 1
    # then
    assert wait_for(
        lambda: SentMail.objects.filter(subject="[Coach Connect] Published at once").exists()
    )
    assert queue.flush_deletions()  # published rows are deleted in batches
    assert not OutboxMessage.objects.exists()


def test_tasks_kept_while_the_broker_was_down_are_sent_by_the_drain(celery_worker):
    # given: two e-mails queued while the broker was unreachable
    working = celery_app.conf.broker_url
    use_broker(f"redis+socket:///tmp/cc-no-broker-{uuid.uuid4().hex[:12]}.sock")
    try:
        for subject in ("First kept", "Second kept"):
            with transaction.atomic():
                _mail(subject)
    finally:
        use_broker(working)
    assert OutboxMessage.objects.filter(sent_at__isnull=True).count() == 2
    assert not SentMail.objects.exists()
    # when: the broker is back and the drain runs
    assert queue.outbox_drain(older_than=0) == 2
    # then: the worker delivers both, the rows are marked sent, and a second drain sends none
    assert wait_for(lambda: SentMail.objects.count() == 2, message="kept tasks not delivered")
    assert set(SentMail.objects.values_list("subject", flat=True)) == {
        "[Coach Connect] First kept",
        "[Coach Connect] Second kept",
    }
    assert OutboxMessage.objects.filter(sent_at__isnull=False).count() == 2
    assert queue.outbox_drain(older_than=0) == 0
