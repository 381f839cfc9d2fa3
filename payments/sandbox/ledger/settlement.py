"""Settling a succeeded charge: its balance transaction, net of Stripe's processing fee, and
for a destination charge the transfer to the connected account and the application fee."""

from __future__ import annotations

from typing import Any

from payments.sandbox import events, store
from payments.sandbox.ledger.balances import available_on_after, balance_transaction, lock_balance
from payments.sandbox.ledger.transfers import transfer_book

# Stripe's standard card pricing per settlement currency, as (basis points, fixed fee in
# minor units) (https://stripe.com/pricing and its country pages: domestic cards).
FEE_SCHEDULES: dict[str, tuple[int, int]] = {
    "usd": (290, 30),
    "cad": (290, 30),
    "gbp": (150, 20),
    "eur": (150, 25),
    "chf": (290, 30),
    "aud": (170, 30),
    "jpy": (360, 0),
}
DEFAULT_FEE_SCHEDULE = (290, 30)


def stripe_fee(amount: int, currency: str = "usd") -> int:
    """The simulated processing fee: the currency's percentage, rounded half up, plus its
    fixed part (2.9% + 30 for a currency without a schedule of its own)."""
    bps, fixed = FEE_SCHEDULES.get(currency.lower(), DEFAULT_FEE_SCHEDULE)
    return (amount * bps + 5000) // 10000 + fixed


def settle_charge(
    *,
    charge: dict[str, Any],
    available_immediately: bool = False,
) -> dict[str, Any]:
    """Book a succeeded platform charge and, for a destination charge, its real effects:
    the transfer to the connected account (a ``py_`` payment there), the application fee,
    and balance transactions on both sides. Records the events. Returns the saved charge."""
    amount, currency = charge["amount"], charge["currency"]
    destination = (charge.get("transfer_data") or {}).get("destination")
    lock_balance("")
    if destination:
        lock_balance(destination)
    fee = stripe_fee(amount, currency)
    now = store.now()
    available_on = now if available_immediately else available_on_after(now)
    charge_txn = balance_transaction(
        account="",
        amount=amount,
        currency=currency,
        type="charge",
        source=charge["id"],
        reporting_category="charge",
        description=charge.get("description"),
        fee=fee,
        fee_details=[
            {
                "amount": fee,
                "application": None,
                "currency": currency,
                "description": "Stripe processing fees",
                "type": "stripe_fee",
            }
        ],
        available_on=available_on,
    )
    charge["balance_transaction"] = charge_txn["id"]
    store.insert(charge)
    events.record("charge.succeeded", charge)
    if destination:
        transfer_amount = charge["transfer_data"].get("amount") or amount
        transfer, payment = transfer_book(
            amount=transfer_amount,
            currency=currency,
            destination=destination,
            source_transaction=charge["id"],
            transfer_group=charge.get("transfer_group"),
            metadata={},
            description=None,
            available_on=available_on,
            application_fee_amount=charge.get("application_fee_amount")
            if not charge["transfer_data"].get("amount")
            else None,
        )
        charge["transfer"] = transfer["id"]
        if payment.get("application_fee"):
            fee_row = store.get(payment["application_fee"], "application_fee")
            fee_row.data["originating_transaction"] = charge["id"]
            store.save(fee_row)
            charge["application_fee"] = fee_row.stripe_id
        row = store.get(charge["id"], "charge")
        row.data = charge
        store.save(row)
        events.record("transfer.created", transfer)
        if charge.get("application_fee"):
            events.record(
                "application_fee.created",
                store.get(charge["application_fee"], "application_fee").data,
            )
    return charge
