"""Balances and balance transactions: a connected account's own, and the platform's
available balance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import stripe

from payments.gateway.client import stripe_client
from payments.gateway.errors import call, translate
from payments.gateway.fields import field_value, timestamp


@dataclass(frozen=True)
class Amount:
    amount: int
    currency: str


@dataclass(frozen=True)
class BalanceSnapshot:
    available: list[Amount]
    pending: list[Amount]


def balance_retrieve(*, stripe_account_id: str) -> BalanceSnapshot:
    """The connected account's own balance (``Stripe-Account`` header)."""
    try:
        balance = stripe_client().v1.balance.retrieve(options={"stripe_account": stripe_account_id})
    except stripe.StripeError as error:
        raise translate(error) from error
    return BalanceSnapshot(
        available=[Amount(int(item["amount"]), item["currency"]) for item in balance["available"]],
        pending=[Amount(int(item["amount"]), item["currency"]) for item in balance["pending"]],
    )


def platform_available_balance(currency: str) -> int:
    """The platform's available balance in ``currency`` (minor units)."""
    balance = call(stripe_client().v1.balance.retrieve)
    for entry in field_value(balance, "available", []) or []:
        if field_value(entry, "currency", "") == currency:
            return int(field_value(entry, "amount", 0))
    return 0


@dataclass(frozen=True)
class BalanceTransactionSummary:
    id: str
    type: str
    amount: int
    fee: int
    net: int
    currency: str
    created: datetime | None
    available_on: datetime | None
    status: str
    source: str


def balance_transactions_list(
    *, stripe_account_id: str, limit: int = 10_000
) -> list[BalanceTransactionSummary]:
    """The connected account's balance transactions (its ledger), newest first."""
    try:
        page = stripe_client().v1.balance_transactions.list(
            params={"limit": 100}, options={"stripe_account": stripe_account_id}
        )
        rows = []
        for txn in page.auto_paging_iter():
            source = field_value(txn, "source", "")
            rows.append(
                BalanceTransactionSummary(
                    id=txn["id"],
                    type=txn["type"],
                    amount=int(txn["amount"]),
                    fee=int(field_value(txn, "fee", 0)),
                    net=int(txn["net"]),
                    currency=txn["currency"],
                    created=timestamp(field_value(txn, "created")),
                    available_on=timestamp(field_value(txn, "available_on")),
                    status=field_value(txn, "status", ""),
                    source=source if isinstance(source, str) else source["id"],
                )
            )
            if len(rows) >= limit:
                break
    except stripe.StripeError as error:
        raise translate(error) from error
    return rows
