"""The booking and package purposes: what bookings does when payments tells it about a
payment, a refund or a dispute (registered in ``BookingsConfig.ready``)."""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse

from bookings import notifications
from bookings.models import Booking
from bookings.services import after_session, checkout, holds, packages, plans
from payments import purposes
from payments.models import (
    Payment,
    PaymentKind,
    Refund,
    RefundStatus,
    Subscription,
    SubscriptionKind,
)

# Refunds the client is e-mailed about when they are sent; the others (a cancellation, a lost
# slot) are told in the e-mail of what caused them.
_TOLD_WHEN_SENT = frozenset({Refund.Reason.STAFF, Refund.Reason.PACKAGE_UNUSED})


def _lock_booking_of(payment: Payment) -> None:
    """Coach → booking, before payments locks the payment."""
    if payment.booking_id is None:
        return
    coach_id = Booking.objects.values_list("coach_id", flat=True).get(pk=payment.booking_id)
    holds.lock_coach(coach_id)
    list(
        Booking.objects.select_for_update(of=("self",))
        .filter(pk=payment.booking_id)
        .values_list("pk", flat=True)
    )


def _booking_checkout_expired(payment: Payment) -> None:
    if payment.booking_id is not None:
        holds.booking_expire(booking_id=payment.booking_id, source="checkout_expired")


def _refund_updated(refund: Refund) -> None:
    if refund.status == RefundStatus.SUCCEEDED and refund.reason in _TOLD_WHEN_SENT:
        transaction.on_commit(lambda: notifications.refund_sent(refund))
    elif refund.status in (RefundStatus.FAILED, RefundStatus.CANCELED):
        # Whatever the reason: the client expected this money and will not get it this way.
        transaction.on_commit(lambda: notifications.refund_failed(refund))


def _billing_path(subscription: Subscription) -> str:
    """Where the payer manages the subscription (payments' e-mails about it link here)."""
    return reverse("bookings:billing")


def register() -> None:
    purposes.register(
        purposes.Purpose(
            kind=PaymentKind.BOOKING,
            lock_owner=_lock_booking_of,
            payment_succeeded=lambda payment: checkout.booking_payment_succeeded(payment=payment),
            checkout_expired=_booking_checkout_expired,
            refund_updated=_refund_updated,
            dispute_opened=lambda payment: after_session.booking_flag_dispute(payment=payment),
        )
    )
    purposes.register(
        purposes.Purpose(
            kind=PaymentKind.PACKAGE,
            lock_owner=packages.lock_purchase_of,
            payment_succeeded=lambda payment: packages.package_purchase_paid(payment=payment),
            checkout_expired=lambda payment: packages.package_purchase_expire(payment=payment),
            refund_updated=_refund_updated,
        )
    )
    # A plan invoice's payment: Stripe Billing charged it; refunds of it are told as others.
    purposes.register(purposes.Purpose(kind=PaymentKind.PLAN, refund_updated=_refund_updated))
    purposes.register_subscription(
        purposes.SubscriptionPurpose(
            kind=SubscriptionKind.PLAN,
            lock_owner=plans.lock_plan_subscription_of,
            subscription_updated=plans.plan_subscription_follow,
            invoice_paid=plans.plan_invoice_paid,
            invoice_failed=plans.plan_invoice_failed,
            billing_path=_billing_path,
        )
    )
