"""Refunds: recording one, making it at Stripe, and the staff refund.

The Refund row exists (committed) before the Stripe call, whose idempotency key is
``refund-<id>``; Stripe's figures (the coach's transfer reversal, the platform's fee refund)
are read back after it. The purpose's owner is told when a refund reaches a final status.

Lock order: the owner's rows (the caller's) → payment → refund.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Sum

from marketplace import states
from marketplace.errors import Conflict, DomainError
from marketplace.models import User
from marketplace.money import round_half_up_div
from marketplace.queue import enqueue
from payments import gateway, purposes
from payments.errors import PaymentProviderError, provider_error, stripe_errors
from payments.models import Payment, PaymentStatus, Refund, RefundStatus, StaffAlert
from payments.services.alerts import staff_alert_raise


def refund_percent(amount: int, percent: int) -> int:
    """``percent`` of ``amount`` minor units, rounded half up."""
    return round_half_up_div(amount * percent, 100)


def refund_request(
    *,
    payment: Payment,
    amount: int,
    reason: str,
    refund_application_fee: bool,
    requested_by: User | None = None,
) -> Refund | None:
    """Record a refund of ``amount`` and queue its Stripe call after commit.

    A disputed payment is never refunded again (None). The amount is capped at what is
    still refundable; nothing to refund gives None. Locks the payment: a caller that holds
    the owner's rows took them first.
    """
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if locked.status == PaymentStatus.DISPUTED:
            return None
        if locked.status not in (PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED):
            raise Conflict("Only a paid payment can be refunded.", code="payment_not_refundable")
        pending = (
            locked.refunds.filter(status=RefundStatus.PENDING).aggregate(total=Sum("amount"))[
                "total"
            ]
            or 0
        )
        amount = min(amount, locked.refundable_amount - pending)
        if amount <= 0:
            return None
        refund = Refund.objects.create(
            payment=locked,
            amount=amount,
            currency=locked.currency,
            reason=reason,
            reverse_transfer=locked.is_destination_charge,
            refund_application_fee=refund_application_fee or amount == locked.amount,
            requested_by=requested_by,
        )
        enqueue("payments.execute_refund", refund.pk)
        return refund


def refund_execute(*, refund_id: int) -> Refund:
    """Make the Stripe refund of a recorded refund (idempotent on the refund's id) and read
    back what moved: the coach's transfer reversal and the platform's fee refund.

    A permanent refusal by Stripe ends the refund ``failed`` and tells staff; a transient
    failure raises ``PaymentProviderError`` (the task retries).
    """
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    if refund.status != RefundStatus.PENDING:
        return refund
    payment = refund.payment
    try:
        result = gateway.refund_create(
            idempotency_key=f"refund-{refund.pk}",
            payment_intent_id=payment.stripe_payment_intent_id or "",
            amount=refund.amount,
            reverse_transfer=refund.reverse_transfer,
            refund_application_fee=refund.refund_application_fee,
            metadata={"refund_id": str(refund.pk), "payment_id": str(payment.pk)},
        )
    except gateway.GatewayError as error:
        failure = provider_error(error)
        if not failure.permanent:
            raise failure from error
        return _refund_failed(refund, failure)
    # The refund is made: whatever fails from here is retried (same key, same refund).
    with stripe_errors():
        fee_refunded_total = (
            gateway.application_fee_amount_refunded(payment.stripe_application_fee_id)
            if payment.stripe_application_fee_id and refund.reverse_transfer
            else None
        )
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        locked = Refund.objects.select_for_update().get(pk=refund.pk)
        if locked.status != RefundStatus.PENDING:
            return locked
        fee_refund = locked.application_fee_refund_amount
        if fee_refunded_total is not None:
            earlier = (
                payment.refunds.filter(status=RefundStatus.SUCCEEDED)
                .exclude(pk=locked.pk)
                .aggregate(total=Sum("application_fee_refund_amount"))["total"]
                or 0
            )
            fee_refund = max(fee_refunded_total - earlier, 0)
        states.transition(
            locked,
            RefundStatus.SUCCEEDED,
            source="stripe",
            reference=result.id,
            changes={
                "stripe_refund_id": result.id,
                "transfer_reversal_amount": result.transfer_reversal_amount,
                "application_fee_refund_amount": fee_refund,
            },
            locked=True,
        )
        refunded = payment.refunded_amount + locked.amount
        payment.refunded_amount = refunded
        payment.save(update_fields=["refunded_amount", "updated_at"])
        if payment.status != PaymentStatus.DISPUTED:
            states.transition(
                payment,
                PaymentStatus.REFUNDED
                if refunded >= payment.amount
                else PaymentStatus.PARTIALLY_REFUNDED,
                source="refund",
                reference=str(locked.pk),
                locked=True,
            )
        locked.payment = payment
        purposes.refund_updated(locked)
        return locked


def _refund_failed(refund: Refund, failure: PaymentProviderError) -> Refund:
    with transaction.atomic():
        locked = Refund.objects.select_for_update().get(pk=refund.pk)
        if locked.status == RefundStatus.PENDING:
            states.transition(
                locked,
                RefundStatus.FAILED,
                source="stripe",
                note=failure.message,
                changes={"failure_message": failure.message},
                locked=True,
            )
            staff_alert_raise(
                kind=StaffAlert.Kind.OTHER,
                message=(
                    f"Refund {refund.pk} of payment {refund.payment_id} failed: {failure.message}"
                ),
            )
            purposes.refund_updated(locked)
    return Refund.objects.select_related("payment").get(pk=refund.pk)


def refunds_finish_pending(*, payment: Payment) -> int:
    """Finish every pending refund of a payment (a refund whose call crashed before we
    recorded Stripe's answer: the same idempotency key gives the same refund)."""
    pending = list(payment.refunds.filter(status=RefundStatus.PENDING).values_list("pk", flat=True))
    for refund_id in pending:
        refund_execute(refund_id=refund_id)
    return len(pending)


def refund_by_staff(
    *, payment: Payment, amount: int | None, by: User, reason: str = Refund.Reason.STAFF
) -> Refund:
    """A staff refund: the whole rest by default; the fee comes back in proportion.
    ``reason`` is one of ``Refund.Reason`` (staff by default)."""
    if not by.is_staff:
        raise DomainError("Only staff can refund.", code="permission_denied", status_code=403)
    if payment.status == PaymentStatus.DISPUTED:
        raise Conflict("A disputed payment is not refunded again.", code="payment_disputed")
    if reason not in Refund.Reason.values:
        raise DomainError("Choose a refund reason.", code="invalid_reason")
    requested = payment.refundable_amount if amount is None else amount
    if requested <= 0 or requested > payment.refundable_amount:
        raise DomainError(
            "The amount must be between 1 and what is left to refund.",
            code="invalid_amount",
            fields={"amount": [f"At most {payment.refundable_amount}."]},
        )
    refund = refund_request(
        payment=payment,
        amount=requested,
        reason=reason,
        refund_application_fee=True,
        requested_by=by,
    )
    if refund is None:
        raise Conflict("Nothing left to refund.", code="nothing_to_refund")
    return refund
