"""Bookings: reads."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from bookings.models import Booking, BookingStatus


def busy_intervals(
    *, coach_ids: Iterable[int], start: datetime, end: datetime
) -> dict[int, list[tuple[datetime, datetime]]]:
    """Times taken by live bookings (confirmed, or held and not yet expired), per coach.

    Intervals are the bookings' own times; the coach's buffers are applied by the caller.
    """
    now = timezone.now()
    rows = (
        Booking.objects.filter(coach_id__in=list(coach_ids), starts_at__lt=end, ends_at__gt=start)
        .filter(
            Q(status=BookingStatus.CONFIRMED)
            | Q(status=BookingStatus.HELD, hold_expires_at__gt=now)
        )
        .order_by("starts_at")
        .values_list("coach_id", "starts_at", "ends_at")
    )
    taken: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for coach_id, starts_at, ends_at in rows:
        taken[coach_id].append((starts_at, ends_at))
    return dict(taken)
