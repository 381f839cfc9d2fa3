"""Search's indexes of coaches: the full-text document and the availability index
(``FreeWindow`` rows and ``next_available_at``), rebuilt from the live slot computation."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Min, Q
from django.utils import timezone

from coaches.availability import compute_slots, merge_slots
from coaches.models import CoachProfile, FreeWindow
from coaches.selectors import coach_calendars
from marketplace.queue import enqueue

# The search index covers this far ahead ("free within N days" accepts up to this N).
INDEX_DAYS = 30


def coach_search_vectors_refresh(*, coach_ids: Iterable[int]) -> None:
    """Recompute the full-text document of coaches: name and specialisations weigh most,
    then the headline, then the bio (English stemming)."""
    ids = list(coach_ids)
    if not ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE coaches_coachprofile AS profile SET search_vector =
                setweight(to_tsvector('english', coalesce(account.first_name, '') || ' '
                                      || coalesce(account.last_name, '')), 'A')
                || setweight(to_tsvector('english', coalesce((
                    SELECT string_agg(specialization.name, ' ')
                    FROM coaches_coachprofile_specializations link
                    JOIN coaches_specialization specialization
                      ON specialization.id = link.specialization_id
                    WHERE link.coachprofile_id = profile.id), '')), 'A')
                || setweight(to_tsvector('english', coalesce(profile.headline, '')), 'B')
                || setweight(to_tsvector('english', coalesce(profile.bio, '')), 'C')
            FROM marketplace_user AS account
            WHERE account.id = profile.user_id AND profile.id = ANY(%s)
            """,
            [ids],
        )


def availability_index_refresh(*, coach_ids: Iterable[int], now: datetime | None = None) -> int:
    """Rebuild search's availability index (``FreeWindow`` rows and ``next_available_at``)
    for these coaches from the live slot computation, for the next ``INDEX_DAYS`` days.

    Batched: a few queries for the whole batch, whatever its size. Returns the number of
    windows written. Safe to run at any time and concurrently (last writer wins).
    """
    now = now or timezone.now()
    end = now + timedelta(days=INDEX_DAYS)
    coaches = list(
        CoachProfile.objects.filter(pk__in=list(coach_ids)).annotate(
            shortest=Min("session_types__duration_minutes", filter=Q(session_types__is_active=True))
        )
    )
    calendars = coach_calendars(coaches=coaches, start=now, end=end)
    windows: list[FreeWindow] = []
    next_free: dict[int, datetime | None] = {}
    for coach in coaches:
        next_free[coach.pk] = None
        shortest = getattr(coach, "shortest", None)
        if not shortest:
            continue
        duration = timedelta(minutes=shortest)
        slots = compute_slots(calendars[coach.pk], duration=duration, start=now, end=end, now=now)
        merged = merge_slots(slots, duration)
        windows.extend(
            FreeWindow(coach_id=coach.pk, starts_at=start, ends_at=stop, min_duration=duration)
            for start, stop in merged
        )
        next_free[coach.pk] = slots[0] if slots else None
    with transaction.atomic():
        FreeWindow.objects.filter(coach_id__in=[coach.pk for coach in coaches]).delete()
        FreeWindow.objects.bulk_create(windows, batch_size=2000)
        profiles = []
        for coach in coaches:
            coach.next_available_at = next_free[coach.pk]
            coach.availability_indexed_at = now
            profiles.append(coach)
        CoachProfile.objects.bulk_update(
            profiles, ["next_available_at", "availability_indexed_at"], batch_size=1000
        )
    return len(windows)


def availability_index_refresh_later(*, coach_id: int) -> None:
    """Rebuild one coach's search availability index in a worker, after the caller's
    transaction commits (a booking confirmed, cancelled or moved, the coach able to take
    payments again)."""
    enqueue("coaches.refresh_coach_availability", coach_id)
