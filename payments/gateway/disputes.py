"""Disputes of charges."""

from __future__ import annotations

from dataclasses import dataclass

from payments.gateway.client import stripe_client
from payments.gateway.errors import call
from payments.gateway.fields import field_value, id_of


@dataclass(frozen=True)
class DisputeResult:
    id: str
    charge_id: str
    payment_intent_id: str
    amount: int
    currency: str
    reason: str
    status: str


def dispute_retrieve(dispute_id: str) -> DisputeResult:
    dispute = call(stripe_client().v1.disputes.retrieve, dispute_id)
    return DisputeResult(
        id=dispute["id"],
        charge_id=id_of(field_value(dispute, "charge")),
        payment_intent_id=id_of(field_value(dispute, "payment_intent")),
        amount=int(field_value(dispute, "amount", 0)),
        currency=field_value(dispute, "currency", ""),
        reason=field_value(dispute, "reason", ""),
        status=field_value(dispute, "status", ""),
    )
