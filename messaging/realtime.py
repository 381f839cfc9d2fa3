"""Pushing events to open pages through the Channels Redis layer.

Groups: ``thread-<id>`` (pages showing that conversation) and ``user-<id>`` (every page of a
signed-in user, for the unread badge). Events are sent after the database commit, so a page
that reacts to one by fetching finds the data there.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


def thread_group(thread_id: int) -> str:
    return f"thread-{thread_id}"


def user_group(user_id: int) -> str:
    return f"user-{user_id}"


def push(groups: list[str], event: dict[str, Any]) -> None:
    """Send ``event`` (``{"type": "messaging.event", "payload": {...}}``) to ``groups``.

    Real time is best effort: pages that miss an event catch up by polling, so a layer
    outage is logged, never raised into the request that saved the message.
    """
    layer = get_channel_layer()
    if layer is None:
        return

    async def send_all() -> None:
        for group in groups:
            await layer.group_send(group, event)

    try:
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


def event(payload: dict[str, Any]) -> dict[str, Any]:
    return {"type": "messaging.event", "payload": payload}
