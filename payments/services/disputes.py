"""Disputes: a client's chargeback, mirrored from Stripe. A disputed payment is never
refunded again; staff are told, and so is the purpose's owner.

Lock order: the owner's rows (``purposes.lock_owner``) → payment → dispute.
"""

from __future__ import annotations

import logging

from django.db import transaction

from marketplace import states
from marketplace.errors import InvalidTransition
from payments import gateway, purposes
from payments.models import Dispute, Payment, PaymentStatus, StaffAlert
from payments.services.alerts import staff_alert_raise
from payments.services.charges import payment_for_stripe_ids

logger = logging.getLogger("payments.disputes")


def dispute_record(*, dispute: gateway.DisputeResult) -> tuple[Dispute, bool] | None:
    """Mirror a dispute Stripe reported and mark its payment disputed; the bool is True when
    the dispute is new. None when we have no payment for it (yet)."""
    payment = payment_for_stripe_ids(
        payment_intent_id=dispute.payment_intent_id, charge_id=dispute.charge_id
    )
    if payment is None:
        return None
    with transaction.atomic():
        purposes.lock_owner(payment)
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        row, created = Dispute.objects.select_for_update().get_or_create(
            stripe_dispute_id=dispute.id,
            defaults={
                "payment": payment,
                "amount": dispute.amount,
                "currency": dispute.currency,
                "reason": dispute.reason,
                "status": dispute.status,
            },
        )
        if not created:
            try:
                states.transition(row, dispute.status, source="stripe", locked=True)
            except InvalidTransition:
                # Stripe is the source of truth; a move our table does not know is logged,
                # never retried forever.
                logger.warning("dispute %s: %s -> %s refused", row.pk, row.status, dispute.status)
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
                kind=StaffAlert.Kind.OTHER,
                message=(
                    f"Dispute {dispute.id} ({dispute.reason or 'no reason'}) on payment "
                    f"{payment.pk}: {dispute.amount} {dispute.currency}."
                ),
            )
        purposes.dispute_opened(payment)
        return row, created
