"""Coaches: reads and query building."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection, models
from django.db.models import (
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    QuerySet,
    Value,
)
from django.db.models.functions import Greatest, Least
from django.utils import timezone

from coaches.availability import CoachCalendar, compute_slots
from coaches.models import (
    AvailabilityRule,
    CoachApplication,
    CoachProfile,
    ExtraHours,
    FreeWindow,
    Review,
    SessionType,
    TimeOff,
)
from coaches.providers import booking_reader
from marketplace.errors import NotFound
from marketplace.models import User


def coach_public_url(coach: User) -> str | None:
    """The absolute URL of the coach's public profile, or None without a profile."""
    profile = CoachProfile.objects.filter(user=coach).only("slug").first()
    if profile is None:
        return None
    return f"{settings.SITE_URL}{profile.get_absolute_url()}"


def coach_currency(coach: User) -> str | None:
    """The currency of the coach's prices, or None without a profile."""
    return CoachProfile.objects.filter(user=coach).values_list("currency", flat=True).first()


def coach_fee_overrides(coach: User) -> tuple[int | None, int | None]:
    """The coach's own platform fee (basis points, minimum fee), None where the platform's
    default applies."""
    row = (
        CoachProfile.objects.filter(user=coach)
        .values_list("fee_bps_override", "minimum_fee_override")
        .first()
    )
    return row if row is not None else (None, None)


# --- slots ---------------------------------------------------------------------------------


BUSY_MARGIN = timedelta(days=2)


def coach_calendars(
    *,
    coaches: Iterable[CoachProfile],
    start: datetime,
    end: datetime,
    busy: dict[int, list[tuple[datetime, datetime]]] | None = None,
) -> dict[int, CoachCalendar]:
    """The slot-computation input of several coaches for ``[start, end)``, in two queries
    (rules, extra hours and time off in one ``UNION ALL``; the live bookings, unless the
    caller has read them already and passes them as ``busy``).

    ``start``/``end`` bound the slots asked for; exceptions and bookings are read a little
    wider (``BUSY_MARGIN``), so that buffers and long sessions at the edges are accounted for.
    """
    coaches = list(coaches)
    ids = [coach.pk for coach in coaches]
    margin = BUSY_MARGIN
    # One round trip on the hot path of the slots API; plain SQL because compiling the
    # equivalent ORM union costs more than running it.
    sql = f"""
        SELECT 'rule', coach_id, weekday, NULL::date, start_time, end_time,
               NULL::timestamptz, NULL::timestamptz
          FROM {AvailabilityRule._meta.db_table} WHERE coach_id = ANY(%s)
        UNION ALL
        SELECT 'extra', coach_id, NULL::integer, date, start_time, end_time,
               NULL::timestamptz, NULL::timestamptz
          FROM {ExtraHours._meta.db_table}
         WHERE coach_id = ANY(%s) AND date >= %s AND date <= %s
        UNION ALL
        SELECT 'off', coach_id, NULL::integer, NULL::date, NULL::time, NULL::time,
               starts_at, ends_at
          FROM {TimeOff._meta.db_table}
         WHERE coach_id = ANY(%s) AND starts_at < %s AND ends_at > %s
    """  # noqa: S608 - table names come from the models, values are parameters
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                ids,
                ids,
                (start - margin).date(),
                (end + margin).date(),
                ids,
                end + margin,
                start - margin,
            ],
        )
        rows = cursor.fetchall()
    weekly: dict[int, dict[int, list]] = defaultdict(lambda: defaultdict(list))
    extra: dict[int, dict] = defaultdict(lambda: defaultdict(list))
    time_off: dict[int, list] = defaultdict(list)
    for kind, coach_id, weekday, day, wall_start, wall_end, off_start, off_end in rows:
        if kind == "rule":
            weekly[coach_id][weekday].append((wall_start, wall_end))
        elif kind == "extra":
            extra[coach_id][day].append((wall_start, wall_end))
        else:
            time_off[coach_id].append((off_start, off_end))
    if busy is None:
        busy = booking_reader().busy_intervals(
            coach_ids=ids, start=start - margin, end=end + margin
        )
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
    busy: list[tuple[datetime, datetime]] | None = None,
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
    calendar = coach_calendars(
        coaches=[coach],
        start=start,
        end=end,
        busy=None if busy is None else {coach.pk: busy},
    )[coach.pk]
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
    busy: list[tuple[datetime, datetime]] | None = None,
) -> bool:
    """Whether ``starts_at`` is a bookable slot right now.

    The bookings service calls it while holding the coach row lock (``select_for_update``),
    so a concurrent hold of the same coach waits and then sees the first one as busy. It
    passes the coach's live bookings it has just read (at least ``BUSY_MARGIN`` around
    ``starts_at``) as ``busy``; without them they are read here.
    """
    slots = available_slots(
        coach=coach,
        session_type=session_type,
        start=starts_at,
        end=starts_at + timedelta(microseconds=1),
        now=now,
        busy=busy,
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


# --- discovery -----------------------------------------------------------------------------


class SearchSort(models.TextChoices):
    RELEVANCE = "relevance", "Relevance"
    PRICE_LOW = "price", "Price: low to high"
    PRICE_HIGH = "-price", "Price: high to low"
    RATING = "rating", "Rating"
    SOONEST = "soonest", "Soonest available"


@dataclass(frozen=True)
class CoachSearch:
    """A search over public coaches. Prices are minor units of ``currency``; a price
    filter only matches coaches who sell in that currency."""

    text: str = ""
    specialization: str = ""
    currency: str = ""
    min_price: int | None = None
    max_price: int | None = None
    language: str = ""
    min_rating: Decimal | None = None
    free_within_days: int | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    sort: str = SearchSort.RELEVANCE


def public_coaches() -> QuerySet[CoachProfile]:
    """Coaches the public may see: approved, able to take charges, active account."""
    return CoachProfile.objects.bookable()


def coach_search(*, search: CoachSearch, now: datetime | None = None) -> QuerySet[CoachProfile]:
    """Public coaches matching ``search``, ordered, with what a result card shows
    prefetched (a constant number of queries whatever the page size)."""
    now = now or timezone.now()
    coaches = public_coaches()
    query = None
    if search.text.strip():
        query = SearchQuery(search.text.strip(), search_type="websearch", config="english")
        coaches = coaches.filter(search_vector=query).annotate(
            rank=SearchRank(F("search_vector"), query)
        )
    if search.specialization:
        # EXISTS rather than a join, so that no DISTINCT over wide rows is needed.
        coaches = coaches.filter(
            Exists(
                CoachProfile.specializations.through.objects.filter(
                    coachprofile_id=OuterRef("pk"), specialization__slug=search.specialization
                )
            )
        )
    if search.min_price is not None or search.max_price is not None:
        coaches = coaches.filter(currency=search.currency.lower(), min_price__isnull=False)
        if search.min_price is not None:
            coaches = coaches.filter(min_price__gte=search.min_price)
        if search.max_price is not None:
            coaches = coaches.filter(min_price__lte=search.max_price)
    if search.language:
        coaches = coaches.filter(languages__contains=[search.language.lower()])
    if search.min_rating is not None:
        coaches = coaches.filter(rating_average__gte=search.min_rating)
    if search.free_within_days is not None:
        coaches = coaches.filter(
            Exists(
                FreeWindow.objects.filter(
                    coach=OuterRef("pk"),
                    ends_at__gt=now,
                    starts_at__lt=now + timedelta(days=search.free_within_days),
                )
            )
        )
    if search.window_start is not None and search.window_end is not None:
        window_start, window_end = max(search.window_start, now), search.window_end
        coaches = coaches.filter(
            Exists(
                FreeWindow.objects.filter(
                    coach=OuterRef("pk"), starts_at__lt=window_end, ends_at__gt=window_start
                )
                .annotate(
                    fits=ExpressionWrapper(
                        Least("ends_at", Value(window_end))
                        - Greatest("starts_at", Value(window_start)),
                        output_field=DurationField(),
                    )
                )
                .filter(fits__gte=F("min_duration"))
            )
        )
    orderings: dict[str, list[Any]] = {
        SearchSort.PRICE_LOW: [F("min_price").asc(nulls_last=True), "id"],
        SearchSort.PRICE_HIGH: [F("min_price").desc(nulls_last=True), "id"],
        SearchSort.RATING: [
            F("rating_average").desc(nulls_last=True),
            F("rating_count").desc(),
            "id",
        ],
        SearchSort.SOONEST: [F("next_available_at").asc(nulls_last=True), "id"],
    }
    ordering = orderings.get(search.sort)
    if ordering is None:  # relevance
        ordering = (
            ["-rank", "id"]
            if query is not None
            else [F("rating_average").desc(nulls_last=True), "id"]
        )
    return (
        coaches.order_by(*ordering)
        .defer("search_vector")
        .select_related("user")
        .prefetch_related(
            "specializations",
            Prefetch(
                "session_types",
                queryset=SessionType.objects.filter(is_active=True).order_by("price"),
                to_attr="active_session_types",
            ),
        )
    )


def coach_public_get(
    *, pk: int | None = None, slug: str | None = None, details: bool = True
) -> CoachProfile:
    """A public coach by id or slug, or ``NotFound``; ``details`` prefetches what the
    profile shows (user, certification, specialisations, session types)."""
    lookup: dict[str, Any] = {"pk": pk} if pk is not None else {"slug": slug}
    coaches = public_coaches().filter(**lookup)
    if details:
        coaches = coaches.select_related("user", "application__certifying_body").prefetch_related(
            "specializations",
            Prefetch(
                "session_types",
                queryset=SessionType.objects.filter(is_active=True).order_by("price"),
                to_attr="active_session_types",
            ),
        )
    coach = coaches.first()
    if coach is None:
        raise NotFound("No such coach.")
    return coach


def public_session_type(*, coach_id: int, pk: int) -> SessionType | None:
    """An active session type of a public coach, with the coach, in one query; or None."""
    return (
        SessionType.objects.select_related("coach")
        .filter(
            pk=pk,
            coach_id=coach_id,
            is_active=True,
            coach__is_approved=True,
            coach__can_take_charges=True,
            coach__user__is_active=True,
        )
        .first()
    )


def coach_visible_reviews(*, coach: CoachProfile) -> QuerySet[Review]:
    return Review.objects.filter(coach=coach, is_hidden=False).select_related("client")


def coach_upcoming_slots(
    *, coach: CoachProfile, session_type: SessionType, days: int = 14, now: datetime | None = None
) -> list[datetime]:
    """The coach's bookable slots over the next ``days`` days."""
    now = now or timezone.now()
    return available_slots(
        coach=coach, session_type=session_type, start=now, end=now + timedelta(days=days), now=now
    )


def application_for_user(*, user: User) -> CoachApplication | None:
    return (
        CoachApplication.objects.select_related("coach", "certifying_body")
        .filter(coach__user=user)
        .first()
    )
