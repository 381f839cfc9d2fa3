"""Bookings: every state change of a booking, a package purchase and a calendar feed.

Concurrency: every path that creates or moves a live booking locks the coach's row
(``CoachProfile ... select_for_update``) first, then checks the slot inside the same
transaction; the ``booking_no_overlap`` exclusion constraint backs it in the database.
Status changes go through ``_transition`` (the ``TRANSITIONS`` table, one log row each).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from bookings import notifications
from bookings.models import (
    AFTER_SESSION_WINDOW_HOURS,
    HOLD_MINUTES,
    LIVE_STATUSES,
    TRANSITIONS,
    Booking,
    BookingStatus,
    BookingStatusChange,
    CalendarFeed,
    Package,
    PackagePurchase,
    PackagePurchaseStatus,
)
from bookings.selectors import policy_for, refund_terms
from coaches import services as coach_services
from coaches.models import CoachProfile, SessionType
from coaches.selectors import BUSY_MARGIN, nearest_free_slots, slot_is_available
from marketplace.errors import Conflict, DomainError, InvalidTransition, NotAllowed
from marketplace.models import User
from marketplace.queue import enqueue
from payments import charges, gateway
from payments.models import Payment, PaymentStatus, Refund

logger = logging.getLogger("bookings")

# A hold lasts as long as its Checkout Session. Stripe wants ``expires_at`` at least 30
# minutes after the session's creation, which comes a moment after the hold: one minute more.
HOLD_DURATION = timedelta(minutes=HOLD_MINUTES, seconds=60)


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


def _transition(
    booking: Booking,
    to_status: str,
    *,
    actor: User | None = None,
    source: str,
    note: str = "",
) -> None:
    """Move a locked booking to ``to_status`` (in the table, else ``InvalidTransition``) and
    log who and what moved it. The caller saves the booking."""
    if to_status not in TRANSITIONS[booking.status]:
        raise InvalidTransition(
            f"A {booking.get_status_display().lower()} booking cannot become "
            f"{BookingStatus(to_status).label.lower()}."
        )
    BookingStatusChange.objects.create(
        booking=booking,
        from_status=booking.status,
        to_status=to_status,
        actor=actor,
        source=source,
        note=note,
    )
    booking.status = to_status
    if to_status in _CHANGES_SEARCH_AVAILABILITY:
        coach_services.availability_index_refresh_later(coach_id=booking.coach_id)


def _lock_coach(coach_id: int) -> CoachProfile:
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


def _check_time_free(
    *, coach: CoachProfile, session_type: SessionType, starts_at: datetime, now: datetime
) -> None:
    """Raise ``SlotTaken`` unless ``starts_at`` of ``session_type`` is free for a new live
    booking (call under the coach lock).

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
            raise _slot_taken(coach, session_type, starts_at)
        busy.append((other_start, other_end))
    for booking in Booking.objects.select_for_update().filter(pk__in=stale):
        if booking.status == BookingStatus.HELD:
            _expire_locked(booking, source="hold_timeout")
    busy.sort()
    if not slot_is_available(
        coach=coach, session_type=session_type, starts_at=starts_at, now=now, busy=busy
    ):
        raise _slot_taken(coach, session_type, starts_at)


def _overlaps_live(
    *, coach: CoachProfile, starts_at: datetime, ends_at: datetime, exclude: int | None = None
) -> bool:
    query = Booking.objects.filter(
        coach=coach, status__in=LIVE_STATUSES, starts_at__lt=ends_at, ends_at__gt=starts_at
    )
    if exclude is not None:
        query = query.exclude(pk=exclude)
    return query.exists()


def _slot_taken(coach: CoachProfile, session_type: SessionType, starts_at: datetime) -> SlotTaken:
    return SlotTaken(
        "That time was just taken.",
        nearest=nearest_free_slots(coach=coach, session_type=session_type, around=starts_at),
    )


def _meeting_url(booking: Booking) -> str:
    if booking.coach.conferencing_url:
        return booking.coach.conferencing_url
    return f"{settings.MEETING_BASE_URL}{booking.pk}-{secrets.token_urlsafe(12)}"


# --- holds ----------------------------------------------------------------------------------


def booking_hold(
    *,
    client: User,
    session_type: SessionType,
    starts_at: datetime,
    topic: str = "",
    client_time_zone: str = "UTC",
    package_purchase: PackagePurchase | None = None,
    now: datetime | None = None,
) -> Booking:
    """Hold ``starts_at`` of ``session_type``'s coach for ``client``.

    Of concurrent holds on overlapping times exactly one wins; the others get ``SlotTaken``
    with the nearest free slots. A paid booking gets a pending ``Payment`` in the same
    transaction (its Checkout Session is made by ``booking_start_checkout`` after commit); a
    package session is confirmed at once.
    """
    booking, _payment = _hold(
        client=client,
        session_type=session_type,
        starts_at=starts_at,
        topic=topic,
        client_time_zone=client_time_zone,
        package_purchase=package_purchase,
        now=now,
    )
    return booking


def _hold(
    *,
    client: User,
    session_type: SessionType,
    starts_at: datetime,
    topic: str = "",
    client_time_zone: str = "UTC",
    package_purchase: PackagePurchase | None = None,
    now: datetime | None = None,
) -> tuple[Booking, Payment | None]:
    """``booking_hold``, also returning the pending payment of a paid booking."""
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
            coach = _lock_coach(session_type.coach_id)
            if not coach.is_bookable:
                raise Conflict("This coach cannot be booked right now.", code="coach_not_bookable")
            if package_purchase is not None:
                purchase = PackagePurchase.objects.select_for_update().get(pk=package_purchase.pk)
                _check_package_usable(purchase, client=client, session_type=session_type)
            _check_time_free(coach=coach, session_type=session_type, starts_at=starts_at, now=now)
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
            )
            BookingStatusChange.objects.create(
                booking=booking,
                from_status="",
                to_status=BookingStatus.HELD,
                actor=client,
                source="hold",
            )
            if package_purchase is not None:
                _confirm_locked(booking, source="package", actor=client)
                return booking, None
            return booking, charges.payment_create_for_booking(booking=booking)
    except IntegrityError as error:
        # The exclusion constraint caught what the check let through (it should not).
        if "booking_no_overlap" not in str(error):
            raise
        coach = CoachProfile.objects.get(pk=session_type.coach_id)
        raise _slot_taken(coach, session_type, starts_at) from error


CheckoutUrls = charges.CheckoutUrls


def booking_start_checkout(
    *, booking: Booking, urls: CheckoutUrls, payment: Payment | None = None
) -> Payment:
    """Create the Checkout Session of a committed hold; if Stripe fails the hold is freed.

    ``payment`` is the hold's pending payment when the caller has it (it is read otherwise).
    """
    if payment is None:
        payment = booking.payments.filter(status=PaymentStatus.PENDING).order_by("-pk").first()
    if payment is None:
        raise Conflict("This booking has nothing to pay.", code="nothing_to_pay")
    if payment.checkout_url:
        return payment
    if payment.client_id == booking.client_id:
        payment.client = booking.client  # the hold's own instance: no second query for it
    try:
        return charges.payment_start_checkout(
            payment=payment,
            product_name=f"{booking.session_type.name} with {booking.coach.user.display_name}",
            urls=urls,
            expires_at=booking.hold_expires_at or timezone.now() + HOLD_DURATION,
        )
    except gateway.GatewayError as error:
        logger.warning("checkout for booking %s failed: %s", booking.pk, error)
        booking_expire(booking_id=booking.pk, source="checkout_failed", notify=False)
        raise DomainError(
            "Payments are unavailable right now; please try again in a moment.",
            code="payment_unavailable",
            status_code=503,
        ) from error


def booking_book(
    *,
    client: User,
    session_type: SessionType,
    starts_at: datetime,
    topic: str,
    client_time_zone: str,
    urls_for: Callable[[Booking], CheckoutUrls],
) -> tuple[Booking, Payment]:
    """Hold the slot and open its Checkout Session: what ``POST /api/bookings/`` does."""
    booking, payment = _hold(
        client=client,
        session_type=session_type,
        starts_at=starts_at,
        topic=topic,
        client_time_zone=client_time_zone,
    )
    payment = booking_start_checkout(booking=booking, urls=urls_for(booking), payment=payment)
    return booking, payment


def _expire_locked(booking: Booking, *, source: str, notify: bool = True) -> None:
    _transition(booking, BookingStatus.EXPIRED, source=source)
    booking.save(update_fields=["status", "updated_at"])
    for payment in booking.payments.filter(
        status__in=[PaymentStatus.PENDING, PaymentStatus.FAILED]
    ):
        charges.payment_cancel_pending(payment_id=payment.pk)
    if notify:
        notifications.hold_expired(booking)


def booking_expire(*, booking_id: int, source: str, notify: bool = True) -> Booking:
    """End a hold (sweeper, ``checkout.session.expired``, a failed checkout): the slot is
    free again. A no-op for anything but a held booking."""
    with transaction.atomic():
        booking = (
            Booking.objects.select_for_update(of=("self",))
            .select_related("coach__user", "client")
            .get(pk=booking_id)
        )
        if booking.status == BookingStatus.HELD:
            _expire_locked(booking, source=source, notify=notify)
        return booking


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


# --- confirmation (only the webhook path) --------------------------------------------------


def _confirm_locked(booking: Booking, *, source: str, actor: User | None = None) -> None:
    _transition(booking, BookingStatus.CONFIRMED, actor=actor, source=source)
    booking.confirmed_at = timezone.now()
    booking.hold_expires_at = None
    if not booking.meeting_url:
        booking.meeting_url = _meeting_url(booking)
    booking.save(
        update_fields=["status", "confirmed_at", "hold_expires_at", "meeting_url", "updated_at"]
    )
    notifications.booking_confirmed(booking)


def booking_payment_succeeded(*, payment_id: int) -> Booking | None:
    """The payment of a booking succeeded (Stripe said so): confirm the booking.

    If the hold had expired and the time was taken since, the payment is refunded in full
    (transfer reversed, fee refunded) and the client told; if the time is still free, the
    booking is confirmed. Safe to call any number of times.
    """
    payment = Payment.objects.get(pk=payment_id)
    if payment.booking_id is None:
        return None
    with transaction.atomic():
        coach = _lock_coach(payment.booking.coach_id)  # type: ignore[union-attr]
        booking = Booking.objects.select_for_update().get(pk=payment.booking_id)
        if booking.status == BookingStatus.HELD:
            _confirm_locked(booking, source="payment")
            return booking
        if booking.status != BookingStatus.EXPIRED:
            return booking
        taken = _overlaps_live(coach=coach, starts_at=booking.starts_at, ends_at=booking.ends_at)
        if not taken:
            _confirm_locked(booking, source="late_payment")
            return booking
        if booking.status_changes.filter(source="slot_lost").exists():
            return booking
        BookingStatusChange.objects.create(
            booking=booking,
            from_status=booking.status,
            to_status=booking.status,
            source="slot_lost",
            note="Paid after the hold expired and the time was taken: refunded in full.",
        )
        refund = charges.refund_request(
            payment=payment,
            amount=payment.amount,
            reason=Refund.Reason.SLOT_LOST,
            refund_application_fee=True,
        )
        notifications.slot_lost_refund(booking, refund)
        return booking


# --- cancellation, rescheduling -----------------------------------------------------------


def _refund_for(
    booking: Booking, *, percent: int, reason: str, fee_back: bool, actor: User | None
) -> Refund | None:
    payment = (
        booking.payments.filter(
            status__in=[
                PaymentStatus.SUCCEEDED,
                PaymentStatus.PARTIALLY_REFUNDED,
                PaymentStatus.DISPUTED,
            ]
        )
        .order_by("-pk")
        .first()
    )
    if payment is None or percent <= 0:
        return None
    return charges.refund_request(
        payment=payment,
        amount=charges.refund_percent(payment.amount, percent),
        reason=reason,
        refund_application_fee=fee_back or percent >= 100,
        requested_by=actor,
    )


def booking_cancel(
    *, booking: Booking, by: User, reason: str = "", now: datetime | None = None
) -> Booking:
    """Cancel a confirmed booking. The client's cancellation refunds per the coach's policy;
    the coach's (or staff's) always refunds in full. A package session goes back to the
    package when cancelled in the free window (and always when the coach cancels)."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = (
            Booking.objects.select_for_update(of=("self",))
            .select_related("coach__user", "client", "session_type")
            .get(pk=booking.pk)
        )
        is_client = by.pk == locked.client_id
        is_coach = by.pk == locked.coach.user_id
        if not (is_client or is_coach or by.is_staff):
            raise NotAllowed("You cannot cancel this booking.")
        to_status = (
            BookingStatus.CANCELLED_BY_CLIENT if is_client else BookingStatus.CANCELLED_BY_COACH
        )
        _transition(locked, to_status, actor=by, source="cancel", note=reason)
        locked.cancelled_at = now
        locked.cancellation_reason = reason
        locked.save(update_fields=["status", "cancelled_at", "cancellation_reason", "updated_at"])
        terms = refund_terms(booking=locked, now=now)
        if is_client:
            refund = _refund_for(
                locked,
                percent=terms.percent,
                reason=Refund.Reason.CLIENT_CANCELLED,
                fee_back=terms.refund_application_fee,
                actor=by,
            )
        else:
            refund = _refund_for(
                locked, percent=100, reason=Refund.Reason.COACH_CANCELLED, fee_back=True, actor=by
            )
        if locked.package_purchase_id and (not is_client or terms.percent >= 100):
            BookingStatusChange.objects.create(
                booking=locked,
                from_status=to_status,
                to_status=to_status,
                source="package_credit",
            )
        notifications.booking_cancelled(locked, refund=refund, by_client=is_client)
        return locked


def booking_reschedule(
    *, booking: Booking, by: User, starts_at: datetime, now: datetime | None = None
) -> Booking:
    """Move a confirmed booking to ``starts_at``: the old row becomes ``rescheduled``, a new
    confirmed row takes the new time and the payment, atomically, under the coach lock.

    Clients may reschedule up to the policy's free window and at most ``max_reschedules``
    times; coaches and staff any time before the start."""
    now = now or timezone.now()
    if starts_at.tzinfo is None:
        raise DomainError("The start time needs a time zone.", code="invalid_start")
    with transaction.atomic():
        coach = _lock_coach(booking.coach_id)
        locked = (
            Booking.objects.select_for_update(of=("self",))
            .select_related("session_type", "client")
            .get(pk=booking.pk)
        )
        is_client = by.pk == locked.client_id
        is_coach = by.pk == coach.user_id
        if not (is_client or is_coach or by.is_staff):
            raise NotAllowed("You cannot reschedule this booking.")
        if locked.status != BookingStatus.CONFIRMED:
            raise InvalidTransition("Only a confirmed booking can be rescheduled.")
        policy = policy_for(coach)
        if is_client:
            if locked.reschedule_count >= policy.max_reschedules:
                raise Conflict(
                    f"This booking was already rescheduled {locked.reschedule_count} times.",
                    code="reschedule_limit",
                )
            if locked.starts_at - now < timedelta(hours=policy.free_reschedule_hours):
                raise Conflict(
                    f"Rescheduling is possible up to {policy.free_reschedule_hours} hours "
                    "before the start.",
                    code="reschedule_too_late",
                )
        elif locked.starts_at <= now:
            raise Conflict("The session has started.", code="reschedule_too_late")
        if starts_at == locked.starts_at:
            raise DomainError("Pick a different time.", code="same_time")
        session_type = locked.session_type
        ends_at = starts_at + timedelta(minutes=session_type.duration_minutes)
        _transition(locked, BookingStatus.RESCHEDULED, actor=by, source="reschedule")
        locked.save(update_fields=["status", "updated_at"])
        _check_time_free(coach=coach, session_type=session_type, starts_at=starts_at, now=now)
        moved = Booking.objects.create(
            coach=coach,
            client=locked.client,
            session_type=session_type,
            starts_at=starts_at,
            ends_at=ends_at,
            status=BookingStatus.CONFIRMED,
            client_time_zone=locked.client_time_zone,
            topic=locked.topic,
            meeting_url=locked.meeting_url,
            package_purchase=locked.package_purchase,
            rescheduled_from=locked,
            reschedule_count=locked.reschedule_count + 1,
            confirmed_at=now,
        )
        BookingStatusChange.objects.create(
            booking=moved,
            from_status=BookingStatus.RESCHEDULED,
            to_status=BookingStatus.CONFIRMED,
            actor=by,
            source="reschedule",
            note=f"moved from {locked.starts_at.isoformat()}",
        )
        Payment.objects.filter(booking=locked).update(booking=moved)
        notifications.booking_rescheduled(moved, previous_starts_at=locked.starts_at)
        return moved


# --- after the session ---------------------------------------------------------------------


def _check_after_end(booking: Booking, now: datetime) -> None:
    if booking.status != BookingStatus.CONFIRMED:
        raise InvalidTransition("Only a confirmed booking can be marked.")
    if booking.ends_at > now:
        raise Conflict("The session has not ended yet.", code="not_ended")


def booking_complete(
    *, booking: Booking, by: User | None, source: str = "coach", now: datetime | None = None
) -> Booking:
    """Mark a confirmed, ended booking completed (the coach, or the auto-completion with
    ``by=None``); a package session's share is then transferred to the coach by Celery."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = (
            Booking.objects.select_for_update(of=("self",))
            .select_related("coach__user")
            .get(pk=booking.pk)
        )
        if by is not None and by.pk != locked.coach.user_id and not by.is_staff:
            raise NotAllowed("Only the coach can mark this session completed.")
        _check_after_end(locked, now)
        if by is None and locked.has_open_issue:
            raise Conflict("An issue is open on this booking.", code="issue_open")
        _transition(locked, BookingStatus.COMPLETED, actor=by, source=source)
        locked.completed_at = now
        locked.save(update_fields=["status", "completed_at", "updated_at"])
        if locked.package_purchase_id and not locked.has_open_issue:
            _queue_package_transfer(locked)
        return locked


def _queue_package_transfer(booking: Booking) -> None:
    transfer = charges.package_transfer_prepare(booking=booking)
    if transfer is not None:
        from bookings.tasks import transfer_package_share

        enqueue(transfer_package_share, transfer.pk)


def booking_mark_no_show(*, booking: Booking, by: User, now: datetime | None = None) -> Booking:
    """The coach marks the client absent within 48 hours after the end; the policy's
    no-show percentage is refunded."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = (
            Booking.objects.select_for_update(of=("self",))
            .select_related("coach__user")
            .get(pk=booking.pk)
        )
        if by.pk != locked.coach.user_id and not by.is_staff:
            raise NotAllowed("Only the coach can mark a no-show.")
        _check_after_end(locked, now)
        if now - locked.ends_at > timedelta(hours=AFTER_SESSION_WINDOW_HOURS):
            raise Conflict(
                "A no-show can be marked within 48 hours after the end.", code="too_late"
            )
        _transition(locked, BookingStatus.NO_SHOW, actor=by, source="coach")
        locked.save(update_fields=["status", "updated_at"])
        policy = policy_for(locked.coach)
        _refund_for(
            locked,
            percent=policy.no_show_refund_percent,
            reason=Refund.Reason.NO_SHOW,
            fee_back=policy.refund_application_fee_on_partial,
            actor=by,
        )
        if locked.package_purchase_id:
            _queue_package_transfer(locked)
        return locked


def booking_raise_issue(
    *, booking: Booking, by: User, description: str, now: datetime | None = None
) -> Booking:
    """The client reports a problem within 48 hours after the end: auto-completion and the
    package transfer wait until staff resolve it."""
    now = now or timezone.now()
    description = description.strip()
    if not description:
        raise DomainError(
            "Describe the issue.", code="required", fields={"description": ["Required."]}
        )
    with transaction.atomic():
        locked = Booking.objects.select_for_update().get(pk=booking.pk)
        if by.pk != locked.client_id:
            raise NotAllowed("Only the client can raise an issue.")
        if (
            locked.status not in (BookingStatus.CONFIRMED, BookingStatus.COMPLETED)
            or locked.ends_at > now
        ):
            raise Conflict("An issue can be raised after the session.", code="not_ended")
        if now - locked.ends_at > timedelta(hours=AFTER_SESSION_WINDOW_HOURS):
            raise Conflict("Issues can be raised within 48 hours after the end.", code="too_late")
        if locked.has_open_issue:
            raise Conflict("An issue is already open.", code="issue_open")
        locked.issue_raised_at = now
        locked.issue_description = description
        locked.issue_resolved_at = None
        locked.save(
            update_fields=[
                "issue_raised_at",
                "issue_description",
                "issue_resolved_at",
                "updated_at",
            ]
        )
        notifications.issue_raised(locked)
        return locked


def booking_resolve_issue(*, booking: Booking, by: User) -> Booking:
    """Staff close the issue; a completed package session's transfer goes ahead."""
    if not by.is_staff:
        raise NotAllowed("Only staff resolve issues.")
    with transaction.atomic():
        locked = Booking.objects.select_for_update().get(pk=booking.pk)
        if not locked.has_open_issue:
            return locked
        locked.issue_resolved_at = timezone.now()
        locked.save(update_fields=["issue_resolved_at", "updated_at"])
        if (
            locked.status in (BookingStatus.COMPLETED, BookingStatus.NO_SHOW)
            and locked.package_purchase_id
        ):
            _queue_package_transfer(locked)
        return locked


def bookings_auto_complete(*, now: datetime | None = None) -> int:
    """Complete confirmed bookings 48 hours after their end unless an issue is open."""
    now = now or timezone.now()
    due = Booking.objects.filter(
        status=BookingStatus.CONFIRMED,
        ends_at__lte=now - timedelta(hours=AFTER_SESSION_WINDOW_HOURS),
    ).filter(Q(issue_raised_at__isnull=True) | Q(issue_resolved_at__isnull=False))
    done = 0
    for booking in due[:500]:
        try:
            booking_complete(booking=booking, by=None, source="auto", now=now)
            done += 1
        except DomainError:
            continue
    return done


def bookings_send_reminders(*, now: datetime | None = None) -> int:
    """Send the 24-hour and 1-hour reminders that are due (each once)."""
    now = now or timezone.now()
    sent = 0
    for field, window in (
        ("reminder_24h_sent_at", timedelta(hours=24)),
        ("reminder_1h_sent_at", timedelta(hours=1)),
    ):
        due = Booking.objects.filter(
            status=BookingStatus.CONFIRMED,
            starts_at__gt=now,
            starts_at__lte=now + window,
            **{f"{field}__isnull": True},
        ).values_list("pk", flat=True)
        for booking_id in due[:500]:
            with transaction.atomic():
                booking = (
                    Booking.objects.select_for_update(of=("self",))
                    .select_related("coach__user", "client", "session_type")
                    .get(pk=booking_id)
                )
                if getattr(booking, field) is not None or booking.status != BookingStatus.CONFIRMED:
                    continue
                setattr(booking, field, now)
                booking.save(update_fields=[field, "updated_at"])
                notifications.reminder(booking, hours=int(window.total_seconds() // 3600))
                sent += 1
    return sent


def booking_flag_dispute(*, payment_id: int) -> None:
    """A dispute was opened on the booking's payment: flag the booking."""
    payment = Payment.objects.get(pk=payment_id)
    if payment.booking_id:
        Booking.objects.filter(pk=payment.booking_id).update(
            has_dispute=True, updated_at=timezone.now()
        )


# --- packages -------------------------------------------------------------------------------


def _check_package_usable(
    purchase: PackagePurchase, *, client: User, session_type: SessionType
) -> None:
    if purchase.client_id != client.pk:
        raise NotAllowed("This package is not yours.")
    if purchase.status != PackagePurchaseStatus.ACTIVE:
        raise Conflict("This package has no sessions left to book.", code="package_not_active")
    if purchase.package.session_type_id != session_type.pk:
        raise DomainError("This package is for another session type.", code="package_session_type")
    if package_sessions_used(purchase) >= purchase.session_count - purchase.sessions_refunded:
        raise Conflict("All sessions of this package are booked.", code="package_used_up")


def package_sessions_used(purchase: PackagePurchase) -> int:
    """Sessions of the package that count: live, completed or no-show bookings, and late
    client cancellations (their credit is not returned)."""
    used = purchase.bookings.filter(
        status__in=[*LIVE_STATUSES, BookingStatus.COMPLETED, BookingStatus.NO_SHOW]
    ).count()
    late_cancellations = (
        purchase.bookings.filter(status=BookingStatus.CANCELLED_BY_CLIENT)
        .exclude(status_changes__source="package_credit")
        .count()
    )
    return used + late_cancellations


def package_purchase_start(
    *, client: User, package: Package, urls: CheckoutUrls
) -> tuple[PackagePurchase, Payment]:
    """Buy a package: a pending purchase and a Checkout Session charged on the platform."""
    if not package.is_active:
        raise DomainError("This package is not offered any more.", code="package_inactive")
    with transaction.atomic():
        coach = _lock_coach(package.coach_id)
        if not coach.is_bookable:
            raise Conflict("This coach cannot be booked right now.", code="coach_not_bookable")
        fee, coach_amount = charges.fee_split(coach=coach, total=package.price)
        purchase = PackagePurchase.objects.create(
            package=package,
            client=client,
            coach=coach,
            session_count=package.session_count,
            price=package.price,
            application_fee=fee,
            coach_amount=coach_amount,
            currency=package.currency.lower(),
        )
        payment = charges.payment_create_for_package(purchase=purchase)
    try:
        payment = charges.payment_start_checkout(
            payment=payment,
            product_name=f"{package.name} with {coach.user.display_name}",
            urls=urls,
            expires_at=timezone.now() + HOLD_DURATION,
        )
    except gateway.GatewayError as error:
        raise DomainError(
            "Payments are unavailable right now; please try again in a moment.",
            code="payment_unavailable",
            status_code=503,
        ) from error
    return purchase, payment


def package_purchase_paid(*, payment_id: int) -> PackagePurchase | None:
    payment = Payment.objects.get(pk=payment_id)
    if payment.package_purchase_id is None:
        return None
    with transaction.atomic():
        purchase = PackagePurchase.objects.select_for_update().get(pk=payment.package_purchase_id)
        if purchase.status in (PackagePurchaseStatus.PENDING, PackagePurchaseStatus.EXPIRED):
            purchase.status = PackagePurchaseStatus.ACTIVE
            purchase.paid_at = timezone.now()
            purchase.save(update_fields=["status", "paid_at"])
        return purchase


def package_purchase_expire(*, payment_id: int) -> PackagePurchase | None:
    """The package's Checkout Session expired unpaid: the purchase and its payment end."""
    charges.payment_cancel_pending(payment_id=payment_id)
    payment = Payment.objects.get(pk=payment_id)
    if payment.package_purchase_id is None or payment.status != PaymentStatus.CANCELLED:
        return None
    with transaction.atomic():
        purchase = PackagePurchase.objects.select_for_update().get(pk=payment.package_purchase_id)
        if purchase.status == PackagePurchaseStatus.PENDING:
            purchase.status = PackagePurchaseStatus.EXPIRED
            purchase.save(update_fields=["status"])
        return purchase


def package_refund_unused(*, purchase: PackagePurchase, by: User) -> Refund | None:
    """Refund the sessions of a package not used yet: the package price less the price share
    of the sessions used. The coach was not paid for them (transfers follow completions)."""
    with transaction.atomic():
        locked = PackagePurchase.objects.select_for_update().get(pk=purchase.pk)
        if by.pk != locked.client_id and not by.is_staff:
            raise NotAllowed("This package is not yours.")
        if locked.status != PackagePurchaseStatus.ACTIVE:
            raise Conflict("Nothing to refund on this package.", code="package_not_active")
        used = package_sessions_used(locked)
        unused = locked.session_count - locked.sessions_refunded - used
        if unused <= 0:
            raise Conflict("Every session of this package is used.", code="package_used_up")
        price_share = locked.price // locked.session_count
        amount = locked.price - price_share * used
        payment = Payment.objects.get(package_purchase=locked)
        refund = charges.refund_request(
            payment=payment,
            amount=amount,
            reason=Refund.Reason.PACKAGE_UNUSED,
            refund_application_fee=True,
            requested_by=by,
        )
        locked.sessions_refunded += unused
        locked.status = PackagePurchaseStatus.REFUNDED
        locked.save(update_fields=["sessions_refunded", "status"])
        return refund


# --- calendar feeds -------------------------------------------------------------------------


def calendar_feed_for(*, user: User, rotate: bool = False) -> CalendarFeed:
    """The user's personal iCal feed (made on first use); ``rotate`` issues a new secret."""
    with transaction.atomic():
        feed, created = CalendarFeed.objects.select_for_update().get_or_create(
            user=user, defaults={"token": secrets.token_urlsafe(32)}
        )
        if rotate and not created:
            feed.token = secrets.token_urlsafe(32)
            feed.save(update_fields=["token"])
        return feed
