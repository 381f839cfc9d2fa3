"""WebSocket endpoints of the community: a group's list and one discussion.

``/ws/community/groups/<id>/`` joins the group's channel and
``/ws/community/discussions/<id>/`` the discussion's, each after the same read check as the
pages (``selectors``); anyone else has the handshake refused (HTTP 403). Both also join the
person's member channel of the group, through which a ban closes the socket at once. The
sockets only deliver: posts go over HTTP, where validation, limits and moderation live.
Origins are checked by the ASGI application for every socket (``AllowedHostsOriginValidator``).
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from marketplace.errors import NotFound
from messaging.community import live, selectors


@database_sync_to_async
def _channels_for(user, *, group_id: int | None, discussion_id: int | None) -> list[str] | None:
    try:
        if discussion_id is not None:
            discussion, _access = selectors.discussion_access(
                discussion_id=discussion_id, user=user
            )
            return [
                live.discussion_channel(discussion.pk),
                live.member_channel(discussion.group_id, user.pk),
            ]
        if group_id is not None:
            access = selectors.group_access(group_id=group_id, user=user, need="read")
            return [
                live.group_channel(access.group.pk),
                live.member_channel(access.group.pk, user.pk),
            ]
    except NotFound:
        return None
    return None


class CommunityConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: list[str]

    async def connect(self) -> None:
        self.groups_joined = []
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close()
            return
        self.user_id = user.pk
        kwargs = self.scope["url_route"]["kwargs"]
        channels = await _channels_for(
            user, group_id=kwargs.get("group_id"), discussion_id=kwargs.get("discussion_id")
        )
        if not channels:
            await self.close()
            return
        for channel in channels:
            await self.channel_layer.group_add(channel, self.channel_name)
        self.groups_joined = channels
        await self.accept()
        await self.send_json({"kind": "hello", "user": user.pk})

    async def disconnect(self, code: int) -> None:
        for channel in self.groups_joined:
            await self.channel_layer.group_discard(channel, self.channel_name)

    @classmethod
    async def decode_json(cls, text_data):
        try:
            return await super().decode_json(text_data)
        except ValueError:
            return None  # not JSON: ignored, the socket stays open

    async def receive_json(self, content, **kwargs) -> None:
        if isinstance(content, dict) and content.get("kind") == "ping":
            await self.send_json({"kind": "pong"})

    async def community_event(self, event: dict) -> None:
        """A live event (``live.event``): its JSON text, encoded once for every viewer."""
        await self.send(text_data=event["text"])

    async def community_revoked(self, event: dict) -> None:
        """A ban: the socket of the banned member closes."""
        if event.get("user") == self.user_id:
            await self.send_json({"kind": "revoked"})
            await self.close(code=4403)
