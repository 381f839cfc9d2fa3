"""Whose clock a page shows: the viewer's.

``ViewerTimeZoneMiddleware`` activates the viewer's zone for the request, so every
``{{ moment|date }}`` (pages, the admin) is in it, and templates get ``viewer_time_zone`` to
name it. The zone is the account's (chosen in account settings, first taken from the browser
at sign-up), else the browser's (the ``tz`` cookie ``static/js/app.js`` writes), else UTC.
An account still on the default zone, UTC, counts as not having chosen one: its browser's
zone is shown, with its name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from marketplace.dates import UTC_NAME, zone

TIME_ZONE_COOKIE = "tz"


def browser_zone(request: HttpRequest) -> str:
    """The zone the browser reported in its cookie, "" when none or not a known zone."""
    name = request.COOKIES.get(TIME_ZONE_COOKIE, "")[:64]
    if not name:
        return ""
    known = zone(name).key
    return known if known == name else ""


def viewer_zone(request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.time_zone not in ("", UTC_NAME):
        return zone(user.time_zone).key
    return browser_zone(request) or UTC_NAME


class ViewerTimeZoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        name = viewer_zone(request)
        request.viewer_time_zone = name  # type: ignore[attr-defined]
        timezone.activate(zone(name))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


def take_browser_zone_at_sign_up(request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """allauth's ``user_signed_up``: a new account starts in the browser's zone."""
    if request is None:
        return
    name = browser_zone(request)
    if name and user.time_zone in ("", UTC_NAME):
        user.time_zone = name
        user.save(update_fields=["time_zone"])
