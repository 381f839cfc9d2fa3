"""Bookings: reads."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import (
    Case,
    CharField,
    Count,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
    prefetch_related_objects,
)
from django.utils import timezone

from bookings.models import (
    LIVE_STATUSES,
    PLAN_SUBSCRIPTION_LIVE,
    Booking,
    BookingStatus,
    CancellationPolicy,
    CoachingPlan,
    Package,
    PackagePurchase,
    PlanCredit,
    PlanSubscription,
    PlanSubscriptionStatus,
)
from marketplace.errors import NotFound
from marketplace.money import format_money
from payments import selectors as payment_selectors
from payments.models import PaymentStatus

if TYPE_CHECKING:
    from coaches.models import CoachProfile
    from marketplace.models import User
    from payments.models import Dispute, Payment, Refund


_BUSY_SQL = f"""
    SELECT coach_id, starts_at, ends_at FROM {Booking._meta.db_table}
     WHERE coach_id = ANY(%s) AND starts_at < %s AND ends_at > %s
       AND (status = '{BookingStatus.CONFIRMED.value}'
            OR (status = '{BookingStatus.HELD.value}' AND hold_expires_at > %s))
     ORDER BY starts_at
"""  # noqa: S608 - the table name and statuses are ours, every value is a parameter


def busy_intervals(
    *, coach_ids: Iterable[int], start: datetime, end: datetime
) -> dict[int, list[tuple[datetime, datetime]]]:
    """Times taken by live bookings (confirmed, or held and not yet expired), per coach.

    Intervals are the bookings' own times; the coach's buffers are applied by the caller.
    """
    now = timezone.now()
    # Plain SQL: it runs inside every hold (under the coach lock) and every slots request, and
    # compiling the ORM query cost several times more than running it.
    with connection.cursor() as cursor:
        cursor.execute(_BUSY_SQL, [list(coach_ids), end, start, now])
        rows = cursor.fetchall()
    taken: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for coach_id, starts_at, ends_at in rows:
        taken[coach_id].append((starts_at, ends_at))
    return dict(taken)


# --- packages -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PackageOffer:
    package: Package
    price: str
    per_session: str
    saving_percent: int


def packages_on_offer(*, coach: CoachProfile) -> list[PackageOffer]:
    """The coach's active packages of active session types, cheapest first, with the price of
    one session in the package and what it saves against booking them one by one."""
    offers = []
    for package in Package.objects.filter(
        coach=coach, is_active=True, session_type__is_active=True
    ).select_related("session_type"):
        single_total = package.session_type.price * package.session_count
        offers.append(
            PackageOffer(
                package=package,
                price=format_money(package.price, package.currency),
                per_session=format_money(package.price // package.session_count, package.currency),
                saving_percent=max(0, 100 - package.price * 100 // single_total)
                if single_total
                else 0,
            )
        )
    return offers


# --- policy ---------------------------------------------------------------------------------


def policy_for(coach: CoachProfile) -> CancellationPolicy:
    """The coach's cancellation policy, or the defaults (an unsaved row) when they have none."""
    policy = CancellationPolicy.objects.filter(coach=coach).first()
    return policy if policy is not None else CancellationPolicy(coach=coach)


@dataclass(frozen=True)
class RefundTerms:
    percent: int
    refund_application_fee: bool
    explanation: str


# A disputed payment is never refunded by us (payments.services.refunds.refund_request): the
# card issuer decides what goes back to the client.
DISPUTED_REFUND_NOTE = (
    "No refund from us: the payment is disputed with the card issuer, and the dispute "
    "decides what comes back to the card."
)


def payment_is_disputed(booking: Booking) -> bool:
    """Whether the booking's payment is under a dispute (the flag, or the payment's state)."""
    if booking.has_dispute:
        return True
    payment = payment_selectors.payment_of_booking(booking.pk)
    return payment is not None and payment.status == PaymentStatus.DISPUTED


def refund_terms(*, booking: Booking, now: datetime | None = None) -> RefundTerms:
    """What a client's cancellation of ``booking`` at ``now`` refunds under its coach's policy,
    and why, in words the client reads before and after cancelling.

    A disputed payment refunds nothing (the dispute decides); a package or plan session
    refunds no money but gets its credit back in the free window."""
    now = now or timezone.now()
    if payment_is_disputed(booking):
        return RefundTerms(0, False, DISPUTED_REFUND_NOTE)
    policy = policy_for(booking.coach)
    # A package's or a plan's session: its credit, not money, comes back.
    package = bool(booking.package_purchase_id or booking.plan_credit_id)
    credit_of = "plan" if booking.plan_credit_id else "package"
    hours = policy.free_cancellation_hours
    if booking.starts_at - now >= timedelta(hours=hours):
        if package:
            return RefundTerms(
                100,
                True,
                f"The session goes back to your {credit_of}: more than {hours} hours before "
                "the start.",
            )
        return RefundTerms(100, True, f"Full refund: more than {hours} hours before the start.")
    if now < booking.starts_at:
        percent, when = (
            policy.late_cancellation_refund_percent,
            f"less than {hours} hours before the start",
        )
    else:
        percent, when = policy.after_start_refund_percent, "after the start"
    if package:
        explanation = f"The session counts as used: {when}."
    elif percent <= 0:
        explanation = f"No refund: {when}."
    else:
        explanation = f"{percent}% refund: {when}."
    return RefundTerms(percent, policy.refund_application_fee_on_partial, explanation)


def coach_cancellation_terms(*, booking: Booking) -> str:
    """What the client gets back when the coach (or staff) cancels ``booking``."""
    if payment_is_disputed(booking):
        return DISPUTED_REFUND_NOTE
    if booking.package_purchase_id:
        return "The session goes back to the client's package."
    return "The client is refunded in full."


def policy_summary(coach: CoachProfile) -> list[str]:
    """The policy in plain words, for the review page and the e-mails."""
    policy = policy_for(coach)
    return [
        f"Free cancellation up to {policy.free_cancellation_hours} hours before the start.",
        f"{policy.late_cancellation_refund_percent}% refund when cancelled later, "
        f"{policy.after_start_refund_percent}% after the start.",
        f"Free rescheduling up to {policy.free_reschedule_hours} hours before the start, "
        f"at most {policy.max_reschedules} times.",
    ]


# --- what people see -------------------------------------------------------------------------


def booking_for_user(*, user: User, booking_id: int) -> Booking:
    """The booking if ``user`` is its client, its coach or staff; ``NotFound`` otherwise."""
    booking = (
        Booking.objects.select_related("coach__user", "client", "session_type", "package_purchase")
        .filter(pk=booking_id)
        .first()
    )
    if booking is None or not (
        user.is_staff or booking.client_id == user.pk or booking.coach.user_id == user.pk
    ):
        raise NotFound("No such booking.")
    return booking


def bookings_visible_to(*, user: User) -> QuerySet[Booking]:
    return (
        Booking.objects.select_related("coach__user", "client", "session_type")
        .filter(Q(client=user) | Q(coach__user=user))
        .order_by("-starts_at")
    )


def client_sessions(*, client: User, now: datetime | None = None) -> dict[str, list[Booking]]:
    """The client's dashboard: upcoming (held or confirmed, not ended) and past sessions."""
    now = now or timezone.now()
    rows = list(
        Booking.objects.select_related("coach__user", "session_type", "client_note")
        .prefetch_related("payments")
        .filter(client=client)
        .exclude(status__in=[BookingStatus.RESCHEDULED])
        .exclude(status=BookingStatus.EXPIRED, payments__status="succeeded")
        .order_by("starts_at")
    )
    upcoming = [b for b in rows if b.ends_at > now and b.status in LIVE_STATUSES]
    upcoming_ids = {b.pk for b in upcoming}
    past = [b for b in rows if b.pk not in upcoming_ids and b.status != BookingStatus.EXPIRED]
    past.reverse()
    return {"upcoming": upcoming, "past": past}


def coach_agenda(*, coach: CoachProfile, now: datetime | None = None) -> dict[str, list[Booking]]:
    """The coach's dashboard: today's sessions (coach's time zone), upcoming, and ended
    sessions still waiting to be marked."""
    now = now or timezone.now()
    zone = ZoneInfo(coach.time_zone)
    local_today = now.astimezone(zone).date()
    day_start = datetime.combine(local_today, time.min, tzinfo=zone)
    day_end = day_start + timedelta(days=1)
    confirmed = list(
        Booking.objects.select_related("client", "session_type")
        .filter(coach=coach, status=BookingStatus.CONFIRMED)
        .order_by("starts_at")
    )
    return {
        "today": [b for b in confirmed if day_start <= b.starts_at < day_end],
        "upcoming": [b for b in confirmed if b.starts_at >= day_end],
        "to_mark": [b for b in confirmed if b.ends_at <= now],
    }


def reviewable_booking(*, booking_id: int, client: User) -> Booking:
    """The client's booking to review (with its coach and session type), or ``NotFound``."""
    booking = (
        Booking.objects.select_related("coach__user", "session_type")
        .filter(pk=booking_id, client=client)
        .first()
    )
    if booking is None:
        raise NotFound("No such session.")
    return booking


def booking_is_completed(*, booking: Booking) -> bool:
    """Whether the session has taken place (a client may review it)."""
    return booking.status == BookingStatus.COMPLETED


def calendar_bookings(*, user: User) -> QuerySet[Booking]:
    """Confirmed and completed sessions of the user, as client or coach, for the iCal feed
    (cancelled ones too, so calendars drop them)."""
    since = timezone.now() - timedelta(days=90)
    return (
        Booking.objects.select_related("coach__user", "client", "session_type")
        .filter(Q(client=user) | Q(coach__user=user), starts_at__gte=since)
        .exclude(status__in=[BookingStatus.HELD, BookingStatus.EXPIRED])
        .order_by("starts_at")
    )


def booking_payment(booking: Booking) -> Payment | None:
    """The booking's payment (the paid one if any), or None for a package session."""
    return payment_selectors.payment_of_booking(booking.pk)


@dataclass(frozen=True)
class RefundLine:
    refund: Refund
    amount_display: str


@dataclass(frozen=True)
class MoneyState:
    """What happened to a booking's money after it was paid: each refund with Stripe's
    status, and the dispute (its status and evidence deadline), for the booking page."""

    refunds: list[RefundLine]
    dispute: Dispute | None


def booking_money_state(payment: Payment | None) -> MoneyState:
    if payment is None:
        return MoneyState(refunds=[], dispute=None)
    return MoneyState(
        refunds=[
            RefundLine(refund=refund, amount_display=format_money(refund.amount, refund.currency))
            for refund in payment_selectors.payment_refunds(payment.pk)
        ],
        dispute=payment_selectors.payment_dispute(payment.pk),
    )


def package_sessions_used(purchase: PackagePurchase) -> int:
    """Sessions of the package that count: live, completed or no-show bookings, and late
    client cancellations (their credit is not returned)."""
    return purchase.bookings.filter(
        Q(status__in=[*LIVE_STATUSES, BookingStatus.COMPLETED, BookingStatus.NO_SHOW])
        | Q(status=BookingStatus.CANCELLED_BY_CLIENT, package_credit_returned=False)
    ).count()


# --- coaching plans ------------------------------------------------------------------------

# Bookings that spend a credit: live, completed or no-show ones, and late client
# cancellations (their credit is not returned).
_SPENDS_CREDIT = Q(status__in=[*LIVE_STATUSES, BookingStatus.COMPLETED, BookingStatus.NO_SHOW]) | Q(
    status=BookingStatus.CANCELLED_BY_CLIENT, package_credit_returned=False
)


def plan_credit_sessions_used(credit: PlanCredit) -> int:
    """Sessions booked with this credit that count."""
    return credit.bookings.filter(_SPENDS_CREDIT).count()


def plan_credits_left(credit: PlanCredit, *, used: int | None = None) -> int:
    used = plan_credit_sessions_used(credit) if used is None else used
    return max(0, credit.sessions - credit.carried_forward - used)


def plan_credit_to_spend(
    plan_subscription: PlanSubscription, *, now: datetime | None = None
) -> PlanCredit | None:
    """The credit a new booking of the plan spends: the one ending soonest that still has a
    session (None: nothing left to book). Credits can be spent while their period lasts."""
    now = now or timezone.now()
    credits = (
        plan_subscription.credits.filter(period_start__lte=now, period_end__gt=now)
        .annotate(used=Count("bookings", filter=_booking_spends_credit()))
        .order_by("period_end", "id")
    )
    for credit in credits:
        if plan_credits_left(credit, used=credit.used) > 0:  # type: ignore[attr-defined]
            return credit
    return None


def _booking_spends_credit() -> Q:
    return Q(
        bookings__status__in=[*LIVE_STATUSES, BookingStatus.COMPLETED, BookingStatus.NO_SHOW]
    ) | Q(
        bookings__status=BookingStatus.CANCELLED_BY_CLIENT,
        bookings__package_credit_returned=False,
    )


@dataclass(frozen=True)
class PlanOffer:
    plan: CoachingPlan
    price: str
    per_session: str


def plans_on_offer(*, coach: CoachProfile) -> list[PlanOffer]:
    """The coach's plans on sale (of active session types), cheapest first."""
    return [
        PlanOffer(
            plan=plan,
            price=format_money(plan.price, plan.currency),
            per_session=format_money(plan.price // plan.sessions_per_period, plan.currency),
        )
        for plan in CoachingPlan.objects.filter(
            coach=coach, is_active=True, session_type__is_active=True
        )
        .exclude(stripe_price_id="")
        .select_related("session_type")
        .order_by("price", "id")
    ]


def coach_plans_with_counts(*, coach: CoachProfile) -> list[CoachingPlan]:
    """The coach's plans, each with ``running`` (subscriptions active, past due or paused)
    and ``past_due``, in one query."""
    running = [
        PlanSubscriptionStatus.ACTIVE,
        PlanSubscriptionStatus.PAST_DUE,
        PlanSubscriptionStatus.PAUSED,
    ]
    return list(
        CoachingPlan.objects.filter(coach=coach)
        .select_related("session_type")
        .annotate(
            running=Count("subscriptions", filter=Q(subscriptions__status__in=running)),
            past_due=Count(
                "subscriptions",
                filter=Q(subscriptions__status=PlanSubscriptionStatus.PAST_DUE),
            ),
        )
        .order_by("-is_active", "price", "id")
    )


def coach_plan_subscribers(*, coach: CoachProfile) -> QuerySet[PlanSubscription]:
    """The coach's subscribers, newest first (paginate it), with the plan and the Stripe
    side joined: only what the plans page shows of them (the status, since when, the
    client's name, the plan's, the renewal)."""
    return (
        PlanSubscription.objects.filter(coach=coach)
        .exclude(status__in=[PlanSubscriptionStatus.PENDING, PlanSubscriptionStatus.EXPIRED])
        .select_related("plan", "client", "subscription")
        .only(
            "plan_id",
            "client_id",
            "coach_id",
            "subscription_id",
            "status",
            "created_at",
            "plan__name",
            "client__first_name",
            "client__last_name",
            "client__email",
            "subscription__cancel_at_period_end",
            "subscription__current_period_end",
        )
        .order_by("-created_at", "-id")
    )


@dataclass(frozen=True)
class PlanStanding:
    """A client's plan as Billing and booking show it."""

    plan_subscription: PlanSubscription
    credits_left: int
    credits_until: datetime | None
    can_book: bool
    # The hosted page of the plan's unpaid invoice (a failed renewal), else "".
    pay_url: str = ""


@dataclass(frozen=True)
class PlanSwitch:
    from_id: int
    plan: CoachingPlan


def plan_switch_options(standings: list[PlanStanding]) -> list[PlanSwitch]:
    """For each running, paid-up plan: the coach's other plans on sale in its currency (one
    query)."""
    switchable = [
        s.plan_subscription
        for s in standings
        if s.plan_subscription.status
        in (PlanSubscriptionStatus.ACTIVE, PlanSubscriptionStatus.PAUSED)
        and not s.plan_subscription.subscription.cancel_at_period_end
    ]
    if not switchable:
        return []
    offered = list(
        CoachingPlan.objects.filter(
            coach_id__in={row.coach_id for row in switchable}, is_active=True
        )
        .exclude(stripe_price_id="")
        .order_by("price", "id")
    )
    held = {row.plan_id for row in switchable}
    return [
        PlanSwitch(from_id=row.pk, plan=plan)
        for row in switchable
        for plan in offered
        if plan.coach_id == row.coach_id
        and plan.pk not in held
        and plan.currency == row.plan.currency
    ]


def _plan_rows() -> QuerySet[PlanSubscription]:
    """Plan subscriptions with what a standing shows joined (the plan, its session type,
    the coach, the Stripe side) and, for one whose payment is due, ``pay_url``: the page
    of its open invoice; newest first."""
    return (
        PlanSubscription.objects.select_related("plan__session_type", "coach__user", "subscription")
        .annotate(
            pay_url=Case(
                When(
                    status=PlanSubscriptionStatus.PAST_DUE,
                    then=payment_selectors.open_invoice_url(OuterRef("subscription_id")),
                ),
                default=Value(""),
                output_field=CharField(),
            )
        )
        .order_by("-created_at", "-id")
    )


def _standings_of(rows: list[PlanSubscription], *, now: datetime) -> list[PlanStanding]:
    """Each row's standing (rows of ``_plan_rows``), in one query whatever the number of
    rows: their current credits with the sessions used."""
    prefetch_related_objects(
        rows,
        Prefetch(
            "credits",
            queryset=PlanCredit.objects.filter(period_start__lte=now, period_end__gt=now)
            .annotate(used=Count("bookings", filter=_booking_spends_credit()))
            .order_by("period_end", "id"),
            to_attr="current_credits",
        ),
    )
    standings = []
    for row in rows:
        current = row.current_credits  # type: ignore[attr-defined]
        left = sum(plan_credits_left(c, used=c.used) for c in current)
        standings.append(
            PlanStanding(
                plan_subscription=row,
                credits_left=left,
                credits_until=max((c.period_end for c in current), default=None),
                can_book=left > 0
                and row.status != PlanSubscriptionStatus.PAST_DUE
                and row.status != PlanSubscriptionStatus.PENDING,
                pay_url=row.pay_url or "",  # type: ignore[attr-defined]
            )
        )
    return standings


def plan_standings(
    *, client: User, now: datetime | None = None, live_only: bool = False
) -> list[PlanStanding]:
    """The client's plan subscriptions (newest first, at most 100) with the sessions left to
    book now, in two queries whatever their number."""
    rows = _plan_rows().filter(client=client).exclude(status=PlanSubscriptionStatus.EXPIRED)
    if live_only:
        rows = rows.exclude(status=PlanSubscriptionStatus.ENDED)
    return _standings_of(list(rows[:100]), now=now or timezone.now())


# Ended plans Billing shows at once; older ones are a page further.
PAST_PLANS_PER_PAGE = 3
# What Billing shows of a plan subscription (``bookings/billing/_plan_rows.html``) and what
# its standing and switch options read: the rest of the five joined rows is left unread.
_BILLING_FIELDS = (
    "plan_id",
    "client_id",
    "coach_id",
    "subscription_id",
    "status",
    "paused_reason",
    "created_at",
    "ended_at",
    "plan__coach_id",
    "plan__session_type_id",
    "plan__name",
    "plan__sessions_per_period",
    "plan__interval",
    "plan__price",
    "plan__currency",
    "plan__session_type__name",
    "coach__user_id",
    "coach__slug",
    "coach__user__first_name",
    "coach__user__last_name",
    "coach__user__email",
    "subscription__status",
    "subscription__cancel_at_period_end",
    "subscription__current_period_end",
)


@dataclass(frozen=True)
class BillingPlans:
    """A client's plans as Billing shows them: the live ones (awaiting payment, active,
    payment due, paused; newest first, at most 100) and one page of the ended ones."""

    live: list[PlanStanding]
    past: list[PlanStanding]
    # the page of ended plans ``past`` is (its number, and whether older ones follow)
    past_page: Page


def billing_plans(
    *, client: User, past_page: int | str | None = 1, now: datetime | None = None
) -> BillingPlans:
    """The client's live plans and a page of their ended ones (``PAST_PLANS_PER_PAGE``
    each, newest first; a page out of range is the last), in three queries whatever the
    client's history: the ended ones' count, the rows of both (with the open invoice of
    those past due), their credits."""
    mine = PlanSubscription.objects.filter(client=client)
    ended = mine.filter(status=PlanSubscriptionStatus.ENDED).order_by("-created_at", "-id")
    page = Paginator(ended, PAST_PLANS_PER_PAGE).get_page(past_page)
    first = (page.number - 1) * PAST_PLANS_PER_PAGE
    page_ids = ended.values("pk")[first : first + PAST_PLANS_PER_PAGE]
    rows = list(
        _plan_rows()
        .filter(client=client)
        .filter(Q(status__in=PLAN_SUBSCRIPTION_LIVE) | Q(pk__in=page_ids))
        .only(*_BILLING_FIELDS)
        # the live ones first
        .order_by(
            Case(When(status=PlanSubscriptionStatus.ENDED, then=1), default=0),
            "-created_at",
            "-id",
        )[: 100 + PAST_PLANS_PER_PAGE]
    )
    standings = _standings_of(rows, now=now or timezone.now())
    return BillingPlans(
        live=[s for s in standings if s.plan_subscription.status != PlanSubscriptionStatus.ENDED][
            :100
        ],
        past=[s for s in standings if s.plan_subscription.status == PlanSubscriptionStatus.ENDED],
        past_page=page,
    )
