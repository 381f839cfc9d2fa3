"""After the session: completion (by the coach or by itself 48 hours after the end), a
no-show, an issue the client raises and staff resolve, and a package session's transfer to
the coach.

Lock order: booking → package purchase → payment / transfer.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from bookings import notifications
from bookings.models import AFTER_SESSION_WINDOW_HOURS, Booking, BookingStatus, PackagePurchase
from bookings.selectors import policy_for
from bookings.services.cancellation import refund_for
from bookings.services.holds import booking_transition
from marketplace.errors import Conflict, DomainError, InvalidTransition, NotAllowed
from marketplace.models import User
from payments import selectors as payment_selectors
from payments.models import Payment, Refund
from payments.services import transfers


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
        booking_transition(
            locked, BookingStatus.COMPLETED, by=by, source=source, changes={"completed_at": now}
        )
        if locked.package_purchase_id and not locked.has_open_issue:
            package_session_transfer(locked)
        return locked


def package_session_transfer(booking: Booking) -> None:
    """Record (once) and queue the transfer of a package session's share to its coach (none
    for a package paid to the coach at purchase).

    Call holding the booking's lock; locks the package purchase next (booking → package
    purchase → transfer), under which the session's sequence is counted.
    """
    assert booking.package_purchase_id is not None
    purchase = PackagePurchase.objects.select_for_update().get(pk=booking.package_purchase_id)
    if payment_selectors.package_paid_at_purchase(purchase.pk):
        # A destination charge already paid the coach for every session of the package.
        return
    transfers.transfer_record(
        booking_id=booking.pk,
        package_purchase_id=purchase.pk,
        coach_user=booking.coach.user,
        currency=purchase.currency,
        transfer_group=purchase.transfer_group,
        share_of_session=purchase.session_share,
    )


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
        booking_transition(locked, BookingStatus.NO_SHOW, by=by, source="coach")
        policy = policy_for(locked.coach)
        refund_for(
            locked,
            percent=policy.no_show_refund_percent,
            reason=Refund.Reason.NO_SHOW,
            fee_back=policy.refund_application_fee_on_partial,
            actor=by,
        )
        if locked.package_purchase_id:
            package_session_transfer(locked)
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
            package_session_transfer(locked)
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


def booking_flag_dispute(*, payment: Payment) -> None:
    """A dispute was opened on the booking's payment: flag the booking (the caller holds the
    booking's lock, taken through the booking purpose)."""
    if payment.booking_id:
        Booking.objects.filter(pk=payment.booking_id, has_dispute=False).update(
            has_dispute=True, updated_at=timezone.now()
        )
