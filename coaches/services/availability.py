"""A coach's availability: the weekly hours, booking rules (buffers, notice, horizon,
daily limit), time off and extra hours; each change rebuilds the coach's search index."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from itertools import pairwise

from django.db import transaction

from coaches.models import AvailabilityRule, CoachProfile, ExtraHours, TimeOff, Weekday
from coaches.services.search_index import availability_index_refresh
from marketplace.errors import DomainError


def _check_no_overlap(intervals: Sequence[tuple[time, time]], label: str) -> None:
    ordered = sorted(intervals)
    for (start, end), (next_start, _) in pairwise(ordered):
        if next_start < end:
            raise DomainError(
                f"{label}: {start:%H:%M}-{end:%H:%M} overlaps the next interval.",
                code="overlapping_intervals",
            )
    for start, end in intervals:
        if end <= start:
            raise DomainError(f"{label}: an interval must end after it starts.")


def availability_rules_replace(
    *, coach: CoachProfile, weekly: Mapping[int, Sequence[tuple[time, time]]]
) -> None:
    """Replace the coach's weekly grid (weekday Monday=0 -> wall-clock intervals)."""
    for weekday, intervals in weekly.items():
        _check_no_overlap(intervals, Weekday(weekday).label)
    with transaction.atomic():
        CoachProfile.objects.select_for_update().filter(pk=coach.pk).first()
        AvailabilityRule.objects.filter(coach=coach).delete()
        AvailabilityRule.objects.bulk_create(
            AvailabilityRule(coach=coach, weekday=weekday, start_time=start, end_time=end)
            for weekday, intervals in weekly.items()
            for start, end in intervals
        )
    availability_index_refresh(coach_ids=[coach.pk])


def availability_settings_update(
    *,
    coach: CoachProfile,
    buffer_before_minutes: int,
    buffer_after_minutes: int,
    minimum_notice_minutes: int,
    booking_horizon_days: int,
    max_sessions_per_day: int | None,
) -> CoachProfile:
    if booking_horizon_days < 1 or booking_horizon_days > 365:
        raise DomainError("Clients can book 1 to 365 days ahead.")
    with transaction.atomic():
        coach = CoachProfile.objects.select_for_update().get(pk=coach.pk)
        coach.buffer_before_minutes = buffer_before_minutes
        coach.buffer_after_minutes = buffer_after_minutes
        coach.minimum_notice_minutes = minimum_notice_minutes
        coach.booking_horizon_days = booking_horizon_days
        coach.max_sessions_per_day = max_sessions_per_day
        coach.save()
    availability_index_refresh(coach_ids=[coach.pk])
    return coach


def time_off_add(
    *, coach: CoachProfile, starts_at: datetime, ends_at: datetime, note: str = ""
) -> TimeOff:
    if ends_at <= starts_at:
        raise DomainError("Time off must end after it starts.", fields={"ends_at": []})
    time_off = TimeOff.objects.create(coach=coach, starts_at=starts_at, ends_at=ends_at, note=note)
    availability_index_refresh(coach_ids=[coach.pk])
    return time_off


def time_off_remove(*, coach: CoachProfile, time_off_id: int) -> None:
    TimeOff.objects.filter(coach=coach, pk=time_off_id).delete()
    availability_index_refresh(coach_ids=[coach.pk])


def extra_hours_add(*, coach: CoachProfile, day: date, start: time, end: time) -> ExtraHours:
    _check_no_overlap([(start, end)], f"{day:%Y-%m-%d}")
    extra = ExtraHours.objects.create(coach=coach, date=day, start_time=start, end_time=end)
    availability_index_refresh(coach_ids=[coach.pk])
    return extra


def extra_hours_remove(*, coach: CoachProfile, extra_hours_id: int) -> None:
    ExtraHours.objects.filter(coach=coach, pk=extra_hours_id).delete()
    availability_index_refresh(coach_ids=[coach.pk])
