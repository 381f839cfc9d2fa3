"""PaymentIntents and their charges."""

from __future__ import annotations

from dataclasses import dataclass

from payments.gateway.client import stripe_client
from payments.gateway.errors import call
from payments.gateway.fields import field_value, id_of, plain_dict


@dataclass(frozen=True)
class PaymentIntent:
    id: str
    status: str
    amount: int
    currency: str
    metadata: dict[str, str]
    charge_id: str
    transfer_id: str
    application_fee_id: str
    failure_message: str


def payment_intent_retrieve(payment_intent_id: str) -> PaymentIntent:
    intent = call(
        stripe_client().v1.payment_intents.retrieve,
        payment_intent_id,
        params={"expand": ["latest_charge"]},
    )
    charge = field_value(intent, "latest_charge")
    error = field_value(intent, "last_payment_error")
    return PaymentIntent(
        id=intent["id"],
        status=field_value(intent, "status", ""),
        amount=int(field_value(intent, "amount", 0)),
        currency=field_value(intent, "currency", ""),
        metadata=plain_dict(field_value(intent, "metadata")),
        charge_id=id_of(charge),
        transfer_id=id_of(field_value(charge, "transfer")) if not isinstance(charge, str) else "",
        application_fee_id=(
            id_of(field_value(charge, "application_fee")) if not isinstance(charge, str) else ""
        ),
        failure_message=str(field_value(error, "message", "")),
    )


def charge_payment_intent_id(charge_id: str) -> str:
    return id_of(
        field_value(call(stripe_client().v1.charges.retrieve, charge_id), "payment_intent")
    )
