"""WebSocket endpoints: the unread badge on every page, and one open conversation.

``/ws/messages/`` joins the signed-in user's group. ``/ws/messages/threads/<id>/`` also joins
the thread's group, after checking that the user may read it; anyone else has the handshake
refused (HTTP 403), so a non-participant never receives a byte of the conversation.
The socket only delivers: messages are posted over HTTP (the API), where validation,
rate limits and the database live.
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from marketplace.errors import NotFound
from messaging import realtime, selectors


@database_sync_to_async
def _may_read(user, thread_id: int) -> bool:
    try:
        selectors.thread_get_for_user(thread_id=thread_id, user=user)
    except NotFound:
        return False
    return True


class MessagingConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: list[str]

    async def connect(self) -> None:
        self.groups_joined = []
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close()
            return
        thread_id = self.scope["url_route"]["kwargs"].get("thread_id")
        if thread_id is not None and not await _may_read(user, int(thread_id)):
            await self.close()
            return
        groups = [realtime.user_group(user.pk)]
        if thread_id is not None:
            groups.append(realtime.thread_group(int(thread_id)))
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined = groups
        await self.accept()
        await self.send_json({"kind": "hello", "user": user.pk})

    async def disconnect(self, code: int) -> None:
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    @classmethod
    async def decode_json(cls, text_data):
        try:
            return await super().decode_json(text_data)
        except ValueError:
            return None  # not JSON: ignored, the socket stays open

    async def receive_json(self, content, **kwargs) -> None:
        # A keep-alive: pages ping so proxies keep the socket open.
        if isinstance(content, dict) and content.get("kind") == "ping":
            await self.send_json({"kind": "pong"})

    async def messaging_event(self, event: dict) -> None:
        await self.send_json(event["payload"])
