"""The visitor's time zone, known on the server from the first paint.

``static/js/timezone.js`` runs in the ``<head>`` of every page, before anything is drawn,
and keeps the ``tz`` cookie equal to the browser's zone (``Intl.DateTimeFormat``). Pages
read it here, so a time is rendered in the visitor's zone by the server, not rewritten by
script after it was shown. Order: a zone the visitor chose for this page (``?tz=``), the
browser's (cookie), the account's, else none (the caller decides: UTC, or wait for the
browser).
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from functools import cache
from urllib.parse import unquote

from django.http import HttpRequest

TIME_ZONE_COOKIE = "tz"


@cache
def known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones() - {"localtime", "Factory"})


def known_zone(name: str | None) -> str:
    """``name`` when it is an IANA zone, else ``""``."""
    return name if name and name in known_zones() else ""


@dataclass(frozen=True)
class VisitorZone:
    name: str
    # where it came from: "chosen" (?tz=), "browser" (cookie), "account", or "" (unknown)
    source: str

    @property
    def known(self) -> bool:
        return bool(self.source)


def visitor_time_zone(request: HttpRequest, *, fallback: str = "UTC") -> VisitorZone:
    chosen = known_zone(request.GET.get("tz"))
    if chosen:
        return VisitorZone(chosen, "chosen")
    browser = known_zone(unquote(request.COOKIES.get(TIME_ZONE_COOKIE, "")))
    if browser:
        return VisitorZone(browser, "browser")
    account = known_zone(getattr(request.user, "time_zone", "")) if request.user else ""
    # An account left at the model's default says nothing about where its owner is.
    if account and account != "UTC":
        return VisitorZone(account, "account")
    return VisitorZone(fallback, "")
