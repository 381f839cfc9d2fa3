"""Slot computation: pure functions over a coach's rules, exceptions and busy times.

Kept free of queries so that the selectors (one coach, live) and the search index rebuild
(thousands of coaches, batched) share exactly the same rules, and so that the property
tests can drive it directly.

Wall-clock rules are turned into instants per local date with ``zoneinfo``. Every slot's
local start and end times lie inside the rule, on every day:

- an interval that spans the hour the clocks go back covers both occurrences of it (a
  01:00-04:00 rule lasts four real hours that night);
- an interval that spans the hour the clocks skip is that much shorter;
- a boundary *inside* the skipped or repeated hour is read so that the interval never
  reaches outside its wall-clock times: the start takes the later reading, the end the
  earlier one (a rule from 02:30 on the night the clocks go back starts at the second
  02:30; one ending at 02:30 ends at the first). A rule that lies wholly inside the
  repeated hour gives two intervals, one per occurrence.

An interval ending at 23:59 ends at midnight: a time field cannot say 24:00, and a coach who
is open "until 23:59" means the end of the day (a 23:00 session of an hour fits).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# Slots start every SLOT_STEP from the start of a rule's interval.
SLOT_STEP = timedelta(minutes=30)
# The wall-clock end that stands for midnight, the end of the day.
END_OF_DAY = time(23, 59)
# A stretch of the search index holds slots that start within this long of its first one,
# and a session lasts at most LONGEST_SESSION (the session type's check constraint), so no
# stretch spans more than STRETCH_MAX_SPAN: search bounds its index reads by it.
STRETCH_SLOTS_WITHIN = timedelta(days=1)
LONGEST_SESSION = timedelta(minutes=480)
STRETCH_MAX_SPAN = STRETCH_SLOTS_WITHIN + LONGEST_SESSION


@dataclass(frozen=True)
class CoachCalendar:
    """Everything the slot computation needs to know about one coach."""

    time_zone: str
    # weekday (Monday=0) -> [(start, end)] wall-clock times in the coach's time zone
    weekly: dict[int, list[tuple[time, time]]]
    # local date -> [(start, end)] extra wall-clock hours on that date
    extra: dict[date, list[tuple[time, time]]] = field(default_factory=dict)
    # absolute periods away (aware datetimes)
    time_off: Sequence[tuple[datetime, datetime]] = ()
    # live bookings (held or confirmed), without buffers (aware datetimes)
    busy: Sequence[tuple[datetime, datetime]] = ()
    buffer_before: timedelta = timedelta(0)
    buffer_after: timedelta = timedelta(0)
    minimum_notice: timedelta = timedelta(0)
    horizon: timedelta = timedelta(days=60)
    max_sessions_per_day: int | None = None


def local_instant(day: date, wall: time, zone: ZoneInfo, *, fold: int) -> datetime:
    """The UTC instant of a wall-clock time on a local date (see the module docstring)."""
    return datetime.combine(day, wall, tzinfo=zone).replace(fold=fold).astimezone(UTC)


def rule_windows(calendar: CoachCalendar, day: date) -> list[tuple[datetime, datetime]]:
    """The coach's open intervals on one local date, as UTC instants."""
    zone = ZoneInfo(calendar.time_zone)
    intervals = [*calendar.weekly.get(day.weekday(), ()), *calendar.extra.get(day, ())]
    windows: list[tuple[datetime, datetime]] = []
    for start, end in intervals:
        starts = (local_instant(day, start, zone, fold=0), local_instant(day, start, zone, fold=1))
        if end == END_OF_DAY:
            midnight = day + timedelta(days=1)
            ends = (
                local_instant(midnight, time(0), zone, fold=0),
                local_instant(midnight, time(0), zone, fold=1),
            )
        else:
            ends = (local_instant(day, end, zone, fold=0), local_instant(day, end, zone, fold=1))
        start_ambiguous = starts[0] < starts[1]
        end_ambiguous = ends[0] < ends[1]
        if start_ambiguous and end_ambiguous:
            candidates = [(starts[0], ends[0]), (starts[1], ends[1])]
        else:
            candidates = [(max(starts), min(ends))]
        windows.extend(
            (window_start, window_end)
            for window_start, window_end in candidates
            if window_end > window_start
        )
    return windows


def _overlaps(start: datetime, end: datetime, intervals: Iterable[tuple[datetime, datetime]]):
    return any(start < other_end and end > other_start for other_start, other_end in intervals)


def compute_slots(
    calendar: CoachCalendar,
    *,
    duration: timedelta,
    start: datetime,
    end: datetime,
    now: datetime,
) -> list[datetime]:
    """Start times (aware UTC) in ``[start, end)`` at which a session of ``duration`` fits.

    A slot lies inside a rule or extra-hours interval, overlaps no time off, keeps clear of
    every live booking widened by the coach's buffers, starts no earlier than the minimum
    notice after ``now`` and no later than the booking horizon, and falls on a local day
    that has not reached the coach's daily session limit.
    """
    earliest = max(start, now + calendar.minimum_notice)
    latest = min(end, now + calendar.horizon)
    if earliest >= latest:
        return []
    zone = ZoneInfo(calendar.time_zone)
    blocked = [
        (busy_start - calendar.buffer_before, busy_end + calendar.buffer_after)
        for busy_start, busy_end in calendar.busy
    ]
    sessions_per_day: Counter[date] = Counter(
        busy_start.astimezone(zone).date() for busy_start, _ in calendar.busy
    )
    first_day = earliest.astimezone(zone).date() - timedelta(days=1)
    last_day = latest.astimezone(zone).date() + timedelta(days=1)
    slots: set[datetime] = set()
    day = first_day
    while day <= last_day:
        limit = calendar.max_sessions_per_day
        if limit is None or sessions_per_day[day] < limit:
            for window_start, window_end in rule_windows(calendar, day):
                candidate = window_start
                while candidate + duration <= window_end:
                    if (
                        earliest <= candidate < latest
                        # the slot must start on this local day (a late rule may run past it)
                        and candidate.astimezone(zone).date() == day
                        and not _overlaps(candidate, candidate + duration, blocked)
                        and not _overlaps(candidate, candidate + duration, calendar.time_off)
                    ):
                        slots.add(candidate)
                    candidate += SLOT_STEP
        day += timedelta(days=1)
    return sorted(slots)


def merge_slots(slots: Sequence[datetime], duration: timedelta) -> list[tuple[datetime, datetime]]:
    """Merge runs of slots into stretches ``[first start, last start + duration)`` for the
    search index. A run is slots one ``SLOT_STEP`` apart, so every step of a stretch from its
    start up to ``end - duration`` is a slot: search can tell exactly whether a slot fits
    inside a window from the stretch alone (``coaches.selectors.coach_search``).

    A run longer than ``STRETCH_SLOTS_WITHIN`` (a coach open around the clock) is cut into
    several stretches, so that a stretch never spans more than ``STRETCH_MAX_SPAN``."""
    windows: list[tuple[datetime, datetime]] = []
    previous: datetime | None = None
    for slot in slots:
        slot_end = slot + duration
        if (
            windows
            and previous is not None
            and slot - previous == SLOT_STEP
            and slot - windows[-1][0] < STRETCH_SLOTS_WITHIN
        ):
            windows[-1] = (windows[-1][0], slot_end)
        else:
            windows.append((slot, slot_end))
        previous = slot
    return windows
