"""``unread_messages`` for the navigation badge of every page."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from messaging import selectors


def unread_messages(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"unread_messages": 0}
    # Counted only when a template actually shows it, and cached until it changes.
    return {"unread_messages": SimpleLazyObject(lambda: selectors.unread_badge_count(user=user))}
