"""How a message is shown: escaped text with clickable links, and its JSON shape.

The server renders the HTML once; the page inserts it for messages that arrive live, so the
escaping rules live in one place (Django's ``urlize`` with autoescape).
"""

from __future__ import annotations

import functools
from typing import Any

from django.urls import reverse
from django.utils.html import urlize
from django.utils.safestring import SafeString, mark_safe

from messaging.models import Message

HIDDEN_TEXT = "This message was hidden by a moderator."


@functools.lru_cache(maxsize=4096)
def body_html(text: str) -> SafeString:
    """Escape ``text``, make its links clickable with ``rel="nofollow noopener"``.

    The HTML depends on the text alone, and a conversation's page shows the same messages
    on every visit: the process keeps the latest renderings (``urlize`` was a tenth of a
    thread page's time)."""
    html = urlize(text, nofollow=True, autoescape=True)
    # Every quote the sender typed is escaped to &quot; by urlize, so this attribute can only
    # be one urlize wrote itself.
    html = html.replace(' rel="nofollow"', ' rel="nofollow noopener"')
    return mark_safe(html)  # noqa: S308 - urlize escaped the text above


def attachment_url(message: Message) -> str:
    return reverse("messaging:attachment", args=[message.thread_id, message.pk])


def message_payload(message: Message) -> dict[str, Any]:
    """The one JSON shape of a message, for the API, WebSocket events and polling."""
    hidden = message.is_hidden
    payload: dict[str, Any] = {
        "id": message.pk,
        "thread": message.thread_id,
        "seq": message.seq,
        "sender": {"id": message.sender_id, "name": message.sender.display_name},
        "body": "" if hidden else message.body,
        "body_html": HIDDEN_TEXT if hidden else str(body_html(message.body)),
        "attachment": None,
        "created_at": message.created_at.isoformat(),
        "hidden": hidden,
    }
    if message.attachment and not hidden:
        payload["attachment"] = {
            "url": attachment_url(message),
            "name": message.attachment_name,
            "type": message.attachment_type,
            "size": message.attachment_size,
            "is_image": message.attachment_is_image,
        }
    return payload
