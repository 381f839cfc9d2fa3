"""Balances and balance transactions: a connected account's own, and the platform's
available balance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import stripe

from payments.gateway.client import stripe_client
from payments.gateway.errors import call, translate
from payments.gateway.fields import field_value, id_of, timestamp


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


@dataclass(frozen=True)
class LedgerLine:
    """One balance transaction with what its source links to, for reconciliation."""

    id: str
    type: str
    reporting_category: str
    amount: int
    fee: int
    currency: str
    created: int
    source_id: str
    # The ids the expanded source names: a reversal's ``transfer``/``source_refund``, a
    # connected account's payment's ``source_transfer``, its refund's
    # ``source_transfer_reversal``, a fee refund's ``fee``.
    links: dict[str, str]


_LINKS = ("transfer", "source_refund", "source_transfer", "source_transfer_reversal", "fee")


def balance_transactions_between(
    *, stripe_account_id: str = "", created_gte: int | None, created_lt: int
) -> list[LedgerLine]:
    """The platform's (or, with ``stripe_account_id``, a connected account's) balance
    transactions created in ``[created_gte, created_lt)`` (Unix seconds, Stripe's clock),
    oldest first, each with its source expanded."""
    created: dict[str, int] = {"lt": created_lt}
    if created_gte is not None:
        created["gte"] = created_gte
    params: dict[str, Any] = {"limit": 100, "created": created, "expand": ["data.source"]}
    options: stripe.RequestOptions = {}
    if stripe_account_id:
        options["stripe_account"] = stripe_account_id
    try:
        page = stripe_client().v1.balance_transactions.list(
            params=params,  # type: ignore[arg-type]
            options=options,
        )
        lines = []
        for txn in page.auto_paging_iter():
            source = field_value(txn, "source")
            links: dict[str, str] = {}
            if source is not None and not isinstance(source, str):
                for name in _LINKS:
                    value = field_value(source, name)
                    if value:
                        links[name] = value if isinstance(value, str) else value["id"]
            lines.append(
                LedgerLine(
                    id=txn["id"],
                    type=txn["type"],
                    reporting_category=field_value(txn, "reporting_category", ""),
                    amount=int(txn["amount"]),
                    fee=int(field_value(txn, "fee", 0)),
                    currency=txn["currency"],
                    created=int(txn["created"]),
                    source_id=id_of(source),
                    links=links,
                )
            )
    except stripe.StripeError as error:
        raise translate(error) from error
    lines.reverse()
    return lines


def balance_transactions_for_source(source_id: str) -> list[str]:
    """The ids of the platform's balance transactions that ``source_id`` made."""
    page = call(
        stripe_client().v1.balance_transactions.list,
        params={"source": source_id, "limit": 10},
    )
    return [txn["id"] for txn in page.data]
