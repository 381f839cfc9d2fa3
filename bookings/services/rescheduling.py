"""Rescheduling a confirmed booking: the old row becomes ``rescheduled`` and a new confirmed
row takes the new time and the payment, atomically, under the coach's lock.

Lock order: coach → booking → payment.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from bookings import notifications
from bookings.models import Booking, BookingStatus, BookingStatusChange
from bookings.selectors import policy_for
from bookings.services.holds import booking_transition, check_time_free, lock_coach
from marketplace.errors import Conflict, DomainError, InvalidTransition, NotAllowed
from marketplace.models import User
from payments.services import charges


def booking_reschedule(
    *, booking: Booking, by: User, starts_at: datetime, now: datetime | None = None
) -> Booking:
    """Move a confirmed booking to ``starts_at``: the old row becomes ``rescheduled``, a new
    confirmed row takes the new time and the payment, atomically, under the coach lock.

    Clients may reschedule up to the policy's free window and at most ``max_reschedules``
    times; coaches and staff any time before the start. Locks coach → booking → payment."""
    now = now or timezone.now()
    if starts_at.tzinfo is None:
        raise DomainError("The start time needs a time zone.", code="invalid_start")
    with transaction.atomic():
        coach = lock_coach(booking.coach_id)
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
        booking_transition(locked, BookingStatus.RESCHEDULED, by=by, source="reschedule")
        check_time_free(coach=coach, session_type=session_type, starts_at=starts_at, now=now)
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
            plan_credit=locked.plan_credit,
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
        charges.payments_move_to_booking(from_booking_id=locked.pk, to_booking_id=moved.pk)
        notifications.booking_rescheduled(moved, previous_starts_at=locked.starts_at)
        return moved
