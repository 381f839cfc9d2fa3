"""Coaches: reads and query building."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from bookings.selectors import busy_intervals
from coaches.availability import CoachCalendar, compute_slots
from coaches.models import AvailabilityRule, CoachProfile, ExtraHours, SessionType, TimeOff
from marketplace.models import User


def coach_public_url(coach: User) -> str | None:
    """The absolute URL of the coach's public profile, or None without a profile."""
    profile = CoachProfile.objects.filter(user=coach).only("slug").first()
    if profile is None:
        return None
    return f"{settings.SITE_URL}{profile.get_absolute_url()}"


# --- slots ---------------------------------------------------------------------------------


def coach_calendars(
    *, coaches: Iterable[CoachProfile], start: datetime, end: datetime
) -> dict[int, CoachCalendar]:
    """The slot-computation input of several coaches for ``[start, end)``, in four queries.

    ``start``/``end`` bound the slots asked for; exceptions and bookings are read a little
    wider, so that buffers and long sessions at the edges are accounted for.
    """
    coaches = list(coaches)
    ids = [coach.pk for coach in coaches]
    margin = timedelta(days=2)
    weekly: dict[int, dict[int, list]] = defaultdict(lambda: defaultdict(list))
    for coach_id, weekday, rule_start, rule_end in AvailabilityRule.objects.filter(
        coach_id__in=ids
    ).values_list("coach_id", "weekday", "start_time", "end_time"):
        weekly[coach_id][weekday].append((rule_start, rule_end))
    extra: dict[int, dict] = defaultdict(lambda: defaultdict(list))
    for coach_id, day, extra_start, extra_end in ExtraHours.objects.filter(
        coach_id__in=ids,
        date__gte=(start - margin).date(),
        date__lte=(end + margin).date(),
    ).values_list("coach_id", "date", "start_time", "end_time"):
        extra[coach_id][day].append((extra_start, extra_end))
    time_off: dict[int, list] = defaultdict(list)
    for coach_id, off_start, off_end in TimeOff.objects.filter(
        coach_id__in=ids, starts_at__lt=end + margin, ends_at__gt=start - margin
    ).values_list("coach_id", "starts_at", "ends_at"):
        time_off[coach_id].append((off_start, off_end))
    busy = busy_intervals(coach_ids=ids, start=start - margin, end=end + margin)
    return {
        coach.pk: CoachCalendar(
            time_zone=coach.time_zone,
            weekly=dict(weekly[coach.pk]),
            extra=dict(extra[coach.pk]),
            time_off=time_off[coach.pk],
            busy=busy.get(coach.pk, []),
            buffer_before=timedelta(minutes=coach.buffer_before_minutes),
            buffer_after=timedelta(minutes=coach.buffer_after_minutes),
            minimum_notice=timedelta(minutes=coach.minimum_notice_minutes),
            horizon=timedelta(days=coach.booking_horizon_days),
            max_sessions_per_day=coach.max_sessions_per_day,
        )
        for coach in coaches
    }


def available_slots(
    *,
    coach: CoachProfile,
    session_type: SessionType,
    start: datetime,
    end: datetime,
    now: datetime | None = None,
) -> list[datetime]:
    """Aware UTC start times in ``[start, end)`` a client can book with ``coach``.

    Inside the weekly rules and extra hours (coach's time zone), outside time off, clear of
    held and confirmed bookings widened by the coach's buffers, respecting minimum notice,
    booking horizon and the daily session limit. An inactive session type or one of another
    coach has no slots.
    """
    if session_type.coach_id != coach.pk or not session_type.is_active:
        return []
    now = now or timezone.now()
    calendar = coach_calendars(coaches=[coach], start=start, end=end)[coach.pk]
    return compute_slots(
        calendar,
        duration=timedelta(minutes=session_type.duration_minutes),
        start=start,
        end=end,
        now=now,
    )


def slot_is_available(
    *,
    coach: CoachProfile,
    session_type: SessionType,
    starts_at: datetime,
    now: datetime | None = None,
) -> bool:
    """Whether ``starts_at`` is a bookable slot right now.

    The bookings service calls it while holding the coach row lock (``select_for_update``),
    so a concurrent hold of the same coach waits and then sees the first one as busy.
    """
    slots = available_slots(
        coach=coach,
        session_type=session_type,
        start=starts_at,
        end=starts_at + timedelta(microseconds=1),
        now=now,
    )
    return starts_at in slots


def nearest_free_slots(
    *,
    coach: CoachProfile,
    session_type: SessionType,
    around: datetime,
    count: int = 3,
    now: datetime | None = None,
) -> list[datetime]:
    """Up to ``count`` bookable slots closest to ``around`` (within a week each side), in
    chronological order; offered when a wanted time is taken."""
    slots = available_slots(
        coach=coach,
        session_type=session_type,
        start=around - timedelta(days=7),
        end=around + timedelta(days=7),
        now=now,
    )
    nearest = sorted(slots, key=lambda slot: (abs(slot - around), slot))[:count]
    return sorted(nearest)
