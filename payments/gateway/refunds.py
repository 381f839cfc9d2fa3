"""Refunds of charges, with the transfer reversal of a destination charge."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from payments.gateway.client import stripe_client
from payments.gateway.errors import call
from payments.gateway.fields import field_value


@dataclass(frozen=True)
class RefundResult:
    id: str
    status: str
    amount: int
    transfer_reversal_amount: int


def refund_create(
    *,
    idempotency_key: str,
    payment_intent_id: str,
    amount: int,
    reverse_transfer: bool,
    refund_application_fee: bool,
    metadata: dict[str, str],
) -> RefundResult:
    params: dict[str, Any] = {
        "payment_intent": payment_intent_id,
        "amount": amount,
        "metadata": metadata,
        "expand": ["transfer_reversal"],
    }
    if reverse_transfer:
        params["reverse_transfer"] = True
        params["refund_application_fee"] = refund_application_fee
    refund = call(
        stripe_client().v1.refunds.create,
        params=params,  # type: ignore[arg-type]
        options={"idempotency_key": idempotency_key},
    )
    reversal = field_value(refund, "transfer_reversal")
    return RefundResult(
        id=refund["id"],
        status=field_value(refund, "status", ""),
        amount=int(field_value(refund, "amount", 0)),
        transfer_reversal_amount=int(field_value(reversal, "amount", 0))
        if not isinstance(reversal, str)
        else 0,
    )
