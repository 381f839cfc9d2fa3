"""Moments as a person reads them: in their own time zone, named, in their locale (Babel).

Pages, e-mails, receipts, messages and the admin all show times through these functions, so
a time is never shown without its zone and never in a zone the reader did not choose.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, dates
from django.utils import formats, translation

from marketplace.money import babel_locale

UTC_NAME = "UTC"


def zone(name: str | None) -> ZoneInfo:
    """The named zone, UTC for an empty or unknown name."""
    try:
        return ZoneInfo(name or UTC_NAME)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(UTC_NAME)


def zone_name(name: str | None) -> str:
    return zone(name).key


@lru_cache(maxsize=512)
def _skeleton_pattern(skeleton: str, cldr: Locale) -> str:
    """The locale's pattern for a skeleton, as ``babel.dates.format_skeleton`` chooses it.

    Babel matches a skeleton the locale lacks against all of the locale's skeletons on every
    call (a couple of milliseconds, dozens of times on a page of sessions); the choice
    depends only on the skeleton and the locale, so it is made once."""
    skeletons = cldr.datetime_skeletons
    if skeleton not in skeletons:
        skeleton = dates.match_skeleton(skeleton, skeletons) or skeleton
    return skeletons[skeleton]


def format_skeleton(skeleton: str, moment: date | datetime, *, cldr: Locale) -> str:
    """``babel.dates.format_skeleton(skeleton, moment, locale=cldr)``, the pattern cached."""
    return dates.format_datetime(moment, _skeleton_pattern(skeleton, cldr), locale=cldr)


@lru_cache(maxsize=512)
def _moment_pattern(skeleton: str, cldr: Locale) -> str:
    """The locale's pattern for the day (a skeleton), then ", " and the 24-hour clock."""
    return f"{_skeleton_pattern(skeleton, cldr)}, HH:mm"


def _format_moment(
    skeleton: str, moment: datetime, zone_name_: str | None, locale: str | None
) -> str:
    """``moment`` in the zone as the day's skeleton and the clock, with the zone's name; the
    day and the clock in one pass of Babel (one pattern), as a page of rows calls it often."""
    tz = zone(zone_name_)
    cldr = babel_locale(locale)
    text = dates.format_datetime(
        moment.astimezone(tz), _moment_pattern(skeleton, cldr), locale=cldr
    )
    return f"{text} ({tz.key})"


def format_when(moment: datetime, zone_name_: str | None, *, locale: str | None = None) -> str:
    """``moment`` as a date and time in the zone, with the zone's name:
    "Thursday, December 3, 2026, 09:00 (Europe/Berlin)"; in German "Donnerstag, 3. Dezember
    2026, 09:00 (Europe/Berlin)"."""
    return _format_moment("yMMMMEEEEd", moment, zone_name_, locale)


def format_short(moment: datetime, zone_name_: str | None, *, locale: str | None = None) -> str:
    """A compact date and time with the zone's name: "Dec 3, 2026, 09:00 (Europe/Berlin)"."""
    return _format_moment("yMMMd", moment, zone_name_, locale)


def format_day(moment: datetime, zone_name_: str | None) -> str:
    """The calendar day of ``moment`` in the zone, as Django's ``date`` filter writes "j M Y"
    in the active language: "15 Jan 2027" (tables of invoices, where a day is enough)."""
    return _format_day(moment.astimezone(zone(zone_name_)).date(), translation.get_language())


# Django's date formatting reads its format and the month's name anew on each call (a
# table of invoices asks thirty times); the text depends on the day and the language alone.
@lru_cache(maxsize=4096)
def _format_day(day: date, language: str | None) -> str:
    return formats.date_format(day, "j M Y")


def format_month(day: date, *, short: bool = False, locale: str | None = None) -> str:
    """A calendar month: "December 2026", or "Dec" when ``short``."""
    cldr = babel_locale(locale)
    if short:
        return format_skeleton("MMM", day, cldr=cldr)
    return format_skeleton("yMMMM", day, cldr=cldr)
