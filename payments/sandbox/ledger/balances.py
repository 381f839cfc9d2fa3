"""Balances and balance transactions: the row locks that guard each balance, the balance
transactions every movement writes, and balances summed from them."""

from __future__ import annotations

import copy
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings

from marketplace.money import format_money
from payments.sandbox import accounts, store
from payments.sandbox.models import StripeObject


def lock_balance(account: str) -> None:
    """Take the row lock guarding ``account``'s balance ("" = the platform).

    Callers that lock two balances lock the platform first, then the connected account.
    """
    if account:
        StripeObject.objects.select_for_update().filter(
            stripe_id=account, object_type="account"
        ).first()
    else:
        store.state(lock=True)


def available_delay() -> int:
    return store.current_state().available_delay_seconds


def available_on_after(created: int) -> int:
    """When funds from a charge made at ``created`` become available: after the fixed delay,
    or at 00:00 UTC after N business days (weekends skipped) when those are set."""
    state = store.current_state()
    if state.available_business_days is None:
        return created + state.available_delay_seconds
    day = datetime.fromtimestamp(created, tz=UTC).date()
    remaining = state.available_business_days
    while remaining > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            remaining -= 1
    if state.available_business_days == 0:
        return created
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def balance_transaction(
    *,
    account: str,
    amount: int,
    currency: str,
    type: str,
    source: str | None,
    reporting_category: str,
    description: str | None = None,
    fee: int = 0,
    fee_details: list[dict[str, Any]] | None = None,
    available_on: int | None = None,
) -> dict[str, Any]:
    """Write one balance transaction (the caller holds ``lock_balance(account)``)."""
    created = store.now()
    available_on = created if available_on is None else available_on
    txn = {
        "id": store.new_id("txn_"),
        "object": "balance_transaction",
        "amount": amount,
        "available_on": available_on,
        "balance_type": "payments",
        "created": created,
        "currency": currency,
        "description": description,
        "exchange_rate": None,
        "fee": fee,
        "fee_details": fee_details or [],
        "net": amount - fee,
        "reporting_category": reporting_category,
        "source": source,
        "status": "available" if available_on <= created else "pending",
        "type": type,
    }
    store.insert(txn, account=account)
    return txn


def with_live_status(txn: dict[str, Any], now: int | None = None) -> dict[str, Any]:
    """A balance transaction with ``status`` as of the sandbox clock."""
    now = store.now() if now is None else now
    txn["status"] = "available" if txn["available_on"] <= now else "pending"
    return txn


def balance_amounts(account: str) -> dict[str, dict[str, int]]:
    """``{currency: {"available": n, "pending": n}}`` from ``account``'s balance transactions."""
    now = store.now()
    totals: dict[str, dict[str, int]] = defaultdict(lambda: {"available": 0, "pending": 0})
    for txn in StripeObject.objects.filter(
        object_type="balance_transaction", account=account
    ).values_list("data", flat=True):
        bucket = "available" if txn["available_on"] <= now else "pending"
        totals[txn["currency"]][bucket] += txn["net"]
    return dict(totals)


def balance_shape(account: str) -> dict[str, Any]:
    amounts = balance_amounts(account)
    currencies = sorted(amounts) or [_default_currency(account)]

    def rows(bucket: str) -> list[dict[str, Any]]:
        return [
            {
                "amount": amounts.get(currency, {}).get(bucket, 0),
                "currency": currency,
                "source_types": {"card": amounts.get(currency, {}).get(bucket, 0)},
            }
            for currency in currencies
        ]

    zero = [
        {"amount": 0, "currency": currency, "source_types": {"card": 0}} for currency in currencies
    ]
    return {
        "object": "balance",
        "available": rows("available"),
        "connect_reserved": copy.deepcopy(zero),
        "instant_available": [{**row, "net_available": []} for row in rows("available")],
        "issuing": {"available": copy.deepcopy(zero)},
        "livemode": False,
        "pending": rows("pending"),
        "refund_and_dispute_prefunding": {
            "available": copy.deepcopy(zero),
            "pending": copy.deepcopy(zero),
        },
    }


def _default_currency(account: str) -> str:
    if account:
        return accounts.get_account(account).data["default_currency"]
    return settings.PLATFORM_CURRENCY


def balance_rows(*, account: str) -> list[dict[str, Any]]:
    """For the Express dashboard: formatted available and pending amounts per currency."""
    return [
        {
            "currency": currency,
            "available_display": format_money(values["available"], currency),
            "pending_display": format_money(values["pending"], currency),
        }
        for currency, values in sorted(balance_amounts(account).items())
    ]
