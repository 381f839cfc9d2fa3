"""Payouts from a connected account's balance to its bank account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import stripe

from payments.gateway.client import stripe_client
from payments.gateway.errors import translate
from payments.gateway.fields import field_value, timestamp


@dataclass(frozen=True)
class PayoutSummary:
    id: str
    amount: int
    currency: str
    status: str
    arrival_date: datetime | None
    created: datetime | None
    failure_code: str
    failure_message: str


def _payout_summary(payout: Any) -> PayoutSummary:
    return PayoutSummary(
        id=payout["id"],
        amount=int(payout["amount"]),
        currency=payout["currency"],
        status=field_value(payout, "status", ""),
        arrival_date=timestamp(field_value(payout, "arrival_date")),
        created=timestamp(field_value(payout, "created")),
        failure_code=field_value(payout, "failure_code", ""),
        failure_message=field_value(payout, "failure_message", ""),
    )


def payouts_list(*, stripe_account_id: str, limit: int = 100) -> list[PayoutSummary]:
    """Payouts from the account's balance to its bank, newest first (auto-paginated)."""
    try:
        page = stripe_client().v1.payouts.list(
            params={"limit": min(limit, 100)}, options={"stripe_account": stripe_account_id}
        )
        payouts = []
        for payout in page.auto_paging_iter():
            payouts.append(_payout_summary(payout))
            if len(payouts) >= limit:
                break
    except stripe.StripeError as error:
        raise translate(error) from error
    return payouts


def payout_retrieve(*, stripe_account_id: str, payout_id: str) -> PayoutSummary:
    try:
        payout = stripe_client().v1.payouts.retrieve(
            payout_id, options={"stripe_account": stripe_account_id}
        )
    except stripe.StripeError as error:
        raise translate(error) from error
    return _payout_summary(payout)
