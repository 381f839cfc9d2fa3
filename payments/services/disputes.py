"""Disputes: a client's chargeback, mirrored from Stripe. A disputed payment is never
refunded again; staff are told, and so is the purpose's owner. The dispute's status and
evidence deadline follow Stripe's; a lost dispute of a destination charge takes the coach's
share back by reversing the transfer (Stripe debits the platform and leaves the transfer
alone), with the application fee refunded to the coach in proportion, as a refund with
``reverse_transfer`` does.

Lock order: the owner's rows (``purposes.lock_owner``) → payment → dispute.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from marketplace import states
from marketplace.errors import InvalidTransition
from marketplace.queue import enqueue
from payments import gateway, purposes
from payments.errors import provider_error, stripe_errors
from payments.models import Dispute, DisputeStatus, Payment, PaymentStatus, StaffAlert
from payments.models.money import DISPUTE_OPEN_STATUSES
from payments.services.alerts import staff_alert_raise
from payments.services.charges import payment_for_stripe_ids

logger = logging.getLogger("payments.disputes")


def dispute_record(*, dispute: gateway.DisputeResult) -> tuple[Dispute, bool] | None:
    """Mirror a dispute Stripe reported (re-read by the caller) and mark its payment
    disputed; the bool is True when the dispute is new. None when we have no payment for it
    (yet). A dispute that becomes ``lost`` queues the reversal of the coach's transfer."""
    payment = payment_for_stripe_ids(
        payment_intent_id=dispute.payment_intent_id, charge_id=dispute.charge_id
    )
    if payment is None:
        return None
    with transaction.atomic():
        purposes.lock_owner(payment)
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        facts = {
            "evidence_due_by": dispute.evidence_due_by,
            "funds_withdrawn": dispute.funds_withdrawn,
            "funds_reinstated": dispute.funds_reinstated,
        }
        row, created = Dispute.objects.select_for_update().get_or_create(
            stripe_dispute_id=dispute.id,
            defaults={
                "payment": payment,
                "amount": dispute.amount,
                "currency": dispute.currency,
                "reason": dispute.reason,
                "status": dispute.status,
                **facts,
            },
        )
        if not created:
            closed = dispute.status not in DISPUTE_OPEN_STATUSES
            try:
                states.transition(
                    row,
                    dispute.status,
                    source="stripe",
                    changes={**facts, "closed_at": timezone.now() if closed else None},
                    locked=True,
                )
            except InvalidTransition:
                # Stripe is the source of truth; a move our table does not know (a stale
                # event after the close) is logged, never retried forever.
                logger.info("dispute %s: %s -> %s refused", row.pk, row.status, dispute.status)
            else:
                if closed:
                    _tell_staff_closed(row, payment)
        else:
            if payment.status != PaymentStatus.DISPUTED:
                states.transition(
                    payment,
                    PaymentStatus.DISPUTED,
                    source="dispute",
                    reference=dispute.id,
                    locked=True,
                )
            staff_alert_raise(
                kind=StaffAlert.Kind.DISPUTE,
                message=(
                    f"Dispute {dispute.id} ({dispute.reason or 'no reason'}) on payment "
                    f"{payment.pk}: {dispute.amount} {dispute.currency}, evidence due "
                    f"{dispute.evidence_due_by:%Y-%m-%d %H:%M} UTC."
                    if dispute.evidence_due_by
                    else f"Dispute {dispute.id} on payment {payment.pk}: "
                    f"{dispute.amount} {dispute.currency}."
                ),
            )
        if row.status == DisputeStatus.LOST and not row.stripe_transfer_reversal_id:
            enqueue("payments.reverse_lost_dispute", row.pk)
        purposes.dispute_opened(payment)
        return row, created


def _tell_staff_closed(dispute: Dispute, payment: Payment) -> None:
    if dispute.status == DisputeStatus.LOST:
        outcome = "lost: the amount stays with the client"
        if payment.is_destination_charge and payment.stripe_transfer_id:
            outcome += "; the coach's transfer is reversed"
    else:
        outcome = f"{dispute.get_status_display().lower()}: the amount is back"
    staff_alert_raise(
        kind=StaffAlert.Kind.DISPUTE,
        message=f"Dispute {dispute.stripe_dispute_id} on payment {payment.pk} {outcome}.",
    )


def dispute_reverse_transfer(*, dispute_id: int) -> Dispute:
    """After a lost dispute of a destination charge, take back from the coach what is left
    of the transfer (what earlier refunds did not reverse), refunding the application fee in
    the same proportion. Safe to run twice: the amount comes from our rows and the
    idempotency key from the dispute, so a retry after a lost answer gets the same reversal.
    A package charged on the platform stays there (its sessions were transferred one by one).
    """
    dispute = Dispute.objects.select_related("payment").get(pk=dispute_id)
    payment = dispute.payment
    if (
        dispute.status != DisputeStatus.LOST
        or dispute.stripe_transfer_reversal_id
        or not payment.is_destination_charge
        or not payment.stripe_transfer_id
    ):
        return dispute
    refunds = [refund for refund in payment.refunds.all() if refund.stripe_refund_id]
    remaining = payment.amount - sum(refund.transfer_reversal_amount for refund in refunds)
    if remaining <= 0:
        return dispute
    try:
        reversal = gateway.transfer_reversal_create(
            idempotency_key=f"dispute-{dispute.pk}-reversal",
            transfer_id=payment.stripe_transfer_id,
            amount=remaining,
            refund_application_fee=True,
            metadata={"dispute_id": str(dispute.pk), "payment_id": str(payment.pk)},
        )
    except gateway.GatewayError as error:
        failure = provider_error(error)
        if not failure.permanent:
            raise failure from error
        staff_alert_raise(
            kind=StaffAlert.Kind.DISPUTE,
            message=(
                f"Dispute {dispute.stripe_dispute_id} lost, but the coach's transfer of payment "
                f"{payment.pk} could not be reversed: {failure.message}"
            ),
        )
        return dispute
    fee_refund = 0
    if payment.stripe_application_fee_id:
        with stripe_errors():
            total = gateway.application_fee_amount_refunded(payment.stripe_application_fee_id)
        fee_refund = max(total - sum(r.application_fee_refund_amount for r in refunds), 0)
    with transaction.atomic():
        Payment.objects.select_for_update().get(pk=payment.pk)
        locked = Dispute.objects.select_for_update().get(pk=dispute.pk)
        if not locked.stripe_transfer_reversal_id:
            Dispute.objects.filter(pk=locked.pk).update(
                stripe_transfer_reversal_id=reversal.id,
                transfer_reversal_amount=reversal.amount,
                application_fee_refund_amount=fee_refund,
            )
    return Dispute.objects.select_related("payment").get(pk=dispute.pk)
