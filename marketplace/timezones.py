"""Whose clock a page shows: the viewer's.

``ViewerTimeZoneMiddleware`` activates the viewer's zone for the request, so every
``{{ moment|date }}`` (pages, the admin) is in it, and templates get ``viewer_time_zone`` to
name it. The zone is the account's (chosen in account settings, first taken from the browser
at sign-up), else the browser's (the ``tz`` cookie ``static/js/timezone.js`` writes in the
``<head>`` of every page, before anything is drawn), else UTC. An account still on the
default zone, UTC, counts as not having chosen one: its browser's zone is shown, with its
name.

``visitor_time_zone`` adds a zone the visitor picked for one page (``?tz=``, the booking
calendar's "Times shown in") and says whether the zone is known at all: on a visitor's very
first request the cookie is not there yet, and the calendar waits for it rather than draw
times in UTC first (docs/coaches.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from marketplace.dates import UTC_NAME, zone

TIME_ZONE_COOKIE = "tz"


def browser_zone(request: HttpRequest) -> str:
    """The zone the browser reported in its cookie, "" when none or not a known zone."""
    name = unquote(request.COOKIES.get(TIME_ZONE_COOKIE, "")[:96])[:64]
    if not name:
        return ""
    known = zone(name).key
    return known if known == name else ""


def viewer_zone(request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.time_zone not in ("", UTC_NAME):
        return zone(user.time_zone).key
    return browser_zone(request) or UTC_NAME


@dataclass(frozen=True)
class VisitorZone:
    name: str
    # where it came from: "chosen" (?tz=), "account", "browser" (cookie), or "" (unknown)
    source: str

    @property
    def known(self) -> bool:
        return bool(self.source)


def visitor_time_zone(request: HttpRequest) -> VisitorZone:
    """The zone to show a page's times in, and where it came from."""
    chosen = request.GET.get("tz", "")[:64]
    if chosen and zone(chosen).key == chosen:
        return VisitorZone(chosen, "chosen")
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.time_zone not in ("", UTC_NAME):
        return VisitorZone(zone(user.time_zone).key, "account")
    browser = browser_zone(request)
    if browser:
        return VisitorZone(browser, "browser")
    return VisitorZone(UTC_NAME, "")


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
