"""Refunds of charges, with the transfer reversal of a destination charge.

A refund's ``status`` is Stripe's: ``pending``, ``requires_action``, ``succeeded``,
``failed`` or ``canceled``; a card refund may succeed and fail later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from payments.gateway.client import stripe_client
from payments.gateway.errors import call
from payments.gateway.fields import field_value, id_of, plain_dict


@dataclass(frozen=True)
class RefundResult:
    id: str
    status: str
    amount: int
    transfer_reversal_amount: int
    transfer_reversal_id: str = ""
    failure_reason: str = ""
    metadata: dict[str, str] | None = None


def _result(refund: Any) -> RefundResult:
    reversal = field_value(refund, "transfer_reversal")
    expanded = reversal is not None and not isinstance(reversal, str)
    return RefundResult(
        id=refund["id"],
        status=field_value(refund, "status", ""),
        amount=int(field_value(refund, "amount", 0)),
        transfer_reversal_amount=int(field_value(reversal, "amount", 0)) if expanded else 0,
        transfer_reversal_id=id_of(reversal),
        failure_reason=field_value(refund, "failure_reason", ""),
        metadata={str(k): str(v) for k, v in plain_dict(field_value(refund, "metadata")).items()},
    )


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
    return _result(refund)


def refund_retrieve(refund_id: str) -> RefundResult:
    """The refund as Stripe has it now (its transfer reversal expanded)."""
    refund = call(
        stripe_client().v1.refunds.retrieve,
        refund_id,
        params={"expand": ["transfer_reversal"]},
    )
    return _result(refund)
