"""Application fees: the platform's share of a destination charge, and refunds of it."""

from __future__ import annotations

from typing import Any

from payments.sandbox import errors, events, store
from payments.sandbox.ledger.balances import balance_transaction, lock_balance

PLATFORM_APPLICATION_ID = "ca_localsandboxplatform"


def application_fee_create(
    *,
    fee_id: str,
    amount: int,
    currency: str,
    account: str,
    payment_id: str,
    originating_transaction: str | None,
    available_on: int,
) -> None:
    """Record the application fee ``fee_id`` the platform takes from the ``py_`` payment
    ``payment_id`` on ``account``, and its balance transaction on the platform (the caller
    holds ``lock_balance("")``)."""
    fee_txn = balance_transaction(
        account="",
        amount=amount,
        currency=currency,
        type="application_fee",
        source=fee_id,
        reporting_category="platform_earning",
        available_on=available_on,
    )
    store.insert(
        {
            "id": fee_id,
            "object": "application_fee",
            "account": account,
            "amount": amount,
            "amount_refunded": 0,
            "application": PLATFORM_APPLICATION_ID,
            "balance_transaction": fee_txn["id"],
            "charge": payment_id,
            "created": store.now(),
            "currency": currency,
            "fee_source": {"charge": payment_id, "type": "charge"},
            "livemode": False,
            "originating_transaction": originating_transaction,
            "refunded": False,
            "refunds": {
                "object": "list",
                "data": [],
                "has_more": False,
                "total_count": 0,
                "url": f"/v1/application_fees/{fee_id}/refunds",
            },
        }
    )


def application_fee_refund(
    *, fee_id: str, amount: int | None = None, metadata: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Give (part of) an application fee back to the connected account."""
    lock_balance("")
    row = store.get(fee_id, "application_fee", account="", lock=True, kind="application fee")
    fee = row.data
    lock_balance(fee["account"])
    remaining = fee["amount"] - fee["amount_refunded"]
    amount = remaining if amount is None else amount
    if amount <= 0 or amount > remaining:
        raise errors.StripeError(
            f"Application fee {fee_id} has only {remaining} left to refund.", param="amount"
        )
    refund_id = store.new_id("fr_")
    txn = balance_transaction(
        account="",
        amount=-amount,
        currency=fee["currency"],
        type="application_fee_refund",
        source=refund_id,
        reporting_category="platform_earning_refund",
    )
    balance_transaction(
        account=fee["account"],
        amount=amount,
        currency=fee["currency"],
        type="application_fee_refund",
        source=refund_id,
        reporting_category="fee",
    )
    fee_refund = {
        "id": refund_id,
        "object": "fee_refund",
        "amount": amount,
        "balance_transaction": txn["id"],
        "created": store.now(),
        "currency": fee["currency"],
        "fee": fee_id,
        "metadata": dict(metadata or {}),
    }
    store.insert(fee_refund)
    fee["amount_refunded"] += amount
    fee["refunded"] = fee["amount_refunded"] >= fee["amount"]
    fee["refunds"]["data"] = [fee_refund, *fee["refunds"]["data"]][:10]
    fee["refunds"]["total_count"] += 1
    store.save(row)
    events.record("application_fee.refunded", fee)
    return fee_refund
