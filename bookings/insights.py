"""Reads for the dashboards: the coach's insights (money, sessions, rebooking, rating,
utilisation, the week ahead) and the client's dashboard.

Every figure comes from our own rows; nothing calls Stripe. A range is whole calendar
months in the viewer's zone ("this month", "last 3 months" = this month and the two before,
"last 12 months"), compared with the same number of months just before it. The query count
of each dashboard does not grow with the history: each kind of row is read once, grouped by
month in PostgreSQL (``tests/bookings/test_insights.py``).

Definitions (also in docs/insights.md):

- sessions, no-shows, cancellations and utilisation count bookings by their start;
- money counts a payment when it succeeded, a refund when it was made, a package share
  when it was transferred (``payments.reports``);
- the rebooking rate is the share of clients with a completed session in the range (their
  first one there) who booked the coach again, for any later session, between that
  session's start and 60 days after its end; a reschedule is not a new booking, a booking
  never paid (a hold that expired) does not count, a later cancellation still does;
- utilisation is booked hours (confirmed, completed and no-show sessions) over offered
  hours (``coaches.selectors.coach_offered_seconds_by_month``);
- the average rating is over the visible reviews written in the range.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Count, DateField, DurationField, ExpressionWrapper, F, Max, Q, Sum
from django.db.models.functions import Now, TruncMonth
from django.utils import timezone

from bookings.models import Booking, BookingStatus
from coaches import selectors as coach_selectors
from coaches.models import CoachProfile
from marketplace.dates import format_month
from payments import reports

REBOOKING_WINDOW = timedelta(days=60)


@dataclass(frozen=True)
class Range:
    key: str
    label: str
    months: int
    previous_label: str


RANGES: dict[str, Range] = {
    "month": Range("month", "This month", 1, "last month"),
    "3m": Range("3m", "Last 3 months", 3, "the 3 months before"),
    "12m": Range("12m", "Last 12 months", 12, "the 12 months before"),
}
DEFAULT_RANGE = "month"


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime
    months: list[date]

    @property
    def label(self) -> str:
        if len(self.months) == 1:
            return format_month(self.months[0])
        return f"{format_month(self.months[0])} to {format_month(self.months[-1])}"


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _period(first: date, months: int, zone: ZoneInfo) -> Period:
    month_list = [_add_months(first, offset) for offset in range(months)]
    end = _add_months(first, months)
    return Period(
        start=datetime(first.year, first.month, 1, tzinfo=zone),
        end=datetime(end.year, end.month, 1, tzinfo=zone),
        months=month_list,
    )


def periods(range_key: str, *, now: datetime, zone: ZoneInfo) -> tuple[Period, Period]:
    """The range asked for and the one just before it, in months of ``zone``."""
    months = RANGES[range_key].months
    this_month = now.astimezone(zone).date().replace(day=1)
    first = _add_months(this_month, -(months - 1))
    return _period(first, months, zone), _period(_add_months(first, -months), months, zone)


def change_percent(current: float, previous: float) -> int | None:
    """The change from ``previous`` to ``current`` in whole percent; None when there was
    nothing before to compare with."""
    if not previous:
        return None
    return round((current - previous) * 100 / previous)


# --- the coach's insights --------------------------------------------------------------------


@dataclass
class SessionMonth:
    completed: int = 0
    no_show: int = 0
    cancelled_by_client: int = 0
    cancelled_by_coach: int = 0
    booked_seconds: float = 0.0

    @property
    def cancelled(self) -> int:
        return self.cancelled_by_client + self.cancelled_by_coach

    def add(self, other: SessionMonth) -> None:
        self.completed += other.completed
        self.no_show += other.no_show
        self.cancelled_by_client += other.cancelled_by_client
        self.cancelled_by_coach += other.cancelled_by_coach
        self.booked_seconds += other.booked_seconds


@dataclass(frozen=True)
class Rebooking:
    clients: int
    rebooked: int

    @property
    def rate(self) -> float | None:
        """Between 0 and 1; None without a client to count."""
        return self.rebooked / self.clients if self.clients else None


@dataclass(frozen=True)
class Utilisation:
    booked_seconds: float
    offered_seconds: float

    @property
    def rate(self) -> float | None:
        """Booked over offered (above 1 when sessions were booked outside today's hours);
        None when no hours were offered."""
        return self.booked_seconds / self.offered_seconds if self.offered_seconds else None


@dataclass(frozen=True)
class Rating:
    reviews: int
    total: int

    @property
    def average(self) -> float | None:
        return self.total / self.reviews if self.reviews else None


@dataclass
class CurrencyMoney:
    currency: str
    current: reports.MoneyMonth
    previous: reports.MoneyMonth
    by_month: list[reports.MoneyMonth]

    @property
    def gross_change(self) -> int | None:
        return change_percent(self.current.gross, self.previous.gross)

    @property
    def net_change(self) -> int | None:
        return change_percent(self.current.net, self.previous.net)


@dataclass
class CoachInsights:
    range: Range
    current: Period
    previous: Period
    zone: ZoneInfo
    money: list[CurrencyMoney]
    sessions: SessionMonth
    previous_sessions: SessionMonth
    sessions_by_month: list[SessionMonth]
    rebooking: Rebooking
    previous_rebooking: Rebooking
    utilisation: Utilisation
    previous_utilisation: Utilisation
    rating: Rating
    previous_rating: Rating
    ratings_by_month: list[Rating]
    agenda: list[Booking] = field(default_factory=list)

    @property
    def completed_change(self) -> int | None:
        return change_percent(self.sessions.completed, self.previous_sessions.completed)

    @property
    def rating_trend(self) -> float | None:
        """The average's change on the previous range, in stars (None without both)."""
        if self.rating.average is None or self.previous_rating.average is None:
            return None
        return round(self.rating.average - self.previous_rating.average, 2)


def _sessions_by_month(
    *, coach: CoachProfile, start: datetime, end: datetime, zone: ZoneInfo
) -> dict[date, SessionMonth]:
    duration = ExpressionWrapper(F("ends_at") - F("starts_at"), output_field=DurationField())
    rows = (
        Booking.objects.filter(coach=coach, starts_at__gte=start, starts_at__lt=end)
        .annotate(month=TruncMonth("starts_at", tzinfo=zone, output_field=DateField()))
        .values("month")
        .annotate(
            completed=Count("pk", filter=Q(status=BookingStatus.COMPLETED)),
            no_show=Count("pk", filter=Q(status=BookingStatus.NO_SHOW)),
            cancelled_by_client=Count("pk", filter=Q(status=BookingStatus.CANCELLED_BY_CLIENT)),
            cancelled_by_coach=Count("pk", filter=Q(status=BookingStatus.CANCELLED_BY_COACH)),
            booked=Sum(duration, filter=Q(status__in=BOOKED_STATUSES)),
        )
    )
    return {
        row["month"]: SessionMonth(
            completed=row["completed"],
            no_show=row["no_show"],
            cancelled_by_client=row["cancelled_by_client"],
            cancelled_by_coach=row["cancelled_by_coach"],
            booked_seconds=row["booked"].total_seconds() if row["booked"] else 0.0,
        )
        for row in rows
    }


# Sessions that took (or will take) the coach's time.
BOOKED_STATUSES = (BookingStatus.CONFIRMED, BookingStatus.COMPLETED, BookingStatus.NO_SHOW)

_REBOOKING_SQL = f"""
    WITH periods(label, starts, ends) AS (
        VALUES ('current', %(current_start)s::timestamptz, %(current_end)s::timestamptz),
               ('previous', %(previous_start)s::timestamptz, %(previous_end)s::timestamptz)
    ), firsts AS (
        SELECT DISTINCT ON (periods.label, booking.client_id)
               periods.label, booking.client_id, booking.starts_at, booking.ends_at
          FROM periods
          JOIN {Booking._meta.db_table} booking
            ON booking.starts_at >= periods.starts AND booking.starts_at < periods.ends
         WHERE booking.coach_id = %(coach)s AND booking.status = '{BookingStatus.COMPLETED.value}'
         ORDER BY periods.label, booking.client_id, booking.starts_at
    )
    SELECT firsts.label, count(*), count(*) FILTER (WHERE EXISTS (
        SELECT 1 FROM {Booking._meta.db_table} later
         WHERE later.coach_id = %(coach)s AND later.client_id = firsts.client_id
           AND later.rescheduled_from_id IS NULL
           AND later.status NOT IN ('{BookingStatus.HELD.value}', '{BookingStatus.EXPIRED.value}')
           AND later.starts_at > firsts.starts_at
           AND later.created_at > firsts.starts_at
           AND later.created_at <= firsts.ends_at + %(window)s::interval
    ))
      FROM firsts GROUP BY firsts.label
"""  # noqa: S608 - the table name and statuses are ours, every value is a parameter


def rebooking(*, coach: CoachProfile, current: Period, previous: Period) -> dict[str, Rebooking]:
    """The rebooking of the two periods (``"current"``, ``"previous"``) in one query."""
    with connection.cursor() as cursor:
        cursor.execute(
            _REBOOKING_SQL,
            {
                "coach": coach.pk,
                "current_start": current.start,
                "current_end": current.end,
                "previous_start": previous.start,
                "previous_end": previous.end,
                "window": f"{REBOOKING_WINDOW.days} days",
            },
        )
        rows = {label: Rebooking(clients, rebooked) for label, clients, rebooked in cursor}
    empty = Rebooking(0, 0)
    return {"current": rows.get("current", empty), "previous": rows.get("previous", empty)}


def _total(months: list[date], by_month: dict[date, SessionMonth]) -> SessionMonth:
    total = SessionMonth()
    for month in months:
        if month in by_month:
            total.add(by_month[month])
    return total


def coach_agenda_week(
    *, coach: CoachProfile, now: datetime | None = None, days: int = 7
) -> list[Booking]:
    """The coach's confirmed sessions starting in the next ``days`` days, soonest first."""
    now = now or timezone.now()
    return list(
        Booking.objects.select_related("client", "session_type")
        .filter(
            coach=coach,
            status=BookingStatus.CONFIRMED,
            starts_at__gte=now,
            starts_at__lt=now + timedelta(days=days),
        )
        .order_by("starts_at")
    )


def coach_insights(
    *, coach: CoachProfile, range_key: str, zone: ZoneInfo, now: datetime | None = None
) -> CoachInsights:
    """The coach's figures for the range ``range_key`` (a key of ``RANGES``) and the range
    before it, months in ``zone``. Nine queries, whatever the history."""
    now = now or timezone.now()
    current, previous = periods(range_key, now=now, zone=zone)
    start, end = previous.start, current.end

    by_month = _sessions_by_month(coach=coach, start=start, end=end, zone=zone)
    offered = coach_selectors.coach_offered_seconds_by_month(
        coach=coach, start=start, end=end, zone=zone
    )
    ratings = coach_selectors.coach_ratings_by_month(coach=coach, start=start, end=end, zone=zone)
    money = reports.coach_money_by_month(
        coach_user_id=coach.user_id, start=start, end=end, zone=zone
    )
    rebooked = rebooking(coach=coach, current=current, previous=previous)

    def rating_of(months: list[date]) -> Rating:
        counts = [ratings.get(month, (0, 0)) for month in months]
        return Rating(sum(count for count, _ in counts), sum(total for _, total in counts))

    def utilisation_of(period: Period, sessions: SessionMonth) -> Utilisation:
        return Utilisation(
            booked_seconds=sessions.booked_seconds,
            offered_seconds=sum(offered.get(month, 0.0) for month in period.months),
        )

    currencies: dict[str, CurrencyMoney] = {}
    for currency in sorted({currency for currency, _ in money}):
        current_money, previous_money = reports.MoneyMonth(), reports.MoneyMonth()
        for month in previous.months:
            previous_money.add(money.get((currency, month), reports.MoneyMonth()))
        for month in current.months:
            current_money.add(money.get((currency, month), reports.MoneyMonth()))
        currencies[currency] = CurrencyMoney(
            currency=currency,
            current=current_money,
            previous=previous_money,
            by_month=[
                money.get((currency, month), reports.MoneyMonth()) for month in current.months
            ],
        )
    # the currency earned most first
    ordered = sorted(currencies.values(), key=lambda item: (-item.current.gross, item.currency))
    sessions = _total(current.months, by_month)
    previous_sessions = _total(previous.months, by_month)
    return CoachInsights(
        range=RANGES[range_key],
        current=current,
        previous=previous,
        zone=zone,
        money=ordered,
        sessions=sessions,
        previous_sessions=previous_sessions,
        sessions_by_month=[by_month.get(month, SessionMonth()) for month in current.months],
        rebooking=rebooked["current"],
        previous_rebooking=rebooked["previous"],
        utilisation=utilisation_of(current, sessions),
        previous_utilisation=utilisation_of(previous, previous_sessions),
        rating=rating_of(current.months),
        previous_rating=rating_of(previous.months),
        ratings_by_month=[rating_of([month]) for month in current.months],
        agenda=coach_agenda_week(coach=coach, now=now),
    )


# --- the client's dashboard -------------------------------------------------------------------


@dataclass(frozen=True)
class CoachBooked:
    coach: CoachProfile
    sessions: int
    last_session: datetime | None


def coaches_booked(*, client_id: int) -> list[CoachBooked]:
    """The coaches the client has had a paid session with (completed, no-show, confirmed or
    cancelled), most recent first, with how many sessions (two queries)."""
    rows = (
        Booking.objects.filter(client_id=client_id)
        .exclude(status__in=[BookingStatus.HELD, BookingStatus.EXPIRED, BookingStatus.RESCHEDULED])
        .values("coach_id")
        .annotate(
            sessions=Count("pk", filter=Q(status__in=[*BOOKED_STATUSES])),
            last=Max("starts_at", filter=Q(starts_at__lte=Now())),
        )
        .order_by(F("last").desc(nulls_last=True))
    )
    summary = {row["coach_id"]: row for row in rows}
    coaches = CoachProfile.objects.select_related("user").in_bulk(list(summary))
    return [
        CoachBooked(
            coach=coaches[coach_id],
            sessions=row["sessions"],
            last_session=row["last"],
        )
        for coach_id, row in summary.items()
        if coach_id in coaches
    ]


def sessions_used_by_purchase(purchase_ids: list[int]) -> dict[int, int]:
    """Sessions used of each package purchase, in one query (as
    ``selectors.package_sessions_used`` counts them)."""
    used = (
        Booking.objects.filter(package_purchase_id__in=purchase_ids)
        .filter(
            Q(status__in=[BookingStatus.HELD, *BOOKED_STATUSES])
            | Q(status=BookingStatus.CANCELLED_BY_CLIENT, package_credit_returned=False)
        )
        .values("package_purchase_id")
        .annotate(used=Count("pk"))
    )
    counts: dict[int, int] = defaultdict(int)
    for row in used:
        counts[row["package_purchase_id"]] = row["used"]
    return dict(counts)
