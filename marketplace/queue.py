"""Queue Celery tasks only once the surrounding transaction has committed, and never lose one.

A task queued inside a transaction can run before the commit and read nothing, or run for a
change that was rolled back. Every task in the project is queued through ``enqueue``.

``enqueue`` writes the task into the outbox (``OutboxMessage``) inside the caller's
transaction, so the task exists exactly when the change that asked for it does. After the
commit it is published to the broker and its row deleted (in batches, by a thread of the
process). A publish that fails (the broker is down, or slower than
``REDIS_SOCKET_TIMEOUT``) leaves the row, and the ``marketplace.drain_outbox`` beat task
sends it later: no confirmation e-mail, refund or transfer is lost to a broker outage.
After a failure, publishing pauses for
``OUTBOX_RETRY_AFTER`` seconds (the rows wait for the drain), so requests during an outage
do not each wait for the broker's timeout.

With ``CELERY_TASK_ALWAYS_EAGER`` (the tests, unless they start a worker) tasks run in the
calling process at commit, as before, with no outbox row.
"""

from __future__ import annotations

import atexit
import json
import logging
import threading
import time
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from celery import Task, current_app
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError
from kombu.utils import json as kombu_json
from redis.exceptions import RedisError

from marketplace.circuit import Circuit, circuit_for
from marketplace.models import OutboxMessage

logger = logging.getLogger("marketplace.queue")

# A broker that cannot be reached or does not answer in time (kombu re-raises redis-py's
# errors as its own OperationalError; socket errors may come through bare).
BROKER_UNAVAILABLE = (KombuOperationalError, RedisError, OSError)

# Rows the drain sent are kept this long: the record of what an outage delayed.
KEEP_SENT = timedelta(days=1)
DRAIN_BATCH = 200

_TABLE = OutboxMessage._meta.db_table
_INSERT_SQL = (
    f"INSERT INTO {_TABLE} (task, args, kwargs, eta, created_at, attempts, last_error) "  # noqa: S608 - our table
    "VALUES (%s, %s::jsonb, %s::jsonb, %s, %s, 0, '') RETURNING id"
)
# After the publish, a row is only a copy: its deletion need not wait for the disk (lost in
# a database crash, the row is sent once more by the drain). In autocommit, the two
# statements of one query are one transaction.
_DELETE_SQL = f"SET LOCAL synchronous_commit = off;DELETE FROM {_TABLE} WHERE id = ANY(%s)"  # noqa: S608 - our table
# Seconds the published rows gather before one statement deletes them (far below
# OUTBOX_DRAIN_AFTER, so the drain never sees a row that was published).
DELETE_EVERY = 0.2


def broker_circuit() -> Circuit:
    """The process's circuit for publishing to the current broker."""
    return circuit_for(
        ("broker", str(current_app.conf.broker_url)),
        "the Celery broker",
        settings.OUTBOX_RETRY_AFTER,
    )


def enqueue(task: Task | str, *args: Any, countdown: float | None = None, **kwargs: Any) -> None:
    """Queue ``task`` with ``args``/``kwargs`` (ids, not model instances) after commit.

    ``task`` is the task or its registered name (``"payments.execute_refund"``): a service
    names the task it queues, so it need not import the tasks module that imports it. Outside
    a transaction (autocommit) the outbox row is written and published at once.
    """
    name = task if isinstance(task, str) else task.name
    if current_app.conf.task_always_eager:
        eager = _task_named(task) if isinstance(task, str) else task
        transaction.on_commit(
            partial(eager.apply_async, args=args, kwargs=kwargs, countdown=countdown)
        )
        return
    now = timezone.now()
    eta = now + timedelta(seconds=countdown) if countdown else None
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_SQL, [name, kombu_json.dumps(list(args)), kombu_json.dumps(kwargs), eta, now]
        )
        (message_id,) = cursor.fetchone()
    transaction.on_commit(partial(_publish_new, message_id, name, args, kwargs, countdown))


def outbox_insert_sql(*, args: str, source: str) -> str:
    """An ``INSERT`` of one outbox row per row of ``source``, for a caller that writes its
    change and queues its task in one statement (a CTE): ``args`` is the SQL expression of
    the task's arguments, a JSON array (``jsonb_build_array(event.id)``); two parameters
    follow, the task's name and the time. ``RETURNING id``: pass it to ``enqueue_written``.
    """
    return (
        f"INSERT INTO {_TABLE} (task, args, kwargs, eta, created_at, attempts, last_error) "  # noqa: S608 - our table and the caller's SQL
        f"SELECT %s, {args}, '{{}}'::jsonb, NULL, %s, 0, '' FROM {source} RETURNING id"
    )


def enqueue_written(message_id: int, task: str, *args: Any) -> None:
    """After commit, publish the task whose outbox row the caller wrote itself with
    ``outbox_insert_sql`` (not in eager mode: there the caller uses ``enqueue``)."""
    transaction.on_commit(partial(_publish_new, message_id, task, args, {}, None))


def _publish_new(
    message_id: int, name: str, args: tuple, kwargs: dict, countdown: float | None
) -> None:
    """After the commit: publish, then delete the row. Never raises (other on-commit
    callbacks still run); whatever fails leaves the row for the drain."""
    circuit = broker_circuit()
    if not circuit.allows():
        return
    try:
        _publish(name, args, kwargs, countdown=countdown)
    except Exception as error:
        if isinstance(error, BROKER_UNAVAILABLE):
            circuit.failed(error)
        else:
            logger.exception("queue: publishing %s failed", name)
        _record_failure(message_id, error)
        return
    circuit.succeeded()
    _deleter.add(message_id)


class _Deleter:
    """Deletes the rows published after commit, in batches, from one thread per process.

    Every Stripe webhook received publishes one task: a ``DELETE`` of its own would be a
    second round trip (and a second commit) in the request. Here the request only hands the
    id over; a thread deletes what gathered every ``DELETE_EVERY`` seconds in one statement,
    on its own connection, and ends (closing it) when nothing is left. Ids not deleted when
    the process dies are rows the drain sends once more: every task is safe to run twice.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ids: list[int] = []
        self.thread: threading.Thread | None = None

    def add(self, message_id: int) -> None:
        with self.lock:
            self.ids.append(message_id)
            if self.thread is None:
                self.thread = threading.Thread(target=self.run, name="outbox-deleter", daemon=True)
                self.thread.start()

    def run(self) -> None:
        try:
            while True:
                time.sleep(DELETE_EVERY)
                with self.lock:
                    ids, self.ids = self.ids, []
                    if not ids:
                        self.thread = None
                        return
                try:
                    with connection.cursor() as cursor:
                        cursor.execute(_DELETE_SQL, [ids])
                except DatabaseError:
                    # Published; the drain sends these once more (tasks are safe to repeat).
                    logger.exception("queue: could not delete %s published outbox rows", len(ids))
                    connection.close()
        finally:
            connection.close()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until the published rows are deleted (for shutdown and tests)."""
        thread = self.thread
        if thread is not None:
            thread.join(timeout)
        return self.thread is None or not self.thread.is_alive()


_deleter = _Deleter()
# A process that ends normally deletes what it published (best effort: the drain covers it).
atexit.register(_deleter.flush, 1.0)


def flush_deletions(timeout: float = 5.0) -> bool:
    """Wait until the rows published so far in this process are deleted."""
    return _deleter.flush(timeout)


def _publish(
    name: str,
    args: Any,
    kwargs: dict,
    *,
    countdown: float | None = None,
    eta: datetime | None = None,
) -> None:
    # No result is subscribed to (nothing reads the result of a queued task): the publish
    # is one command to the broker, bounded by the broker's socket timeout and retry policy.
    _task_named(name).apply_async(
        args=args, kwargs=kwargs, countdown=countdown, eta=eta, ignore_result=True
    )


def _record_failure(message_id: int, error: BaseException) -> None:
    try:
        OutboxMessage.objects.filter(pk=message_id).update(
            attempts=F("attempts") + 1, last_error=_describe(error)
        )
    except DatabaseError:
        logger.exception("queue: could not record the failed publish of row %s", message_id)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:2000]


def outbox_drain(*, older_than: float | None = None) -> int:
    """Publish the outbox rows not sent yet that are at least ``older_than`` seconds old
    (default ``OUTBOX_DRAIN_AFTER``, so a row whose publish after commit is still under way
    is left to it) and mark them sent; delete rows sent more than a day ago. Returns how
    many were sent. Stops at the first publish the broker refuses (the rest wait).

    Safe to run twice and concurrently: rows are taken with ``SKIP LOCKED``.
    """
    if older_than is None:
        older_than = settings.OUTBOX_DRAIN_AFTER
    sent = 0
    while True:
        with transaction.atomic():
            rows = list(
                OutboxMessage.objects.select_for_update(skip_locked=True)
                .filter(
                    sent_at__isnull=True,
                    created_at__lte=timezone.now() - timedelta(seconds=older_than),
                )
                .order_by("id")[:DRAIN_BATCH]
            )
            done: list[int] = []
            stopped = False
            for row in rows:
                try:
                    _publish(
                        row.task,
                        kombu_json.loads(json.dumps(row.args)),
                        kombu_json.loads(json.dumps(row.kwargs)),
                        eta=row.eta if row.eta and row.eta > timezone.now() else None,
                    )
                except Exception as error:
                    if not isinstance(error, BROKER_UNAVAILABLE):
                        logger.exception("queue: publishing outbox row %s failed", row.pk)
                    _record_failure(row.pk, error)
                    stopped = isinstance(error, BROKER_UNAVAILABLE)
                    if stopped:
                        break
                    continue
                done.append(row.pk)
            if done:
                OutboxMessage.objects.filter(pk__in=done).update(sent_at=timezone.now())
                sent += len(done)
        if stopped or len(rows) < DRAIN_BATCH:
            break
    OutboxMessage.objects.filter(sent_at__lt=timezone.now() - KEEP_SENT).delete()
    if sent:
        logger.warning("queue: sent %s task(s) kept in the outbox", sent)
        broker_circuit().succeeded()
    return sent


def _task_named(name: str) -> Task:
    """The registered task called ``name``; every app's ``tasks`` module is imported when the
    Celery app loads (``autodiscover_tasks``), so an unknown name is a mistake."""
    tasks = current_app.tasks
    if name not in tasks:
        current_app.loader.import_default_modules()
    return tasks[name]
