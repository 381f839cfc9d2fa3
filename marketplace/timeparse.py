"""The one parser for instants and days that people type or send.

Every date-time that comes from a query string, a form or an API body goes through
``parse_instant`` (forms and serializers through the fields in ``marketplace.fields``). It
accepts ISO 8601 only, ``2030-03-01T09:00:00Z`` or ``2030-03-01T09:00+01:00`` (a space for
the ``T``, seconds and fractions optional), and refuses with a ``DomainError``
(``invalid_datetime``, a 400 through the API's exception handler) whatever could not be a
booking's time:

- a year outside 2000-2100 (``9999-12-31`` and ``0001-01-01`` overflow as soon as an
  offset is applied);
- a day not on the calendar (``2030-02-30``) or a time not on the clock (``24:00``);
- an offset beyond ±14:00, the widest in use (``+99:00``);
- a value without an offset, unless the caller knows the zone it is meant in (the coach's
  own zone for the time-off form, UTC where a page says so);
- anything longer than 64 characters, before any pattern is tried.

A ``+`` that a query string turned into a space (``...T09:00:00 01:00``) is read as ``+``.
The result is always aware and in UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, tzinfo
from datetime import timezone as fixed_zone

from marketplace.errors import DomainError

MIN_YEAR = 2000
MAX_YEAR = 2100
MAX_OFFSET = timedelta(hours=14)
MAX_LENGTH = 64
EXAMPLE = "2030-03-01T09:00:00Z"

# re.ASCII: \d is 0-9 only, never another script's digits.
_INSTANT = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"
    r"(?:[Tt ](?P<hour>\d{2}):(?P<minute>\d{2})"
    r"(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,9}))?)?"
    r"(?P<zone>[Zz]|[+\- ](?P<offset_hours>\d{2})(?::?(?P<offset_minutes>\d{2}))?)?)?",
    re.ASCII,
)
_DAY = re.compile(r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})", re.ASCII)


def _refuse(field: str, message: str) -> DomainError:
    return DomainError(message, code="invalid_datetime", fields={field: [message]})


def _checked_year(year: int, field: str, *, min_year: int, max_year: int) -> None:
    if not min_year <= year <= max_year:
        raise _refuse(field, f"Choose a date between the years {min_year} and {max_year}.")


def parse_instant(
    value: str,
    *,
    field: str = "datetime",
    zone: tzinfo | None = None,
    date_only: bool = False,
) -> datetime:
    """``value`` as an aware UTC datetime, or a ``DomainError`` naming ``field``.

    ``zone`` is the zone a value without an offset is meant in; without it such a value is
    refused. ``date_only`` also accepts a bare date, meaning its midnight (in ``zone``, or
    UTC).
    """
    text = (value or "").strip()
    if not text:
        raise _refuse(field, f"Enter a date and time, e.g. {EXAMPLE}.")
    match = _INSTANT.fullmatch(text) if len(text) <= MAX_LENGTH else None
    if match is None:
        raise _refuse(field, f"Enter the date and time in ISO 8601, e.g. {EXAMPLE}.")
    parts = match.groupdict()
    if parts["hour"] is None and not date_only:
        raise _refuse(field, f"Enter a time as well as a date, e.g. {EXAMPLE}.")
    year = int(parts["year"])
    _checked_year(year, field, min_year=MIN_YEAR, max_year=MAX_YEAR)
    try:
        moment = datetime(
            year,
            int(parts["month"]),
            int(parts["day"]),
            int(parts["hour"] or 0),
            int(parts["minute"] or 0),
            int(parts["second"] or 0),
            int((parts["fraction"] or "0")[:6].ljust(6, "0")),
        )
    except ValueError:
        raise _refuse(field, f"{text} is not a real date and time.") from None
    offset_zone = _offset_zone(parts, field)
    if offset_zone is not None:
        moment = moment.replace(tzinfo=offset_zone)
    elif zone is not None:
        moment = moment.replace(tzinfo=zone)
    elif parts["hour"] is None:
        moment = moment.replace(tzinfo=UTC)
    else:
        raise _refuse(
            field, f"Add a time zone offset, e.g. {EXAMPLE} or 2030-03-01T10:00:00+01:00."
        )
    return moment.astimezone(UTC)


def _offset_zone(parts: dict[str, str | None], field: str) -> tzinfo | None:
    sign = parts["zone"]
    if sign is None:
        return None
    if sign in "Zz":
        return UTC
    offset = timedelta(
        hours=int(parts["offset_hours"] or 0), minutes=int(parts["offset_minutes"] or 0)
    )
    if int(parts["offset_minutes"] or 0) >= 60 or offset > MAX_OFFSET:
        raise _refuse(field, "A time zone offset lies between -14:00 and +14:00.")
    return fixed_zone(-offset if sign[0] == "-" else offset)


def parse_day(
    value: str,
    *,
    field: str = "date",
    min_year: int = MIN_YEAR,
    max_year: int = MAX_YEAR,
) -> date:
    """``value`` (``YYYY-MM-DD``) as a date within ``min_year``-``max_year``, or a
    ``DomainError`` naming ``field``."""
    text = (value or "").strip()
    match = _DAY.fullmatch(text) if len(text) <= MAX_LENGTH else None
    if match is None:
        raise _refuse(field, "Enter the date as YYYY-MM-DD, e.g. 2030-03-01.")
    year = int(match["year"])
    _checked_year(year, field, min_year=min_year, max_year=max_year)
    try:
        return date(year, int(match["month"]), int(match["day"]))
    except ValueError:
        raise _refuse(field, f"{text} is not a real date.") from None


def check_day(
    day: date, *, field: str = "date", min_year: int = MIN_YEAR, max_year: int = MAX_YEAR
) -> date:
    """``day`` itself when its year lies within ``min_year``-``max_year``."""
    _checked_year(day.year, field, min_year=min_year, max_year=max_year)
    return day


def check_instant(moment: datetime, *, field: str = "datetime") -> datetime:
    """An aware ``moment`` within the years the parser accepts, in UTC."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise _refuse(field, f"Add a time zone offset, e.g. {EXAMPLE}.")
    offset = moment.utcoffset() or timedelta(0)
    if abs(offset) > MAX_OFFSET:
        raise _refuse(field, "A time zone offset lies between -14:00 and +14:00.")
    _checked_year(moment.year, field, min_year=MIN_YEAR, max_year=MAX_YEAR)
    return moment.astimezone(UTC)
