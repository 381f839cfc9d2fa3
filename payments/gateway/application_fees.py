"""Application fees: the platform's share of a destination charge."""

from __future__ import annotations

from payments.gateway.client import stripe_client
from payments.gateway.errors import call
from payments.gateway.fields import field_value


def application_fee_amount_refunded(application_fee_id: str) -> int:
    """How much of an application fee has been refunded so far, in minor units."""
    fee = call(stripe_client().v1.application_fees.retrieve, application_fee_id)
    return int(field_value(fee, "amount_refunded", 0))
