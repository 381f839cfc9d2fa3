"""Disputes of charges."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from payments.gateway.client import stripe_client
from payments.gateway.errors import call
from payments.gateway.fields import field_value, id_of, timestamp


@dataclass(frozen=True)
class DisputeResult:
    id: str
    charge_id: str
    payment_intent_id: str
    amount: int
    currency: str
    reason: str
    status: str
    evidence_due_by: datetime | None = None
    # From the dispute's balance transactions: Stripe took the amount / gave it back.
    funds_withdrawn: bool = False
    funds_reinstated: bool = False


def dispute_retrieve(dispute_id: str) -> DisputeResult:
    dispute = call(stripe_client().v1.disputes.retrieve, dispute_id)
    moves = field_value(dispute, "balance_transactions", []) or []
    return DisputeResult(
        id=dispute["id"],
        charge_id=id_of(field_value(dispute, "charge")),
        payment_intent_id=id_of(field_value(dispute, "payment_intent")),
        amount=int(field_value(dispute, "amount", 0)),
        currency=field_value(dispute, "currency", ""),
        reason=field_value(dispute, "reason", ""),
        status=field_value(dispute, "status", ""),
        evidence_due_by=timestamp(field_value(field_value(dispute, "evidence_details"), "due_by")),
        funds_withdrawn=any(int(field_value(move, "amount", 0)) < 0 for move in moves),
        funds_reinstated=any(int(field_value(move, "amount", 0)) > 0 for move in moves),
    )
