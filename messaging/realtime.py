"""Pushing events to open pages through the Channels Redis layer.

Groups: ``thread-<id>`` (pages showing that conversation) and ``user-<id>`` (every page of a
signed-in user, for the unread badge). Events are sent after the database commit, so a page
that reacts to one by fetching finds the data there.

Announcing a message (counting the recipient's unread messages, two group sends) is handed
to one publisher thread per process (``defer``), so the request that saved the message
answers without waiting for it, and events leave in commit order. Real time is best
effort: a page that misses an event catches up by sequence number (see static/messaging).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection

logger = logging.getLogger(__name__)


def thread_group(thread_id: int) -> str:
    return f"thread-{thread_id}"


def user_group(user_id: int) -> str:
    return f"user-{user_id}"


def event(payload: dict[str, Any]) -> dict[str, Any]:
    return {"type": "messaging.event", "payload": payload}


class _Publisher:
    """One daemon thread with its own event loop that runs announcement jobs in order."""

    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def submit(self, job: Callable[[], None]) -> None:
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(
                    target=self.run, name="messaging-publisher", daemon=True
                )
                self.thread.start()
        self.jobs.put(job)

    def run(self) -> None:
        self.loop = asyncio.new_event_loop()
        while True:
            try:
                # Busy: keep the database connection for the next job. Idle for a second:
                # close it, so no connection lingers (or blocks a test database's drop).
                job = self.jobs.get(timeout=1.0)
            except queue.Empty:
                connection.close()
                continue
            try:
                job()
            except Exception:
                logger.exception("a messaging announcement failed")
                connection.close()

    def is_current(self) -> bool:
        return threading.current_thread() is self.thread


_publisher = _Publisher()


def defer(job: Callable[[], None]) -> None:
    """Run ``job`` (which reads the database and pushes) on the publisher thread."""
    _publisher.submit(job)


def push(groups: list[str], message: dict[str, Any]) -> None:
    """Send ``message`` (built by ``event``) to ``groups``; failures are logged, never raised."""
    layer = get_channel_layer()
    if layer is None:
        return

    async def send_all() -> None:
        for group in groups:
            await layer.group_send(group, message)

    try:
        if _publisher.is_current() and _publisher.loop is not None:
            _publisher.loop.run_until_complete(send_all())
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            async_to_sync(send_all)()
        else:
            # Called from code that runs inside an event loop (async_to_sync refuses that):
            # send from a helper thread with its own loop.
            helper = threading.Thread(target=asyncio.run, args=(send_all(),))
            helper.start()
            helper.join()
    except Exception:
        logger.exception("could not push a messaging event to %s", groups)


def flush(timeout: float = 5.0) -> bool:
    """Wait until the queued announcements have run, then close the publisher's connection.

    For shutdown and tests: afterwards no thread of this process holds a database connection.
    """
    thread = _publisher.thread
    if thread is None or not thread.is_alive():
        return True
    done = threading.Event()

    def close() -> None:
        connection.close()
        done.set()

    _publisher.jobs.put(close)
    return done.wait(timeout)
