"""Paying for a hold: its Checkout Session, and the booking's confirmation when Stripe says
the payment succeeded (told by payments through the booking purpose, ``bookings.purposes``).

Lock order: coach → booking → payment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from bookings import notifications
from bookings.models import Booking, BookingStatus
from bookings.services.holds import (
    booking_expire,
    confirm_locked,
    hold,
    lock_coach,
    overlaps_live,
)
from coaches.models import SessionType
from marketplace.errors import Conflict
from marketplace.models import User
from payments import selectors as payment_selectors
from payments.errors import PaymentProviderError
from payments.models import Payment, Refund
from payments.services import charges, refunds

CheckoutUrls = charges.CheckoutUrls


def booking_start_checkout(
    *, booking: Booking, urls: CheckoutUrls, payment: Payment | None = None
) -> Payment:
    """Create the Checkout Session of a committed hold; if Stripe fails the hold is freed
    and ``PaymentProviderError`` (503) tells the client to try again.

    ``payment`` is the hold's pending payment when the caller has it (it is read otherwise).
    """
    pending = booking_checkout_pending(booking=booking, urls=urls, payment=payment)
    if isinstance(pending, Payment):
        return pending
    try:
        made = charges.payment_start_checkout(
            payment=pending.request.payment,
            product_name=pending.request.product_name,
            urls=urls,
        )
    except PaymentProviderError:
        booking_checkout_failed(pending)
        raise
    return _hold_lasts_as_long_as(booking, made)


@dataclass(frozen=True)
class PendingCheckout:
    """A committed hold whose Checkout Session is still to be made: its first request,
    decided before Stripe is called (``booking_checkout_pending``), then awaited
    (``charges.checkout_session_create_async``) and recorded (``booking_checkout_record``)
    or, on Stripe's failure, the hold freed (``booking_checkout_failed``)."""

    booking: Booking
    request: charges.CheckoutRequest


def booking_checkout_pending(
    *, booking: Booking, urls: CheckoutUrls, payment: Payment | None = None
) -> Payment | PendingCheckout:
    """What the hold's checkout still needs: the payment itself when its session exists
    already, else the request to send. Raises ``Conflict`` for a hold with nothing to pay."""
    if payment is None:
        payment = payment_selectors.pending_payment_of_booking(booking.pk)
    if payment is None:
        raise Conflict("This booking has nothing to pay.", code="nothing_to_pay")
    if payment.checkout_url:
        return payment
    if payment.client_id == booking.client_id:
        payment.client = booking.client  # the hold's own instance: no second query for it
    return PendingCheckout(
        booking=booking,
        request=charges.checkout_request(
            payment=payment,
            product_name=f"{booking.session_type.name} with {booking.coach.user.display_name}",
            urls=urls,
        ),
    )


def booking_checkout_record(
    pending: PendingCheckout, session: charges.CheckoutSessionMade | None, answered_at: datetime
) -> Payment:
    """Remember the session Stripe made for the hold (``session`` None: see
    ``charges.payment_checkout_record``); a failure there frees the hold too."""
    try:
        made = charges.payment_checkout_record(
            request=pending.request, session=session, answered_at=answered_at
        )
    except PaymentProviderError:
        booking_checkout_failed(pending)
        raise
    return _hold_lasts_as_long_as(pending.booking, made)


def booking_checkout_failed(pending: PendingCheckout) -> None:
    """Stripe could not make the session: the slot is free again (the client tries again)."""
    booking_expire(booking_id=pending.booking.pk, source="checkout_failed", notify=False)


def _hold_lasts_as_long_as(booking: Booking, payment: Payment) -> Payment:
    # The hold lasts exactly as long as its Checkout Session (Stripe's ``expires_at``, on
    # our clock); until the session existed it was held for the session's full lifetime.
    if payment.checkout_expires_at is not None:
        Booking.objects.filter(pk=booking.pk, status=BookingStatus.HELD).update(
            hold_expires_at=payment.checkout_expires_at
        )
        booking.hold_expires_at = payment.checkout_expires_at
    return payment


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
    booking, payment = hold(
        client=client,
        session_type=session_type,
        starts_at=starts_at,
        topic=topic,
        client_time_zone=client_time_zone,
    )
    payment = booking_start_checkout(booking=booking, urls=urls_for(booking), payment=payment)
    return booking, payment


def booking_payment_succeeded(*, payment: Payment) -> Booking | None:
    """The payment of a booking succeeded (Stripe said so): confirm the booking.

    If the hold had expired and the time was taken since, the payment is refunded in full
    (transfer reversed, fee refunded) and the client told, once; if the time is still free,
    the booking is confirmed. Safe to call any number of times. Locks coach → booking (→
    payment, for the refund).
    """
    if payment.booking_id is None:
        return None
    with transaction.atomic():
        coach_id = Booking.objects.values_list("coach_id", flat=True).get(pk=payment.booking_id)
        coach = lock_coach(coach_id)
        booking = Booking.objects.select_for_update().get(pk=payment.booking_id)
        if booking.status == BookingStatus.HELD:
            confirm_locked(booking, source="payment")
            return booking
        if booking.status != BookingStatus.EXPIRED or booking.slot_lost_refund:
            return booking
        taken = overlaps_live(coach=coach, starts_at=booking.starts_at, ends_at=booking.ends_at)
        if not taken:
            confirm_locked(booking, source="late_payment")
            return booking
        booking.slot_lost_refund = True
        booking.save(update_fields=["slot_lost_refund", "updated_at"])
        refund = refunds.refund_request(
            payment=payment,
            amount=payment.amount,
            reason=Refund.Reason.SLOT_LOST,
            refund_application_fee=True,
        )
        notifications.slot_lost_refund(booking, refund)
        return booking
