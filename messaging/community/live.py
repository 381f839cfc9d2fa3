"""Live updates of groups and discussions, through messaging's real-time layer.

Channels groups: ``community-group-<id>`` (pages showing a group's list),
``community-discussion-<id>`` (pages showing a discussion) and
``community-member-<group>-<user>`` (every community socket of one person in one group: a
ban closes them). Events are announced after commit on messaging's publisher thread
(``messaging.realtime.defer``) and carry the HTML the server rendered once, so escaping is
decided in one place. Only published posts are announced.
"""

from __future__ import annotations

import json
from typing import Any

from django.urls import reverse

from messaging import realtime
from messaging.community.models import Discussion, Reply
from messaging.community.rendering import plain_excerpt


def group_channel(group_id: int) -> str:
    return f"community-group-{group_id}"


def discussion_channel(discussion_id: int) -> str:
    return f"community-discussion-{discussion_id}"


def member_channel(group_id: int, user_id: int) -> str:
    return f"community-member-{group_id}-{user_id}"


def person(user) -> dict[str, Any]:
    handle = getattr(user, "community_handle", None)
    return {"id": user.pk, "name": user.display_name, "handle": handle.handle if handle else ""}


def reply_payload(reply: Reply) -> dict[str, Any]:
    """The one JSON shape of a reply, for the API, live events and catch-up."""
    quote = None
    if reply.quote_of_id is not None and reply.quote_of is not None:
        quoted = reply.quote_of
        visible = quoted.is_visible
        quote = {
            "seq": quoted.seq,
            "author": quoted.author.display_name,
            "body_html": quoted.body_html if visible else "",
            "visible": visible,
        }
    return {
        "id": reply.pk,
        "discussion": reply.discussion_id,
        "seq": reply.seq,
        "author": person(reply.author),
        "body": reply.body if reply.is_visible else "",
        "body_html": reply.body_html if reply.is_visible else "",
        "status": reply.status,
        "quote": quote,
        "created_at": reply.created_at.isoformat(),
        "edited_at": reply.edited_at.isoformat() if reply.edited_at else None,
    }


def discussion_summary(discussion: Discussion) -> dict[str, Any]:
    """A discussion as a row of its group's list."""
    return {
        "id": discussion.pk,
        "group": discussion.group_id,
        "title": discussion.title,
        "url": reverse("community:discussion", args=[discussion.pk]),
        "author": person(discussion.author),
        "excerpt": plain_excerpt(discussion.body),
        "reply_count": discussion.reply_count,
        "last_activity_at": discussion.last_activity_at.isoformat(),
        "created_at": discussion.created_at.isoformat(),
    }


def event(payload: dict[str, Any]) -> dict[str, Any]:
    """The channel-layer message of ``payload``: its JSON written once here, so each of a
    discussion's viewers' sockets sends the same text instead of encoding it again."""
    return {"type": "community.event", "kind": payload["kind"], "text": json.dumps(payload)}


def announce(channels: list[str], payload: dict[str, Any]) -> None:
    """Queue ``payload`` for ``channels`` on the publisher thread (call after commit)."""
    message = event(payload)
    realtime.defer(lambda: realtime.push(channels, message))


def announce_reply(reply: Reply, discussion: Discussion) -> None:
    announce(
        [discussion_channel(discussion.pk)],
        {"kind": "reply", "discussion": discussion.pk, "reply": reply_payload(reply)},
    )
    announce_activity(discussion)


def announce_activity(discussion: Discussion) -> None:
    announce(
        [group_channel(discussion.group_id)],
        {"kind": "activity", "discussion": discussion_summary(discussion)},
    )


def announce_discussion(discussion: Discussion) -> None:
    announce(
        [group_channel(discussion.group_id)],
        {"kind": "discussion", "discussion": discussion_summary(discussion)},
    )


def announce_gone(*, discussion: Discussion, reply: Reply | None) -> None:
    """A post no longer shown (hidden, removed or deleted): pages take it out."""
    payload = {
        "kind": "gone",
        "discussion": discussion.pk,
        "reply": reply.seq if reply is not None else None,
    }
    channels = [discussion_channel(discussion.pk)]
    if reply is None:
        channels.append(group_channel(discussion.group_id))
    announce(channels, payload)


def announce_reactions(
    *, discussion: Discussion, reply: Reply | None, counts: dict[str, int]
) -> None:
    announce(
        [discussion_channel(discussion.pk)],
        {
            "kind": "reactions",
            "discussion": discussion.pk,
            "reply": reply.seq if reply is not None else None,
            "counts": counts,
        },
    )


def announce_revoked(*, group_id: int, user_id: int) -> None:
    """Close every community socket ``user_id`` has open in the group (a ban)."""
    message = {"type": "community.revoked", "user": user_id}
    realtime.defer(lambda: realtime.push([member_channel(group_id, user_id)], message))
