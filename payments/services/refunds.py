"""Refunds: recording one, making it at Stripe, following its status, and the staff refund.

The Refund row exists (committed) before the Stripe call, whose idempotency key is
``refund-<id>``; Stripe's figures (the coach's transfer reversal, the platform's fee refund)
are read back after it. Its status then follows Stripe's (``pending`` → ``succeeded`` |
``failed`` | ``canceled``, and a succeeded card refund may still fail) through the refund
events, ``charge.refund.updated`` and the poll (``payments.poll_pending_refunds``). The
purpose's owner is told at every change; a refund that fails also alerts staff.

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
from payments.models.money import REFUND_TRANSITIONS
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
        # Refunds not yet at Stripe (those Stripe holds are in ``refunded_amount``).
        pending = (
            locked.refunds.filter(
                status=RefundStatus.PENDING, stripe_refund_id__isnull=True
            ).aggregate(total=Sum("amount"))["total"]
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
    """Make the Stripe refund of a recorded refund (idempotent on the refund's id) and apply
    what Stripe answered (``refund_sync``).

    A permanent refusal by Stripe ends the refund ``failed`` and tells staff and the owner; a
    transient failure — Stripe unreachable, or its answer lost after the refund was made —
    raises ``PaymentProviderError`` and the task retries with the same key, which gives the
    same refund back, never a second one.
    """
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    if refund.status != RefundStatus.PENDING:
        return refund
    if refund.stripe_refund_id:
        # Already at Stripe and still pending there: read it, a replay would be stale.
        return refund_refresh(refund=refund)
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
        return _refund_refused(refund, failure)
    return refund_sync(refund=refund, stripe_refund=result)


def refund_refresh(*, refund: Refund) -> Refund:
    """Re-read a refund Stripe holds and apply its status (the poll, and webhooks)."""
    if not refund.stripe_refund_id:
        return refund
    with stripe_errors():
        result = gateway.refund_retrieve(refund.stripe_refund_id)
    return refund_sync(refund=refund, stripe_refund=result)


def refund_sync(*, refund: Refund, stripe_refund: gateway.RefundResult) -> Refund:
    """Apply Stripe's refund to our row: the first time, record it (its id, the coach's
    transfer reversal, the platform's fee refund) and count it in the payment's
    ``refunded_amount``; then follow its status. Moves only forward (pending → succeeded →
    failed; pending → failed | canceled), so a stale answer (an idempotent replay, an old
    event) changes nothing. A refund that fails or is canceled stops counting, moves the
    payment back, and staff and the owner are told.

    Lock order: payment → refund.
    """
    fee_refunded_total: int | None = None
    first_time = not refund.stripe_refund_id
    payment = refund.payment
    if first_time and payment.stripe_application_fee_id and refund.reverse_transfer:
        with stripe_errors():
            fee_refunded_total = gateway.application_fee_amount_refunded(
                payment.stripe_application_fee_id
            )
    target = _STATUS_FROM_STRIPE.get(stripe_refund.status, RefundStatus.PENDING)
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        locked = Refund.objects.select_for_update().get(pk=refund.pk)
        locked.payment = payment
        if not locked.stripe_refund_id:
            if locked.status != RefundStatus.PENDING:
                return locked  # refused by Stripe before it held anything
            fee_refund = locked.application_fee_refund_amount
            if fee_refunded_total is not None:
                earlier = sum(
                    other.application_fee_refund_amount
                    for other in payment.refunds.exclude(pk=locked.pk)
                    if other.stripe_refund_id
                )
                fee_refund = max(fee_refunded_total - earlier, 0)
            Refund.objects.filter(pk=locked.pk).update(
                stripe_refund_id=stripe_refund.id,
                transfer_reversal_amount=stripe_refund.transfer_reversal_amount,
                stripe_transfer_reversal_id=stripe_refund.transfer_reversal_id,
                application_fee_refund_amount=fee_refund,
            )
            locked.stripe_refund_id = stripe_refund.id
            locked.transfer_reversal_amount = stripe_refund.transfer_reversal_amount
            locked.stripe_transfer_reversal_id = stripe_refund.transfer_reversal_id
            locked.application_fee_refund_amount = fee_refund
            _payment_refunded_change(payment, locked.amount, reference=str(locked.pk))
        if target == locked.status or target not in REFUND_TRANSITIONS[locked.status]:
            return locked
        counted = locked.counts_as_refunded
        states.transition(
            locked,
            target,
            source="stripe",
            reference=stripe_refund.id,
            note=stripe_refund.failure_reason,
            changes={"failure_reason": stripe_refund.failure_reason}
            if stripe_refund.failure_reason
            else None,
            locked=True,
        )
        if target in (RefundStatus.FAILED, RefundStatus.CANCELED):
            if counted:
                _payment_refunded_change(payment, -locked.amount, reference=str(locked.pk))
            _tell_staff_refund_failed(locked, stripe_refund.failure_reason or target)
        purposes.refund_updated(locked)
        return locked


_STATUS_FROM_STRIPE = {
    "pending": RefundStatus.PENDING,
    "requires_action": RefundStatus.PENDING,
    "succeeded": RefundStatus.SUCCEEDED,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.CANCELED,
}


def _payment_refunded_change(payment: Payment, delta: int, *, reference: str) -> None:
    """Add ``delta`` to the payment's refunded amount and move its status to match (the
    caller holds the payment's lock). A disputed payment keeps its status."""
    payment.refunded_amount = max(payment.refunded_amount + delta, 0)
    payment.save(update_fields=["refunded_amount", "updated_at"])
    if payment.status == PaymentStatus.DISPUTED:
        return
    if payment.refunded_amount >= payment.amount:
        target = PaymentStatus.REFUNDED
    elif payment.refunded_amount:
        target = PaymentStatus.PARTIALLY_REFUNDED
    else:
        target = PaymentStatus.SUCCEEDED
    if target != payment.status:
        states.transition(payment, target, source="refund", reference=reference, locked=True)


def _tell_staff_refund_failed(refund: Refund, reason: str) -> None:
    staff_alert_raise(
        kind=StaffAlert.Kind.REFUND_FAILED,
        message=(
            f"Refund {refund.pk} ({refund.amount} {refund.currency}) of payment "
            f"{refund.payment_id} {refund.status} at Stripe ({reason}): the client has not "
            "been paid back and was told; the platform holds the money."
        ),
    )


def _refund_refused(refund: Refund, failure: PaymentProviderError) -> Refund:
    """Stripe refused to make the refund: nothing moved."""
    with transaction.atomic():
        locked = Refund.objects.select_for_update().get(pk=refund.pk)
        if locked.status == RefundStatus.PENDING and not locked.stripe_refund_id:
            states.transition(
                locked,
                RefundStatus.FAILED,
                source="stripe",
                note=failure.message,
                changes={"failure_message": failure.message},
                locked=True,
            )
            _tell_staff_refund_failed(locked, failure.message)
            purposes.refund_updated(locked)
    return Refund.objects.select_related("payment").get(pk=refund.pk)


def refund_record_from_stripe(*, stripe_refund: gateway.RefundResult) -> Refund | None:
    """A refund event (``refund.*``, ``charge.refund.updated``): apply Stripe's refund to our
    row, found by its id or, when the answer to our call was lost, by the ``refund_id`` we
    put in its metadata. None when it is not one of ours (made elsewhere)."""
    refund = (
        Refund.objects.select_related("payment").filter(stripe_refund_id=stripe_refund.id).first()
    )
    if refund is None:
        ours = (stripe_refund.metadata or {}).get("refund_id", "")
        if ours.isdigit():
            refund = Refund.objects.select_related("payment").filter(pk=int(ours)).first()
    if refund is None:
        return None
    if refund.stripe_refund_id and refund.stripe_refund_id != stripe_refund.id:
        return None
    return refund_sync(refund=refund, stripe_refund=stripe_refund)


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
