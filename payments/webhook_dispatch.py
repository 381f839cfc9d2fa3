"""The webhook inbox is the queue: a Celery worker's dispatcher queues each stored event.

Receiving a webhook is one statement in the web process, the insert of its row, ``received``.
Publishing the processing task to the broker from the web cost more CPU than the rest of
receiving (docs/webhooks.md, "Receiving fast"); here the worker does it.

Each Celery worker process runs one ``WebhookDispatcher`` thread (started on
``worker_ready``). One of them at a time dispatches: it holds a session-level advisory lock
(``DISPATCH_LOCK``), so the events are queued once however many workers run; the others try
for the lock every ``STANDBY_SECONDS`` and take over when its holder's connection ends (its
worker stopped or died). The one that holds it first queues every event still ``received``
(what arrived while no dispatcher ran), then every ``POLL_SECONDS`` queues the ``received``
rows it has not queued yet: one indexed query, which finds nothing most of the time.

Rows are read by id. A receipt takes its id when it inserts and commits within its lock
timeout (3 s), so a row may become visible after a higher id was seen: each poll looks again
at the ids of the last ``LOOKBACK_SECONDS`` and skips those it queued.

Nothing is lost on a crash: the row is what is handed off. An event whose dispatcher died
before publishing its task is still ``received``: the next dispatcher queues it when it takes
over, and beat's ``payments.sweep_webhook_events`` after five minutes in any case. A task
queued twice (a takeover re-queues what its predecessor may have queued) is harmless:
processing takes the row with ``SKIP LOCKED`` and leaves a finished event alone.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from celery import current_app
from celery.signals import worker_ready, worker_shutdown
from django.db import DatabaseError, connections

from marketplace.queue import BROKER_UNAVAILABLE
from payments.models import WebhookEvent, WebhookEventStatus
from payments.services.webhooks import PROCESS_TASK

logger = logging.getLogger("payments.webhook_dispatch")

# pg_try_advisory_lock's key: "webhook" in ASCII; advisory locks are per database.
DISPATCH_LOCK = 0x776562686F6F6B
# How often a standby dispatcher tries for the lock; how often the one that holds it looks
# for new rows (a received event waits half of it on average before its task is queued).
STANDBY_SECONDS = 2.0
POLL_SECONDS = 0.05
# How long after queueing an id it still looks below it for rows committed late.
LOOKBACK_SECONDS = 10.0
# Ids per query.
BATCH = 500


class WebhookDispatcher:
    """Queues ``payments.process_webhook_event`` for every event received (see the module)."""

    def __init__(self, *, alias: str = "default") -> None:
        self.alias = alias
        self.stopping = threading.Event()
        self.leading = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self.run, name="webhook-dispatcher", daemon=True)
        self.thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout)

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self._serve()
            except DatabaseError:
                logger.exception("webhook dispatcher: lost its database connection")
            finally:
                self.leading.clear()
                connections[self.alias].close()
            self.stopping.wait(STANDBY_SECONDS)

    def _serve(self) -> None:
        connection = connections[self.alias]
        while not self.stopping.is_set():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [DISPATCH_LOCK])
                (got,) = cursor.fetchone()
            if got:
                break
            self.stopping.wait(STANDBY_SECONDS)
        else:
            return
        self.leading.set()
        queued: dict[int, float] = {}  # ids queued in the last LOOKBACK_SECONDS, and when
        below = 0  # every received row with a lower id was queued
        while not self.stopping.is_set():
            ids = self._received(above=below, skip=queued)
            self._publish(ids)
            now = time.monotonic()
            queued.update((event_id, now) for event_id in ids)
            for event_id, at in list(queued.items()):
                if now - at < LOOKBACK_SECONDS:
                    break
                below = max(below, event_id)
                del queued[event_id]
            if len(ids) < BATCH:
                self.stopping.wait(POLL_SECONDS)

    def _received(self, *, above: int, skip: dict[int, float]) -> list[int]:
        """Up to ``BATCH`` ids of received rows above ``above`` not in ``skip``."""
        ids: list[int] = []
        while len(ids) < BATCH:
            batch = list(
                WebhookEvent.objects.using(self.alias)
                .filter(status=WebhookEventStatus.RECEIVED, pk__gt=above)
                .order_by("pk")
                .values_list("pk", flat=True)[:BATCH]
            )
            ids += [event_id for event_id in batch if event_id not in skip]
            if len(batch) < BATCH:
                break
            above = batch[-1]
        return ids

    def _publish(self, ids: list[int]) -> None:
        """Queue each event's processing; what the broker refuses is queued on the next
        poll (the row is still ``received``)."""
        for index, event_id in enumerate(ids):
            try:
                current_app.send_task(PROCESS_TASK, args=(event_id,), ignore_result=True)
            except BROKER_UNAVAILABLE:
                logger.exception("webhook dispatcher: the broker refused %s", len(ids) - index)
                del ids[index:]
                self.stopping.wait(STANDBY_SECONDS)
                return


_dispatcher: WebhookDispatcher | None = None


@worker_ready.connect(dispatch_uid="payments-webhook-dispatcher-start")
def start_dispatcher(**kwargs: Any) -> None:
    global _dispatcher
    if _dispatcher is None:
        _dispatcher = WebhookDispatcher()
        _dispatcher.start()


@worker_shutdown.connect(dispatch_uid="payments-webhook-dispatcher-stop")
def stop_dispatcher(**kwargs: Any) -> None:
    global _dispatcher
    if _dispatcher is not None:
        _dispatcher.stop()
        _dispatcher = None
