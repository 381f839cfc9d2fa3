"""Cancelling a confirmed booking, and the refund the coach's policy promises.

Lock order: coach → booking → payment (the refund locks the payment).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from bookings import notifications
from bookings.models import Booking, BookingStatus
from bookings.selectors import coach_cancellation_terms, refund_terms
from bookings.services.holds import booking_transition, lock_coach
from marketplace.errors import InvalidTransition, NotAllowed
from marketplace.models import User
from marketplace.money import format_money
from payments import selectors as payment_selectors
from payments.models import Payment, Refund
from payments.services import refunds


@dataclass(frozen=True)
class CancellationPreview:
    """What cancelling ``booking`` now would do, shown before the client or coach confirms:
    computed by the same policy and refund arithmetic ``booking_cancel`` uses."""

    by_client: bool
    percent: int
    # minor units of ``currency`` that would go back to the card (0 without a paid payment)
    amount: int
    currency: str
    explanation: str
    package_credit_back: bool

    @property
    def amount_display(self) -> str:
        return format_money(self.amount, self.currency) if self.currency else ""


def _refund_amount(payment: Payment | None, percent: int) -> int:
    return refunds.refund_percent(payment.amount, percent) if payment and percent > 0 else 0


def cancellation_preview(
    *, booking: Booking, by: User, now: datetime | None = None
) -> CancellationPreview:
    """The refund a cancellation by ``by`` at ``now`` would make (no lock, no change), in
    the words the cancellation's e-mail uses."""
    now = now or timezone.now()
    by_client = by.pk == booking.client_id
    if by_client:
        terms = refund_terms(booking=booking, now=now)
        percent, explanation = terms.percent, terms.explanation
    else:
        percent, explanation = 100, coach_cancellation_terms(booking=booking)
    payment = payment_selectors.paid_payment_of_booking(booking.pk)
    shown = payment or payment_selectors.payment_of_booking(booking.pk)
    return CancellationPreview(
        by_client=by_client,
        percent=percent,
        amount=_refund_amount(payment, percent),
        currency=shown.currency if shown is not None else "",
        explanation=explanation,
        package_credit_back=bool(booking.package_purchase_id or booking.plan_credit_id)
        and (not by_client or percent >= 100),
    )


def refund_for(
    booking: Booking, *, percent: int, reason: str, fee_back: bool, actor: User | None
) -> Refund | None:
    """Refund ``percent`` of the booking's paid payment (nothing for a package session or a
    disputed payment). Call holding the booking's lock."""
    payment = payment_selectors.paid_payment_of_booking(booking.pk)
    if payment is None or percent <= 0:
        return None
    return refunds.refund_request(
        payment=payment,
        amount=_refund_amount(payment, percent),
        reason=reason,
        refund_application_fee=fee_back or percent >= 100,
        requested_by=actor,
    )


def booking_cancel(
    *, booking: Booking, by: User, reason: str = "", now: datetime | None = None
) -> Booking:
    """Cancel a confirmed booking. The client's cancellation refunds per the coach's policy;
    the coach's (or staff's) always refunds in full. A package session goes back to the
    package when cancelled in the free window (and always when the coach cancels).

    Locks coach → booking → payment, the order a payment's webhook takes too.
    """
    now = now or timezone.now()
    with transaction.atomic():
        lock_coach(booking.coach_id)
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
        if locked.status != BookingStatus.CONFIRMED:
            # Cancelling twice is refused, not ignored: the second request would promise a
            # refund that is not coming.
            raise InvalidTransition(
                f"A {locked.get_status_display().lower()} booking cannot be cancelled."
            )
        terms = refund_terms(booking=locked, now=now)
        credit_back = bool(locked.package_purchase_id or locked.plan_credit_id) and (
            not is_client or terms.percent >= 100
        )
        booking_transition(
            locked,
            to_status,
            by=by,
            source="cancel",
            note=reason,
            changes={
                "cancelled_at": now,
                "cancellation_reason": reason,
                "package_credit_returned": credit_back,
            },
        )
        if is_client:
            refund = refund_for(
                locked,
                percent=terms.percent,
                reason=Refund.Reason.CLIENT_CANCELLED,
                fee_back=terms.refund_application_fee,
                actor=by,
            )
        else:
            refund = refund_for(
                locked, percent=100, reason=Refund.Reason.COACH_CANCELLED, fee_back=True, actor=by
            )
        note = terms.explanation if is_client else coach_cancellation_terms(booking=locked)
        notifications.booking_cancelled(
            locked, refund=refund, by_client=is_client, refund_note="" if refund else note
        )
        return locked
