"""Disputes: a client's chargeback, mirrored from Stripe. A disputed payment is never
refunded again; staff are told, and so is the purpose's owner. The dispute's status and
evidence deadline follow Stripe's. A lost dispute takes back what the coach was paid from the
charge, because Stripe debits the platform and leaves transfers alone: for a destination
charge, the transfer is reversed, with the application fee refunded to the coach in
proportion, as a refund with ``reverse_transfer`` does; for a package charged on the platform,
every share already transferred is reversed in full, and a share not sent yet is not sent.

Lock order: the owner's rows (``purposes.lock_owner``) → payment → dispute; a share's
reversal is recorded under the transfer's own locks (``transfers.transfer_sync_reversal``).
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
from payments.models import (
    Dispute,
    DisputeStatus,
    Payment,
    PaymentStatus,
    StaffAlert,
    Transfer,
    TransferKind,
    TransferStatus,
)
from payments.models.money import DISPUTE_OPEN_STATUSES
from payments.services import transfers
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
        elif payment.package_purchase_id is not None:
            outcome += (
                "; the package shares transferred to the coach are reversed and no further "
                "share is sent"
            )
    else:
        outcome = f"{dispute.get_status_display().lower()}: the amount is back"
    staff_alert_raise(
        kind=StaffAlert.Kind.DISPUTE,
        message=f"Dispute {dispute.stripe_dispute_id} on payment {payment.pk} {outcome}.",
    )


def dispute_reverse_transfer(*, dispute_id: int) -> Dispute:
    """After a lost dispute, take back what the coach was paid from the charge.

    A destination charge: what is left of the transfer (what earlier refunds did not
    reverse), refunding the application fee in the same proportion. A package charged on the
    platform: each share transferred so far, in full (``_reverse_package_shares``). Safe to
    run twice: the amounts come from our rows and the idempotency keys from the dispute, so a
    retry after a lost answer gets the same reversal.
    """
    dispute = Dispute.objects.select_related("payment").get(pk=dispute_id)
    payment = dispute.payment
    if dispute.status != DisputeStatus.LOST:
        return dispute
    if not payment.is_destination_charge:
        _reverse_package_shares(dispute, payment)
        return dispute
    if dispute.stripe_transfer_reversal_id or not payment.stripe_transfer_id:
        return dispute
    refunds = [refund for refund in payment.refunds.all() if refund.stripe_refund_id]
    remaining = payment.amount - sum(refund.transfer_reversal_amount for refund in refunds)
    if remaining <= 0:
        return dispute
    reversal = _lost_dispute_reversal(
        dispute,
        idempotency_key=f"dispute-{dispute.pk}-reversal",
        transfer_id=payment.stripe_transfer_id,
        amount=remaining,
        refund_application_fee=True,
        metadata={"payment_id": str(payment.pk)},
        what=f"the coach's transfer of payment {payment.pk}",
    )
    if reversal is None:
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


def _reverse_package_shares(dispute: Dispute, payment: Payment) -> None:
    """A package bought with a platform charge paid its coach one transfer per session held
    (``source_transaction`` the charge). The client has the whole amount back, so each of
    those shares is reversed in full, under the key ``dispute-<id>-transfer-<id>-reversal``,
    and recorded on the share (``reversed_amount``, ``reversed``) as Stripe reports it. A
    share not paid yet is never sent (``transfers.transfer_execute``)."""
    if payment.package_purchase_id is None:
        return
    shares = Transfer.objects.filter(
        package_purchase_id=payment.package_purchase_id,
        kind=TransferKind.PACKAGE_SHARE,
        status=TransferStatus.PAID,
    ).exclude(stripe_transfer_id=None)
    for share in shares.order_by("sequence"):
        remaining = share.amount - share.reversed_amount
        if remaining <= 0 or share.stripe_transfer_id is None:
            continue
        reversal = _lost_dispute_reversal(
            dispute,
            idempotency_key=f"dispute-{dispute.pk}-transfer-{share.pk}-reversal",
            transfer_id=share.stripe_transfer_id,
            amount=remaining,
            refund_application_fee=False,
            metadata={"transfer_id": str(share.pk)},
            what=f"the package share (transfer {share.pk})",
        )
        if reversal is not None:
            transfers.transfer_sync_reversal(stripe_transfer_id=share.stripe_transfer_id)


def _lost_dispute_reversal(
    dispute: Dispute,
    *,
    idempotency_key: str,
    transfer_id: str,
    amount: int,
    refund_application_fee: bool,
    metadata: dict[str, str],
    what: str,
) -> gateway.ReversalResult | None:
    """Reverse a transfer a lost dispute took back; a transient Stripe error raises (the task
    retries under the same key), a permanent one alerts staff and answers None."""
    try:
        return gateway.transfer_reversal_create(
            idempotency_key=idempotency_key,
            transfer_id=transfer_id,
            amount=amount,
            refund_application_fee=refund_application_fee,
            metadata={"dispute_id": str(dispute.pk), **metadata},
        )
    except gateway.GatewayError as error:
        failure = provider_error(error)
        if not failure.permanent:
            raise failure from error
        staff_alert_raise(
            kind=StaffAlert.Kind.DISPUTE,
            message=(
                f"Dispute {dispute.stripe_dispute_id} lost, but {what} could not be reversed: "
                f"{failure.message}"
            ),
        )
        return None
