"""Stripe events about charges, refunds, disputes and transfers (registered in
``payments.handlers.HANDLERS`` by ``PaymentsConfig.ready``).

Each handler re-reads the object from Stripe through ``payments.gateway`` (the payload is
only a pointer), finds our row, and calls one service; everything is safe to run twice and
in any order. An event about a payment we do not have yet raises ``RetryLater``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bookings import services
from payments import charges, gateway
from payments.handlers import RetryLater, handles
from payments.models import Payment, PaymentKind, RefundStatus

if TYPE_CHECKING:
    from payments.models import WebhookEvent


def _settle(payment: Payment, payment_intent_id: str) -> None:
    intent = gateway.payment_intent_retrieve(payment_intent_id)
    charges.payment_settle(payment_id=payment.pk, intent=intent)
    if intent.status != "succeeded":
        return
    # Called on every succeeded event, not only the first: if an earlier run stopped between
    # the two steps, the next event finishes the work (both services are idempotent).
    if payment.kind == PaymentKind.BOOKING:
        services.booking_payment_succeeded(payment_id=payment.pk)
    else:
        services.package_purchase_paid(payment_id=payment.pk)


def _payment_for_intent(payment_intent_id: str) -> tuple[Payment, str]:
    intent = gateway.payment_intent_retrieve(payment_intent_id)
    payment = charges.payment_for_stripe_ids(
        payment_intent_id=intent.id, metadata_payment_id=intent.metadata.get("payment_id", "")
    )
    if payment is None:
        raise RetryLater(f"no payment for {payment_intent_id} yet")
    return payment, intent.id


@handles("checkout.session.completed", "checkout.session.async_payment_succeeded")
def handle_checkout_session_completed(event: WebhookEvent) -> None:
    session = gateway.checkout_session_retrieve(event.object_id)
    payment = charges.payment_for_stripe_ids(
        checkout_session_id=session.id, metadata_payment_id=session.metadata.get("payment_id", "")
    )
    if payment is None:
        raise RetryLater(f"no payment for checkout session {session.id} yet")
    if session.payment_intent_id:
        _settle(payment, session.payment_intent_id)


@handles("checkout.session.expired")
def handle_checkout_session_expired(event: WebhookEvent) -> None:
    session = gateway.checkout_session_retrieve(event.object_id)
    if session.status != "expired":
        return
    payment = charges.payment_for_stripe_ids(
        checkout_session_id=session.id, metadata_payment_id=session.metadata.get("payment_id", "")
    )
    if payment is None:
        return  # a session we never made, or one whose hold is long gone
    if payment.booking_id:
        services.booking_expire(booking_id=payment.booking_id, source="checkout_expired")
    else:
        services.package_purchase_expire(payment_id=payment.pk)


@handles("payment_intent.succeeded", "payment_intent.payment_failed")
def handle_payment_intent(event: WebhookEvent) -> None:
    payment, intent_id = _payment_for_intent(event.object_id)
    _settle(payment, intent_id)


@handles("charge.succeeded")
def handle_charge_succeeded(event: WebhookEvent) -> None:
    payment_intent_id = gateway.charge_payment_intent_id(event.object_id)
    if not payment_intent_id:
        return
    payment, intent_id = _payment_for_intent(payment_intent_id)
    _settle(payment, intent_id)


@handles("charge.refunded", "charge.refund.updated")
def handle_charge_refunded(event: WebhookEvent) -> None:
    """Our refunds are recorded when we make them; a refund whose call crashed before we
    recorded Stripe's answer is finished here (same idempotency key, same refund)."""
    payment = Payment.objects.filter(stripe_charge_id=event.object_id).first()
    if payment is None:
        return
    for refund_id in payment.refunds.filter(status=RefundStatus.PENDING).values_list(
        "pk", flat=True
    ):
        charges.refund_execute(refund_id=refund_id)


@handles("charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed")
def handle_charge_dispute(event: WebhookEvent) -> None:
    dispute = gateway.dispute_retrieve(event.object_id)
    row, _created = charges.dispute_record(dispute=dispute)
    services.booking_flag_dispute(payment_id=row.payment_id)


@handles("transfer.created", "transfer.updated")
def handle_transfer_created(event: WebhookEvent) -> None:
    """Package transfers are recorded when made; destination-charge transfers are read with
    their PaymentIntent. Nothing to do but re-read a reversal we may have missed."""
    charges.transfer_sync_reversal(stripe_transfer_id=event.object_id)


@handles("transfer.reversed")
def handle_transfer_reversed(event: WebhookEvent) -> None:
    charges.transfer_sync_reversal(stripe_transfer_id=event.object_id)
