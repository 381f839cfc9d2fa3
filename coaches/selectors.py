"""Coaches: reads and query building."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection, models
from django.db.models import (
    Count,
    DateField,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import TruncMonth
from django.utils import timezone

from coaches.availability import (
    SLOT_STEP,
    STRETCH_MAX_SPAN,
    CoachCalendar,
    compute_slots,
    rule_windows,
)
from coaches.models import (
    MEMBERSHIP_LIVE,
    AvailabilityRule,
    CoachApplication,
    CoachMembership,
    CoachProfile,
    ExtraHours,
    FreeWindow,
    MembershipPlan,
    MembershipStatus,
    Review,
    SessionType,
    Specialization,
    TimeOff,
)
from coaches.providers import booking_reader
from marketplace.errors import NotFound
from marketplace.models import User
from payments.models import SubscriptionStatus
from payments.services.charges import FeeTerms, platform_fee_terms


def coach_public_url(coach: User) -> str | None:
    """The absolute URL of the coach's public profile, or None without a profile."""
    profile = CoachProfile.objects.filter(user=coach).only("slug").first()
    if profile is None:
        return None
    return f"{settings.SITE_URL}{profile.get_absolute_url()}"


def coach_currency(coach: User) -> str | None:
    """The currency of the coach's prices, or None without a profile."""
    return CoachProfile.objects.filter(user=coach).values_list("currency", flat=True).first()


# --- the platform fee -----------------------------------------------------------------------


def fee_terms_of(
    *,
    fee_bps_override: int | None,
    minimum_fee_override: int | None,
    membership_fee_bps: int | None = None,
    membership: str = "",
) -> FeeTerms:
    """The fee rule: the platform fee of a coach with these staff overrides (None: none) and
    this active platform membership's basis points (None: not a member).

    Basis points: the staff override, else the platform's ``PLATFORM_FEE_BPS``; a member pays
    the membership's when it is lower (a membership never raises a fee). The minimum fee is
    the staff override, else ``PLATFORM_MINIMUM_FEE``: a membership does not change it.
    """
    terms = platform_fee_terms()
    fee_bps = terms.fee_bps if fee_bps_override is None else fee_bps_override
    minimum_fee = terms.minimum_fee if minimum_fee_override is None else minimum_fee_override
    if membership_fee_bps is not None and membership_fee_bps < fee_bps:
        return FeeTerms(fee_bps=membership_fee_bps, minimum_fee=minimum_fee, membership=membership)
    return FeeTerms(fee_bps=fee_bps, minimum_fee=minimum_fee)


def membership_fee_applies(now: datetime) -> Q:
    """The memberships whose fee a coach pays at ``now``: active ones (Stripe's ``active`` or
    ``trialing``), and past-due ones while Stripe retries the renewal, for
    ``MEMBERSHIP_PAST_DUE_GRACE_DAYS`` from its first failure (not once Stripe left the
    subscription ``unpaid`` or paused it)."""
    grace_start = now - timedelta(days=settings.MEMBERSHIP_PAST_DUE_GRACE_DAYS)
    return Q(status=MembershipStatus.ACTIVE) | Q(
        status=MembershipStatus.PAST_DUE,
        subscription__status=SubscriptionStatus.PAST_DUE,
        past_due_since__gt=grace_start,
    )


def coach_fee_terms(coach: CoachProfile, *, now: datetime | None = None) -> FeeTerms:
    """The platform fee ``coach`` pays on a payment made at ``now``: every fee the product
    computes for a coach (a booking, a package, a coaching plan's fee percent, the fee told
    to the coach) is this one. Reads ``coach``'s overrides as given (a hold passes the row
    it locked) and their live membership (one query)."""
    membership = (
        CoachMembership.objects.filter(coach_id=coach.pk)
        .filter(membership_fee_applies(now or timezone.now()))
        .values_list("fee_bps", "plan__name")
        .first()
        if coach.pk is not None
        else None  # a profile not saved has no membership
    )
    return fee_terms_of(
        fee_bps_override=coach.fee_bps_override,
        minimum_fee_override=coach.minimum_fee_override,
        membership_fee_bps=membership[0] if membership else None,
        membership=membership[1] if membership else "",
    )


def coach_fee_split(*, coach: CoachProfile, total: int) -> tuple[int, int]:
    """``(application_fee, coach_amount)`` of ``total`` charged now for ``coach``."""
    return coach_fee_terms(coach).split(total)


def coach_live_membership(coach: CoachProfile) -> CoachMembership | None:
    """The coach's pending, active or past-due membership, with its plan and subscription."""
    return (
        CoachMembership.objects.filter(coach=coach, status__in=MEMBERSHIP_LIVE)
        .select_related("plan", "subscription")
        .first()
    )


def coach_past_memberships(coach: CoachProfile, *, limit: int = 20) -> list[CoachMembership]:
    """The coach's ended memberships, the latest first (checkouts never paid left out)."""
    return list(
        CoachMembership.objects.filter(coach=coach, status=MembershipStatus.ENDED).select_related(
            "plan"
        )[:limit]
    )


def membership_plans_offered() -> list[MembershipPlan]:
    """The plans staff offer now, cheapest first."""
    return list(MembershipPlan.objects.filter(is_active=True).order_by("price", "id"))


def user_fee_terms(user: User) -> FeeTerms:
    """The platform fee of the coach ``user`` (the platform's default without a profile)."""
    profile = CoachProfile.objects.filter(user=user).first()
    return coach_fee_terms(profile) if profile is not None else platform_fee_terms()


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


# --- the booking calendar ------------------------------------------------------------------

# A day's slots are grouped by the local hour they start at.
DAY_PARTS = (("morning", "Morning", 0), ("afternoon", "Afternoon", 12), ("evening", "Evening", 17))


@dataclass(frozen=True)
class CalendarDay:
    day: date
    # (part key, part label, slots as aware UTC starts), only the parts that have slots
    parts: list[tuple[str, str, list[datetime]]]
    # before today, or past the coach's booking horizon
    outside: bool

    @property
    def slot_count(self) -> int:
        return sum(len(slots) for _key, _label, slots in self.parts)


@dataclass(frozen=True)
class SlotWeek:
    """Seven days of a coach's free times, Monday first, in the visitor's zone."""

    zone: str
    start: date
    days: list[CalendarDay]
    previous_week: date | None
    next_week: date | None
    # the first free time after this week when the week has none, to offer a jump
    next_free: datetime | None
    last_bookable_day: date

    @property
    def end(self) -> date:
        return self.start + timedelta(days=6)

    @property
    def slot_count(self) -> int:
        return sum(day.slot_count for day in self.days)


def week_start(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


def coach_slot_week(
    *,
    coach: CoachProfile,
    session_type: SessionType,
    zone: str,
    week_of: date | None = None,
    now: datetime | None = None,
    busy: list[tuple[datetime, datetime]] | None = None,
) -> SlotWeek:
    """Every free slot of the week that holds ``week_of`` (default: this week), as local
    days of ``zone`` grouped into morning, afternoon and evening; with the weeks a visitor
    may move to (none before this week, none past the coach's booking horizon)."""
    now = now or timezone.now()
    tz = ZoneInfo(zone)
    today = now.astimezone(tz).date()
    horizon_end = now + timedelta(days=coach.booking_horizon_days)
    last_day = horizon_end.astimezone(tz).date()
    first_week = week_start(today)
    start = week_start(week_of or today)
    start = min(max(start, first_week), week_start(last_day))
    window_start = datetime.combine(start, time(0), tzinfo=tz)
    window_end = datetime.combine(start + timedelta(days=7), time(0), tzinfo=tz)
    slots = available_slots(
        coach=coach,
        session_type=session_type,
        start=window_start.astimezone(UTC),
        end=window_end.astimezone(UTC),
        now=now,
        busy=busy,
    )
    by_day: dict[date, list[datetime]] = defaultdict(list)
    for slot in slots:
        by_day[slot.astimezone(tz).date()].append(slot)
    days = []
    for offset in range(7):
        day = start + timedelta(days=offset)
        parts = []
        for index, (key, label, from_hour) in enumerate(DAY_PARTS):
            until = DAY_PARTS[index + 1][2] if index + 1 < len(DAY_PARTS) else 24
            in_part = [s for s in by_day[day] if from_hour <= s.astimezone(tz).hour < until]
            if in_part:
                parts.append((key, label, in_part))
        days.append(CalendarDay(day=day, parts=parts, outside=day < today or day > last_day))
    next_free = None
    if not slots and window_end.astimezone(UTC) < horizon_end:
        later = available_slots(
            coach=coach,
            session_type=session_type,
            start=window_end.astimezone(UTC),
            end=horizon_end,
            now=now,
        )
        next_free = later[0] if later else None
    return SlotWeek(
        zone=zone,
        start=start,
        days=days,
        previous_week=start - timedelta(days=7) if start > first_week else None,
        next_week=start + timedelta(days=7) if start + timedelta(days=7) <= last_day else None,
        next_free=next_free,
        last_bookable_day=last_day,
    )


# --- discovery -----------------------------------------------------------------------------


# Relevance ranks at most this many matches of a text search: the best rated of them.
RELEVANCE_CANDIDATES = 250


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


def _free_windows_overlapping(start: datetime, end: datetime) -> QuerySet[FreeWindow]:
    """The availability index's stretches that overlap ``[start, end)``.

    ``starts_at`` in ``(start - STRETCH_MAX_SPAN, end)`` is a bounded read of the
    ``(starts_at, ends_at)`` index (no stretch is longer); ``ends_at > start`` is checked in
    that index too. The range overlap says the same for the planner, which knows from the
    statistics on ``tstzrange(starts_at, ends_at)`` (migration ``0006``) how many stretches
    overlap a range: without it, it takes the conditions as independent, expects nearly
    every coach to match a narrow window and walks a sort index through all of them."""
    return FreeWindow.objects.filter(
        RawSQL(
            "tstzrange(starts_at, ends_at) && tstzrange(%s, %s)",
            (start, end),
            output_field=models.BooleanField(),
        ),
        starts_at__gt=start - STRETCH_MAX_SPAN,
        starts_at__lt=end,
        ends_at__gt=start,
    )


def coach_search(*, search: CoachSearch, now: datetime | None = None) -> QuerySet[CoachProfile]:
    """Public coaches matching ``search``, ordered, with what a result card shows
    prefetched (a constant number of queries whatever the page size).

    Written so that each page is read in a bounded number of rows however many coaches
    there are (docs/coaches.md, "Ten times the data"): the account is prefetched for the
    page's coaches only, not joined; a specialisation is matched by id, so the planner
    knows how common it is."""
    now = now or timezone.now()
    coaches = public_coaches()
    query = None
    if search.text.strip():
        query = SearchQuery(search.text.strip(), search_type="websearch", config="english")
        coaches = coaches.filter(search_vector=query)
    if search.specialization:
        specialization_id = (
            Specialization.objects.filter(slug=search.specialization)
            .values_list("pk", flat=True)
            .first()
        )
        if specialization_id is None:
            return CoachProfile.objects.none()
        # EXISTS rather than a join, so that no DISTINCT over wide rows is needed.
        coaches = coaches.filter(
            Exists(
                CoachProfile.specializations.through.objects.filter(
                    coachprofile_id=OuterRef("pk"), specialization_id=specialization_id
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
        until = now + timedelta(days=search.free_within_days)
        coaches = coaches.filter(
            Exists(_free_windows_overlapping(now, until).filter(coach=OuterRef("pk")))
        )
    if search.window_start is not None and search.window_end is not None:
        window_start, window_end = max(search.window_start, now), search.window_end
        # A stretch of the index is a run of slots one SLOT_STEP apart from its start, so a
        # slot fits the window when the first step at or after the window's start, plus the
        # session, ends by the window's end and by the stretch's end.
        first_fitting_slot_ends_in_time = RawSQL(
            "starts_at + CEIL(EXTRACT(EPOCH FROM (GREATEST(starts_at, %s) - starts_at)) / %s)"
            " * make_interval(secs => %s) + min_duration <= LEAST(ends_at, %s)",
            (window_start, SLOT_STEP.total_seconds(), SLOT_STEP.total_seconds(), window_end),
            output_field=models.BooleanField(),
        )
        coaches = coaches.filter(
            Exists(
                _free_windows_overlapping(window_start, window_end).filter(
                    first_fitting_slot_ends_in_time, coach=OuterRef("pk")
                )
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
    if ordering is None and query is not None:
        # Relevance: ts_rank has to be computed for every match before the best can be
        # chosen, and a common word matches tens of thousands of coaches. The rank is
        # computed over the RELEVANCE_CANDIDATES best-rated matches (read from the rating
        # sort's index, or from the text index when the words are rare); results are
        # those candidates in rank order, so they are a bounded read however many match.
        candidates = coaches.order_by(*orderings[SearchSort.RATING]).values("pk")[
            :RELEVANCE_CANDIDATES
        ]
        coaches = CoachProfile.objects.filter(pk__in=candidates).annotate(
            rank=SearchRank(F("search_vector"), query)
        )
        ordering = ["-rank", "id"]
    elif ordering is None:
        # Relevance without text: the best rated first, read straight from the rating
        # sort's index (ties by number of reviews, as that sort).
        ordering = orderings[SearchSort.RATING]
    return (
        coaches.order_by(*ordering)
        .defer("search_vector")
        .prefetch_related(
            "user",
            "specializations",
            Prefetch(
                "session_types",
                queryset=SessionType.objects.filter(is_active=True).order_by("price"),
                to_attr="active_session_types",
            ),
        )
    )


def featured_coaches(*, limit: int = 6) -> list[CoachProfile]:
    """Public coaches for the home page: the best rated with reviews first, then the
    newest, with what a result card shows."""
    return list(
        public_coaches()
        .order_by(
            F("rating_count").desc(),
            F("rating_average").desc(nulls_last=True),
            "-created_at",
        )
        .defer("search_vector")
        .select_related("user")
        .prefetch_related(
            "specializations",
            Prefetch(
                "session_types",
                queryset=SessionType.objects.filter(is_active=True).order_by("price"),
                to_attr="active_session_types",
            ),
        )[:limit]
    )


def specializations_offered() -> list[Specialization]:
    """The specialisations at least one public coach offers, with ``coach_count``."""
    public = models.Q(
        coaches__is_approved=True, coaches__can_take_charges=True, coaches__user__is_active=True
    )
    return list(
        Specialization.objects.annotate(coach_count=models.Count("coaches", filter=public))
        .filter(coach_count__gt=0)
        .order_by("-coach_count", "name")
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


# --- insights --------------------------------------------------------------------------------


def coach_ratings_by_month(
    *, coach: CoachProfile, start: datetime, end: datetime, zone: ZoneInfo
) -> dict[date, tuple[int, int]]:
    """``{first day of the month: (reviews, sum of their ratings)}`` of the coach's visible
    reviews written in ``[start, end)``, months of ``zone`` (one query)."""
    rows = (
        Review.objects.filter(
            coach=coach, is_hidden=False, created_at__gte=start, created_at__lt=end
        )
        .annotate(month=TruncMonth("created_at", tzinfo=zone, output_field=DateField()))
        .values("month")
        .annotate(count=Count("pk"), total=Sum("rating"))
    )
    return {row["month"]: (row["count"], row["total"] or 0) for row in rows}


def month_starts(start: datetime, end: datetime, zone: ZoneInfo) -> list[datetime]:
    """The instants at which calendar months of ``zone`` begin in ``(start, end)``, with
    ``start`` first: the boundaries that cut ``[start, end)`` into months."""
    local = start.astimezone(zone)
    boundaries = [start]
    year, month = local.year, local.month
    while True:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        boundary = datetime(year, month, 1, tzinfo=zone)
        if boundary >= end:
            return boundaries
        boundaries.append(boundary)


def _merged(intervals: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for begin, finish in sorted(intervals):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], finish))
        else:
            merged.append((begin, finish))
    return merged


def _without(
    intervals: list[tuple[datetime, datetime]], holes: Iterable[tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime]]:
    """``intervals`` (merged) less every ``hole``."""
    result = intervals
    for hole_start, hole_end in holes:
        cut: list[tuple[datetime, datetime]] = []
        for begin, finish in result:
            if hole_end <= begin or hole_start >= finish:
                cut.append((begin, finish))
                continue
            if begin < hole_start:
                cut.append((begin, hole_start))
            if hole_end < finish:
                cut.append((hole_end, finish))
        result = cut
    return result


def coach_offered_seconds_by_month(
    *, coach: CoachProfile, start: datetime, end: datetime, zone: ZoneInfo
) -> dict[date, float]:
    """Seconds the coach offered for booking in ``[start, end)`` per calendar month of
    ``zone``: the weekly hours (as they are now) and extra hours, on every local day of the
    coach's own zone, less time off (one query).

    Wall-clock hours become real hours through ``rule_windows``, so a 00:30-02:30 interval
    on the night the clocks go forward offers one hour, and 09:00-17:00 is eight hours on
    every day of the year.
    """
    calendar = coach_calendars(coaches=[coach], start=start, end=end, busy={})[coach.pk]
    coach_zone = ZoneInfo(calendar.time_zone)
    windows: list[tuple[datetime, datetime]] = []
    day = start.astimezone(coach_zone).date() - timedelta(days=1)
    last = end.astimezone(coach_zone).date() + timedelta(days=1)
    while day <= last:
        windows.extend(rule_windows(calendar, day))
        day += timedelta(days=1)
    open_hours = _without(_merged(windows), calendar.time_off)
    boundaries = [*month_starts(start, end, zone), end]
    seconds: dict[date, float] = {}
    for month_start, month_end in itertools.pairwise(boundaries):
        month = month_start.astimezone(zone).date().replace(day=1)
        seconds[month] = sum(
            max((min(finish, month_end) - max(begin, month_start)).total_seconds(), 0.0)
            for begin, finish in open_hours
        )
    return seconds
