"""The Channels layer on Redis with its sends bounded (docs/security.md, "When Redis is
sick").

A frozen Redis answers nothing, and redis-py waits for an answer as long as its socket
timeout allows. The layer's connections have none on purpose: a receive waits for the next
message with ``BZPOPMIN`` for 5 seconds, and with a socket timeout on redis-py's asyncio
connections a receive cancelled when its WebSocket closes could miss its cancellation and
keep the server from shutting down (seen with ``socket_timeout`` 2 s and 6 s). A receive on
the event loop holds no thread, so it may wait for Redis; what must not wait is the caller
of a send: here ``send``, ``group_send``, ``group_add`` and ``group_discard`` give up after
``send_timeout`` seconds (asyncio's ``TimeoutError``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from channels_redis.core import RedisChannelLayer as BaseRedisChannelLayer


class RedisChannelLayer(BaseRedisChannelLayer):
    def __init__(self, *args: Any, send_timeout: float = 1.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.send_timeout = send_timeout

    async def send(self, channel: str, message: dict) -> None:
        async with asyncio.timeout(self.send_timeout):
            await super().send(channel, message)

    async def group_send(self, group: str, message: dict) -> None:
        async with asyncio.timeout(self.send_timeout):
            await super().group_send(group, message)

    async def group_add(self, group: str, channel: str) -> None:
        async with asyncio.timeout(self.send_timeout):
            await super().group_add(group, channel)

    async def group_discard(self, group: str, channel: str) -> None:
        async with asyncio.timeout(self.send_timeout):
            await super().group_discard(group, channel)
