"""Holds: a client's claim on a coach's time while they pay, and its end.

Concurrency: every path that creates or moves a live booking locks the coach's row
(``lock_coach``) first, then checks the time inside the same transaction; the
``booking_no_overlap`` exclusion constraint backs it in the database. Status changes go
through ``booking_transition`` (``marketplace.states.transition`` with the booking's table).

Lock order (``docs/architecture.md``): coach → booking → package purchase → payment.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from bookings import notifications
from bookings.models import (
    LIVE_STATUSES,
    Booking,
    BookingStatus,
    BookingStatusChange,
    PackagePurchase,
    PackagePurchaseStatus,
    PlanCredit,
    PlanSubscription,
    PlanSubscriptionStatus,
)
from bookings.selectors import package_sessions_used, plan_credit_to_spend
from coaches.models import CoachProfile, SessionType
from coaches.selectors import (
    BUSY_MARGIN,
    coach_fee_split,
    nearest_free_slots,
    slot_is_available,
)
from coaches.services import search_index
from marketplace import states
from marketplace.errors import Conflict, DomainError, InvalidTransition, NotAllowed
from marketplace.models import User
from payments import selectors as payment_selectors
from payments.models import Payment, PaymentKind
from payments.services import charges

logger = logging.getLogger("bookings")

# A hold lasts as long as its Checkout Session, whose expiry (Stripe's ``expires_at``) it
# takes once the session exists (``checkout.booking_start_checkout``); until then it is held
# for the session's whole lifetime, so the slot is never free while the client can pay.
HOLD_DURATION = charges.CHECKOUT_LIFETIME


class SlotTaken(Conflict):
    code = "slot_taken"

    def __init__(self, message: str, *, nearest: list[datetime]) -> None:
        super().__init__(
            message,
            fields={"starts_at": [message], "nearest_free_slots": [n.isoformat() for n in nearest]},
        )
        self.nearest = nearest


# Moves that take a time for good or give it back: search's availability index follows them
# at once instead of at the next beat rebuild (a hold is left to the rebuild: it lasts 30
# minutes and the profile page and slots API always compute live).
_CHANGES_SEARCH_AVAILABILITY = frozenset(
    {
        BookingStatus.CONFIRMED,
        BookingStatus.CANCELLED_BY_CLIENT,
        BookingStatus.CANCELLED_BY_COACH,
        BookingStatus.RESCHEDULED,
    }
)


def booking_transition(
    booking: Booking,
    to_status: str,
    *,
    by: User | None = None,
    source: str,
    note: str = "",
    changes: dict | None = None,
) -> bool:
    """Move a booking locked by the caller to ``to_status`` (the table refuses anything
    else), record who and what moved it, and keep search's availability in step."""
    moved = states.transition(
        booking, to_status, by=by, source=source, note=note, changes=changes, locked=True
    )
    if moved and to_status in _CHANGES_SEARCH_AVAILABILITY:
        search_index.availability_index_refresh_later(coach_id=booking.coach_id)
    return moved


def lock_coach(coach_id: int) -> CoachProfile:
    """Lock the coach row: every write that creates or moves a live booking of this coach
    queues here, so the overlap check and the insert cannot interleave."""
    return (
        CoachProfile.objects.select_for_update(of=("self",))
        .select_related("user__connected_account")
        .get(pk=coach_id)
    )


_LIVE_AROUND_SQL = f"""
    SELECT id, status, starts_at, ends_at, hold_expires_at FROM {Booking._meta.db_table}
     WHERE coach_id = %s AND status = ANY(%s) AND starts_at < %s AND ends_at > %s
"""  # noqa: S608 - the table name is ours, every value is a parameter


def check_time_free(
    *, coach: CoachProfile, session_type: SessionType, starts_at: datetime, now: datetime
) -> None:
    """Raise ``SlotTaken`` unless ``starts_at`` of ``session_type`` is free for a new live
    booking. Must be called holding the coach's lock.

    One read of the coach's held and confirmed bookings around the time serves three
    purposes: timed-out holds overlapping it are expired (the sweeper may not have run yet,
    and the exclusion constraint still counts them); a live overlap means taken; the rest are
    the busy times of the slot check (availability, buffers, notice, daily limit).
    """
    ends_at = starts_at + timedelta(minutes=session_type.duration_minutes)
    with connection.cursor() as cursor:
        cursor.execute(
            _LIVE_AROUND_SQL,
            [
                coach.pk,
                [str(status) for status in LIVE_STATUSES],
                ends_at + BUSY_MARGIN,
                starts_at - BUSY_MARGIN,
            ],
        )
        rows = cursor.fetchall()
    busy: list[tuple[datetime, datetime]] = []
    stale: list[int] = []
    for pk, status, other_start, other_end, hold_expires_at in rows:
        overlaps = other_start < ends_at and other_end > starts_at
        if status == BookingStatus.HELD and hold_expires_at is not None and hold_expires_at <= now:
            if overlaps:
                stale.append(pk)
            continue
        if overlaps:
            raise slot_taken(coach, session_type, starts_at)
        busy.append((other_start, other_end))
    for booking in Booking.objects.select_for_update().filter(pk__in=stale):
        if booking.status == BookingStatus.HELD:
            expire_locked(booking, source="hold_timeout")
    busy.sort()
    if not slot_is_available(
        coach=coach, session_type=session_type, starts_at=starts_at, now=now, busy=busy
    ):
        raise slot_taken(coach, session_type, starts_at)


def overlaps_live(
    *, coach: CoachProfile, starts_at: datetime, ends_at: datetime, exclude: int | None = None
) -> bool:
    query = Booking.objects.filter(
        coach=coach, status__in=LIVE_STATUSES, starts_at__lt=ends_at, ends_at__gt=starts_at
    )
    if exclude is not None:
        query = query.exclude(pk=exclude)
    return query.exists()


def slot_taken(coach: CoachProfile, session_type: SessionType, starts_at: datetime) -> SlotTaken:
    return SlotTaken(
        "That time was just taken.",
        nearest=nearest_free_slots(coach=coach, session_type=session_type, around=starts_at),
    )


def check_package_usable(
    purchase: PackagePurchase, *, client: User, session_type: SessionType
) -> None:
    """Refuse a package session the package cannot pay for (call holding its lock)."""
    if purchase.client_id != client.pk:
        raise NotAllowed("This package is not yours.")
    if purchase.status != PackagePurchaseStatus.ACTIVE:
        raise Conflict("This package has no sessions left to book.", code="package_not_active")
    if purchase.package.session_type_id != session_type.pk:
        raise DomainError("This package is for another session type.", code="package_session_type")
    if package_sessions_used(purchase) >= purchase.session_count - purchase.sessions_refunded:
        raise Conflict("All sessions of this package are booked.", code="package_used_up")


def plan_credit_for(
    plan_subscription: PlanSubscription, *, client: User, session_type: SessionType, now: datetime
) -> PlanCredit:
    """The credit a session booked with the plan spends, or the reason it cannot be booked
    (call holding the plan subscription's lock)."""
    if plan_subscription.client_id != client.pk:
        raise NotAllowed("This plan is not yours.")
    if plan_subscription.plan.session_type_id != session_type.pk:
        raise DomainError("This plan is for another session type.", code="plan_session_type")
    if plan_subscription.status == PlanSubscriptionStatus.PAST_DUE:
        raise Conflict(
            "This plan's last payment failed: pay it in Billing to book with the plan again.",
            code="plan_past_due",
        )
    if plan_subscription.status in (PlanSubscriptionStatus.PENDING, PlanSubscriptionStatus.EXPIRED):
        raise Conflict("This plan is not paid yet.", code="plan_not_paid")
    credit = plan_credit_to_spend(plan_subscription, now=now)
    if credit is None:
        raise Conflict("This plan has no sessions left to book.", code="plan_used_up")
    return credit


def meeting_url(booking: Booking) -> str:
    if booking.coach.conferencing_url:
        return booking.coach.conferencing_url
    return f"{settings.MEETING_BASE_URL}{booking.pk}-{secrets.token_urlsafe(12)}"


def confirm_locked(booking: Booking, *, source: str, by: User | None = None) -> None:
    """Confirm a held (or expired but still free) booking the caller has locked."""
    booking_transition(
        booking,
        BookingStatus.CONFIRMED,
        by=by,
        source=source,
        changes={
            "confirmed_at": timezone.now(),
            "hold_expires_at": None,
            "meeting_url": booking.meeting_url or meeting_url(booking),
        },
    )
    notifications.booking_confirmed(booking)


def booking_hold(
    *,
    client: User,
    session_type: SessionType,
    starts_at: datetime,
    topic: str = "",
    client_time_zone: str = "UTC",
    package_purchase: PackagePurchase | None = None,
    plan_subscription: PlanSubscription | None = None,
    now: datetime | None = None,
) -> Booking:
    """Hold ``starts_at`` of ``session_type``'s coach for ``client``.

    Of concurrent holds on overlapping times exactly one wins; the others get ``SlotTaken``
    with the nearest free slots. A paid booking gets a pending ``Payment`` in the same
    transaction (its Checkout Session is made by ``booking_start_checkout`` after commit); a
    package or plan session is confirmed at once.
    """
    booking, _payment = hold(
        client=client,
        session_type=session_type,
        starts_at=starts_at,
        topic=topic,
        client_time_zone=client_time_zone,
        package_purchase=package_purchase,
        plan_subscription=plan_subscription,
        now=now,
    )
    return booking


def hold(
    *,
    client: User,
    session_type: SessionType,
    starts_at: datetime,
    topic: str = "",
    client_time_zone: str = "UTC",
    package_purchase: PackagePurchase | None = None,
    plan_subscription: PlanSubscription | None = None,
    now: datetime | None = None,
) -> tuple[Booking, Payment | None]:
    """``booking_hold``, also returning the pending payment of a paid booking.

    Locks: coach → package purchase or plan subscription (a session they pay for) → the new
    booking and payment.
    """
    if package_purchase is not None and plan_subscription is not None:
        raise DomainError("Book with a package or a plan, not both.", code="two_credits")
    now = now or timezone.now()
    if starts_at.tzinfo is None:
        raise DomainError("The start time needs a time zone.", code="invalid_start")
    if not session_type.is_active:
        raise DomainError(
            "This session type is not offered any more.", code="session_type_inactive"
        )
    if client.pk == session_type.coach.user_id:
        raise DomainError("You cannot book yourself.", code="own_coach")
    ends_at = starts_at + timedelta(minutes=session_type.duration_minutes)
    try:
        with transaction.atomic():
            coach = lock_coach(session_type.coach_id)
            if not coach.is_bookable:
                raise Conflict("This coach cannot be booked right now.", code="coach_not_bookable")
            if package_purchase is not None:
                purchase = PackagePurchase.objects.select_for_update().get(pk=package_purchase.pk)
                check_package_usable(purchase, client=client, session_type=session_type)
            plan_credit = None
            if plan_subscription is not None:
                locked_plan = (
                    PlanSubscription.objects.select_for_update()
                    .select_related("plan")
                    .get(pk=plan_subscription.pk)
                )
                plan_credit = plan_credit_for(
                    locked_plan, client=client, session_type=session_type, now=now
                )
            check_time_free(coach=coach, session_type=session_type, starts_at=starts_at, now=now)
            booking = Booking.objects.create(
                coach=coach,
                client=client,
                session_type=session_type,
                starts_at=starts_at,
                ends_at=ends_at,
                status=BookingStatus.HELD,
                hold_expires_at=(now + HOLD_DURATION).replace(microsecond=0),
                client_time_zone=client_time_zone or "UTC",
                topic=topic.strip(),
                package_purchase=package_purchase,
                plan_credit=plan_credit,
            )
            BookingStatusChange.objects.create(
                booking=booking,
                from_status="",
                to_status=BookingStatus.HELD,
                actor=client,
                source="hold",
            )
            if package_purchase is not None or plan_credit is not None:
                confirm_locked(booking, source="package" if package_purchase else "plan", by=client)
                return booking, None
            fee, _coach_amount = coach_fee_split(coach=coach, total=session_type.price)
            payment = charges.payment_create(
                kind=PaymentKind.BOOKING,
                client=client,
                coach_user=coach.user,
                amount=session_type.price,
                application_fee=fee,
                currency=session_type.currency,
                booking_id=booking.pk,
            )
            return booking, payment
    except IntegrityError as error:
        # The exclusion constraint caught what the check let through (it should not).
        if "booking_no_overlap" not in str(error):
            raise
        coach = CoachProfile.objects.get(pk=session_type.coach_id)
        raise slot_taken(coach, session_type, starts_at) from error


def expire_locked(booking: Booking, *, source: str, notify: bool = True) -> None:
    """End a held booking the caller has locked, and cancel its open payment (booking →
    payment)."""
    booking_transition(booking, BookingStatus.EXPIRED, source=source)
    for payment_id in payment_selectors.open_payment_ids_of_booking(booking.pk):
        charges.payment_cancel_pending(payment_id=payment_id)
    if notify:
        notifications.hold_expired(booking)


def booking_expire(*, booking_id: int, source: str, notify: bool = True) -> Booking:
    """End a hold (sweeper, ``checkout.session.expired``, a failed checkout): the slot is
    free again. A no-op for anything but a held booking. Locks booking → payment."""
    with transaction.atomic():
        booking = (
            Booking.objects.select_for_update(of=("self",))
            .select_related("coach__user", "client")
            .get(pk=booking_id)
        )
        if booking.status == BookingStatus.HELD:
            expire_locked(booking, source=source, notify=notify)
        return booking


def booking_release(*, booking: Booking, by: User) -> Booking:
    """The client gives a held time back before paying: the hold ends at once, as when it
    times out (without the e-mail: the client asked for it), its open payment is cancelled
    and its Checkout Session expired at Stripe so it can no longer be paid, and the slot is
    free for others. Only the client who holds it may; a booking no longer held is refused.
    Locks booking → payment."""
    if booking.client_id != by.pk:
        raise NotAllowed("Only the client holding this time can release it.")
    with transaction.atomic():
        locked = (
            Booking.objects.select_for_update(of=("self",))
            .select_related("coach__user", "client")
            .get(pk=booking.pk)
        )
        if locked.status != BookingStatus.HELD:
            raise InvalidTransition(
                f"This time is no longer held (the booking is "
                f"{locked.get_status_display().lower()})."
            )
        booking_transition(locked, BookingStatus.EXPIRED, by=by, source="client_released")
        for payment_id in payment_selectors.open_payment_ids_of_booking(locked.pk):
            charges.payment_cancel_pending(payment_id=payment_id)
    return locked


def bookings_expire_stale_holds(*, now: datetime | None = None) -> int:
    """The sweeper: expire every hold past its time. Returns how many it expired."""
    now = now or timezone.now()
    expired = 0
    for booking_id in Booking.objects.filter(
        status=BookingStatus.HELD, hold_expires_at__lte=now
    ).values_list("pk", flat=True)[:500]:
        if booking_expire(booking_id=booking_id, source="sweeper").status == BookingStatus.EXPIRED:
            expired += 1
    return expired
