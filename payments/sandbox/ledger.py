"""Money on the local Stripe: charges, application fees, transfers and reversals, refunds,
disputes, balance transactions, balances and payouts.

Every movement is a balance transaction on the account whose balance it changes (the platform
is account ""), written under that balance's row lock, so balances always equal the sum of
their balance transactions. Stripe's processing fee is simulated as 2.9% + 30 minor units
(see docs/stripe-sandbox.md).
"""

from __future__ import annotations

import copy
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from marketplace.money import format_money
from payments.sandbox import accounts, errors, events, store
from payments.sandbox.models import SandboxState, StripeObject

STRIPE_FEE_BPS_TENTHS = 29  # 2.9 %
STRIPE_FEE_FIXED = 30
DISPUTE_FEE = 1500
PLATFORM_APPLICATION_ID = "ca_localsandboxplatform"
PAYOUT_TRANSIT_SECONDS = 86400


def stripe_fee(amount: int) -> int:
    """The simulated processing fee: 2.9% rounded half up, plus 30 minor units."""
    return (amount * STRIPE_FEE_BPS_TENTHS + 500) // 1000 + STRIPE_FEE_FIXED


def lock_balance(account: str) -> None:
    """Take the row lock guarding ``account``'s balance ("" = the platform).

    Callers that lock two balances lock the platform first, then the connected account.
    """
    if account:
        StripeObject.objects.select_for_update().filter(
            stripe_id=account, object_type="account"
        ).first()
    else:
        store.state()
        SandboxState.objects.select_for_update().filter(pk=1).first()


def available_delay() -> int:
    return store.state().available_delay_seconds


# --- balance transactions and balances -----------------------------------------------------


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


def payouts_for(*, account: str) -> list[dict[str, Any]]:
    rows = []
    for row in StripeObject.objects.filter(object_type="payout", account=account)[:50]:
        payout = row.data
        rows.append(
            {
                **payout,
                "amount_display": format_money(payout["amount"], payout["currency"]),
                "arrival_display": datetime.fromtimestamp(payout["arrival_date"], UTC).strftime(
                    "%Y-%m-%d %H:%M UTC"
                ),
            }
        )
    return rows


# --- charges (made by Checkout) ------------------------------------------------------------


def card_details(card: dict[str, Any]) -> dict[str, Any]:
    number = card["number"]
    brand = {"4": "visa", "5": "mastercard", "3": "amex", "6": "discover"}.get(number[0], "visa")
    return {
        "amount_authorized": None,
        "authorization_code": None,
        "brand": brand,
        "capture_before": None,
        "checks": {
            "address_line1_check": None,
            "address_postal_code_check": None,
            "cvc_check": "pass",
        },
        "country": "US",
        "description": None,
        "exp_month": card.get("exp_month", 12),
        "exp_year": card.get("exp_year", 2034),
        "extended_authorization": None,
        "fingerprint": "fp" + number[-8:],
        "funding": "credit",
        "iin": number[:6],
        "incremental_authorization": None,
        "installments": None,
        "issuer": "Stripe Test (multi-country)",
        "last4": number[-4:],
        "mandate": None,
        "moto": None,
        "multicapture": None,
        "network": brand,
        "network_token": {"used": False},
        "network_transaction_id": None,
        "overcapture": None,
        "regulated_status": "unregulated",
        "three_d_secure": {
            "authentication_flow": "challenge",
            "result": "authenticated",
            "version": "2.2.0",
        }
        if card.get("three_d_secure")
        else None,
        "wallet": None,
    }


def charge_shape(
    *,
    prefix: str,
    amount: int,
    currency: str,
    payment_intent: str | None,
    card: dict[str, Any] | None,
    billing: dict[str, Any] | None = None,
    status: str = "succeeded",
    failure: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    description: str | None = None,
    receipt_email: str | None = None,
    transfer_data: dict[str, Any] | None = None,
    on_behalf_of: str | None = None,
    transfer_group: str | None = None,
    application_fee_amount: int | None = None,
    source_transfer: str | None = None,
    statement_descriptor: str | None = None,
) -> dict[str, Any]:
    charge_id = store.new_id(prefix)
    succeeded = status == "succeeded"
    return {
        "id": charge_id,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount if succeeded else 0,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": application_fee_amount,
        "authorization_code": None,
        "balance_transaction": None,
        "billing_details": {
            "address": {
                "city": None,
                "country": None,
                "line1": None,
                "line2": None,
                "postal_code": None,
                "state": None,
            },
            "email": (billing or {}).get("email"),
            "name": (billing or {}).get("name"),
            "phone": None,
            "tax_id": None,
        },
        "calculated_statement_descriptor": statement_descriptor or "COACH CONNECT",
        "captured": succeeded,
        "created": store.now(),
        "currency": currency,
        "customer": None,
        "description": description,
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": (failure or {}).get("code"),
        "failure_message": (failure or {}).get("message"),
        "fraud_details": {},
        "level3": None,
        "livemode": False,
        "metadata": dict(metadata or {}),
        "on_behalf_of": on_behalf_of,
        "outcome": {
            "advice_code": (failure or {}).get("advice_code"),
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "approved_by_network" if succeeded else "declined_by_network",
            "reason": (failure or {}).get("decline_code"),
            "risk_level": "normal",
            "risk_score": 20,
            "rule": None,
            "seller_message": "Payment complete."
            if succeeded
            else "The bank did not return any further details with this decline.",
            "type": "authorized" if succeeded else "issuer_declined",
        },
        "paid": succeeded,
        "payment_intent": payment_intent,
        "payment_method": store.new_id("pm_") if card else None,
        "payment_method_details": {"card": card_details(card), "type": "card"} if card else None,
        "presentment_details": None,
        "radar_options": {},
        "receipt_email": receipt_email,
        "receipt_number": None,
        "receipt_url": f"{settings.SITE_URL}/_stripe/receipts/{charge_id}" if succeeded else None,
        "refunded": False,
        "refunds": {
            "object": "list",
            "data": [],
            "has_more": False,
            "total_count": 0,
            "url": f"/v1/charges/{charge_id}/refunds",
        },
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": source_transfer,
        "statement_descriptor": statement_descriptor,
        "statement_descriptor_suffix": None,
        "status": status,
        "transfer": None,
        "transfer_data": transfer_data,
        "transfer_group": transfer_group,
    }


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
    fee = stripe_fee(amount)
    now = store.now()
    available_on = now if available_immediately else now + available_delay()
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
        transfer, payment = _transfer(
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


def _transfer(
    *,
    amount: int,
    currency: str,
    destination: str,
    source_transaction: str | None,
    transfer_group: str | None,
    metadata: dict[str, Any],
    description: str | None,
    available_on: int,
    application_fee_amount: int | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Move ``amount`` from the platform to ``destination`` (both balances locked by caller).

    Creates the transfer, the ``py_`` payment on the connected account and their balance
    transactions; with ``application_fee_amount`` (destination charge) also the application
    fee taken from that payment."""
    transfer_id = store.new_id("tr_")
    payment_id = store.new_id("py_")
    platform_txn = balance_transaction(
        account="",
        amount=-amount,
        currency=currency,
        type="transfer",
        source=transfer_id,
        reporting_category="transfer",
        available_on=available_on,
    )
    fee_id = store.new_id("fee_") if application_fee_amount else None
    fee_details = []
    if application_fee_amount:
        fee_details = [
            {
                "amount": application_fee_amount,
                "application": PLATFORM_APPLICATION_ID,
                "currency": currency,
                "description": "Coach Connect application fee",
                "type": "application_fee",
            }
        ]
    payment_txn = balance_transaction(
        account=destination,
        amount=amount,
        currency=currency,
        type="payment",
        source=payment_id,
        reporting_category="charge",
        fee=application_fee_amount or 0,
        fee_details=fee_details,
        available_on=available_on,
    )
    payment = charge_shape(
        prefix="py_",
        amount=amount,
        currency=currency,
        payment_intent=None,
        card=None,
        source_transfer=transfer_id,
        application_fee_amount=application_fee_amount,
    )
    payment["id"] = payment_id
    payment["refunds"]["url"] = f"/v1/charges/{payment_id}/refunds"
    payment["receipt_url"] = None
    payment["balance_transaction"] = payment_txn["id"]
    payment["payment_method_details"] = {"stripe_account": {}, "type": "stripe_account"}
    payment["application_fee"] = fee_id
    store.insert(payment, account=destination)
    transfer = {
        "id": transfer_id,
        "object": "transfer",
        "amount": amount,
        "amount_reversed": 0,
        "balance_transaction": platform_txn["id"],
        "created": store.now(),
        "currency": currency,
        "description": description,
        "destination": destination,
        "destination_payment": payment_id,
        "livemode": False,
        "metadata": dict(metadata),
        "reversals": {
            "object": "list",
            "data": [],
            "has_more": False,
            "total_count": 0,
            "url": f"/v1/transfers/{transfer_id}/reversals",
        },
        "reversed": False,
        "source_transaction": source_transaction,
        "source_type": "card",
        "transfer_group": transfer_group,
    }
    store.insert(transfer)
    if application_fee_amount and fee_id:
        fee_txn = balance_transaction(
            account="",
            amount=application_fee_amount,
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
                "account": destination,
                "amount": application_fee_amount,
                "amount_refunded": 0,
                "application": PLATFORM_APPLICATION_ID,
                "balance_transaction": fee_txn["id"],
                "charge": payment_id,
                "created": store.now(),
                "currency": currency,
                "fee_source": {"charge": payment_id, "type": "charge"},
                "livemode": False,
                "originating_transaction": source_transaction,
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
    return transfer, payment


def transfer_create(*, params: dict[str, Any]) -> dict[str, Any]:
    """A separate transfer from the platform's balance (``transfers.create``)."""
    amount, currency = params["amount"], params["currency"].lower()
    destination = params["destination"]
    if amount <= 0:
        raise errors.invalid(
            "amount", "This value must be greater than or equal to 1.", "parameter_invalid_integer"
        )
    if not accounts.can_receive_transfers(destination):
        raise errors.StripeError(
            "Your destination account needs to have at least one of the following capabilities "
            "enabled: transfers, crypto_transfers, legacy_payments",
            code="insufficient_capabilities_for_transfer",
            param="destination",
        )
    lock_balance("")
    lock_balance(destination)
    source_transaction = params.get("source_transaction")
    if source_transaction:
        source = store.get(
            source_transaction, "charge", account="", param="source_transaction", kind="charge"
        )
        if source.data["currency"] != currency:
            raise errors.invalid(
                "currency",
                "The currency of source_transaction's balance "
                "transaction must match the transfer currency.",
            )
        already = sum(
            row.data["amount"] - row.data["amount_reversed"]
            for row in StripeObject.objects.filter(
                object_type="transfer", data__source_transaction=source_transaction
            )
        )
        transferable = source.data["amount"] - source.data["amount_refunded"]
        if already + amount > transferable:
            raise errors.StripeError(
                "Insufficient funds in source_transaction to create this transfer "
                f"(transferable: {transferable - already}).",
                code="balance_insufficient",
                param="amount",
            )
        source_txn = store.get(source.data["balance_transaction"], "balance_transaction").data
        available_on = max(source_txn["available_on"], store.now())
    else:
        available = balance_amounts("").get(currency, {}).get("available", 0)
        if available < amount:
            raise errors.StripeError(
                "You have insufficient available funds in your Stripe account. Try adding funds "
                "directly to your available balance by creating Charges using the "
                "4000000000000077 test card. See: https://stripe.com/docs/testing#available-balance",
                code="balance_insufficient",
            )
        available_on = store.now()
    transfer, _ = _transfer(
        amount=amount,
        currency=currency,
        destination=destination,
        source_transaction=source_transaction,
        transfer_group=params.get("transfer_group"),
        metadata=params.get("metadata") or {},
        description=params.get("description"),
        available_on=available_on,
    )
    events.record("transfer.created", transfer)
    return transfer


def transfer_reverse(
    *,
    transfer_id: str,
    amount: int | None,
    metadata: dict[str, Any] | None = None,
    refund_application_fee: bool = False,
    source_refund: str | None = None,
) -> dict[str, Any]:
    """Pull money back from the connected account (``transfers.reversals.create``)."""
    lock_balance("")
    row = store.get(transfer_id, "transfer", account="", lock=True, kind="transfer")
    transfer = row.data
    lock_balance(transfer["destination"])
    remaining = transfer["amount"] - transfer["amount_reversed"]
    amount = remaining if amount is None else amount
    if amount <= 0 or amount > remaining:
        raise errors.StripeError(
            f"Transfer {transfer_id} has only {remaining} {transfer['currency']} left to reverse; "
            f"you asked for {amount}.",
            code="transfer_reversal_amount_too_large" if amount > 0 else None,
            param="amount",
        )
    currency = transfer["currency"]
    reversal_id = store.new_id("trr_")
    platform_txn = balance_transaction(
        account="",
        amount=amount,
        currency=currency,
        type="transfer_refund",
        source=reversal_id,
        reporting_category="transfer_reversal",
    )
    payment_refund_id = store.new_id("pyr_")
    balance_transaction(
        account=transfer["destination"],
        amount=-amount,
        currency=currency,
        type="payment_refund",
        source=payment_refund_id,
        reporting_category="refund",
    )
    payment_row = store.get(transfer["destination_payment"], "charge", lock=True)
    payment_row.data["amount_refunded"] += amount
    payment_row.data["refunded"] = payment_row.data["amount_refunded"] >= payment_row.data["amount"]
    store.save(payment_row)
    reversal = {
        "id": reversal_id,
        "object": "transfer_reversal",
        "amount": amount,
        "balance_transaction": platform_txn["id"],
        "created": store.now(),
        "currency": currency,
        "destination_payment_refund": payment_refund_id,
        "metadata": dict(metadata or {}),
        "source_refund": source_refund,
        "transfer": transfer_id,
    }
    store.insert(reversal)
    before = copy.deepcopy(transfer)
    transfer["amount_reversed"] += amount
    transfer["reversed"] = transfer["amount_reversed"] >= transfer["amount"]
    transfer["reversals"]["data"] = [reversal, *transfer["reversals"]["data"]][:10]
    transfer["reversals"]["total_count"] += 1
    store.save(row)
    if refund_application_fee and payment_row.data.get("application_fee"):
        fee = store.get(payment_row.data["application_fee"], "application_fee").data
        share = (fee["amount"] * amount + transfer["amount"] // 2) // transfer["amount"]
        application_fee_refund(
            fee_id=fee["id"], amount=min(share, fee["amount"] - fee["amount_refunded"])
        )
    events.record(
        "transfer.reversed",
        transfer,
        previous_attributes={
            "amount_reversed": before["amount_reversed"],
            "reversed": before["reversed"],
        },
    )
    return reversal


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


# --- refunds -------------------------------------------------------------------------------


def refund_create(*, params: dict[str, Any]) -> dict[str, Any]:
    """``refunds.create`` on a platform charge (by ``charge`` or ``payment_intent``)."""
    if not params.get("charge") and not params.get("payment_intent"):
        raise errors.missing("charge")
    lock_balance("")
    if params.get("payment_intent"):
        intent = store.get(
            params["payment_intent"], "payment_intent", account="", param="payment_intent"
        ).data
        if not intent.get("latest_charge") or intent["status"] != "succeeded":
            raise errors.StripeError(
                f"This PaymentIntent ({intent['id']}) does not have a successful charge to refund.",
                code="charge_not_refundable" if intent.get("latest_charge") else None,
                param="payment_intent",
            )
        charge_id = intent["latest_charge"]
    else:
        charge_id = params["charge"]
    row = store.get(charge_id, "charge", account="", lock=True, param="charge")
    charge = row.data
    if charge["status"] != "succeeded":
        raise errors.StripeError(
            f"Charge {charge_id} did not succeed; it cannot be refunded.",
            code="charge_not_refundable",
            param="charge",
        )
    if charge["disputed"]:
        raise errors.StripeError(
            f"Charge {charge_id} has been charged back; cannot issue a refund.",
            code="charge_disputed",
            param="charge",
        )
    remaining = charge["amount"] - charge["amount_refunded"]
    if remaining <= 0:
        raise errors.StripeError(
            f"Charge {charge_id} has already been refunded.",
            code="charge_already_refunded",
            param="charge",
        )
    amount = params.get("amount", remaining)
    if amount <= 0:
        raise errors.invalid(
            "amount", "Refund amount must be positive.", "parameter_invalid_integer"
        )
    if amount > remaining:
        raise errors.StripeError(
            f"Refund amount ({format_money(amount, charge['currency'])}) is greater than "
            f"unrefunded amount on charge ({format_money(remaining, charge['currency'])})",
            code="amount_too_large",
            param="amount",
        )
    if (params.get("reverse_transfer") or params.get("refund_application_fee")) and not charge[
        "transfer"
    ]:
        raise errors.StripeError(
            "reverse_transfer and refund_application_fee apply only to a charge with a transfer "
            "(a destination charge).",
            param="reverse_transfer"
            if params.get("reverse_transfer")
            else "refund_application_fee",
        )
    refund_id = store.new_id("re_")
    txn = balance_transaction(
        account="",
        amount=-amount,
        currency=charge["currency"],
        type="refund",
        source=refund_id,
        reporting_category="refund",
    )
    refund: dict[str, Any] = {
        "id": refund_id,
        "object": "refund",
        "amount": amount,
        "balance_transaction": txn["id"],
        "charge": charge_id,
        "created": store.now(),
        "currency": charge["currency"],
        "description": None,
        "destination_details": {
            "card": {
                "reference_status": "pending",
                "reference_type": "acquirer_reference_number",
                "type": "refund",
                "reference": None,
            },
            "type": "card",
        },
        "failure_balance_transaction": None,
        "failure_reason": None,
        "instructions_email": params.get("instructions_email"),
        "metadata": dict(params.get("metadata") or {}),
        "next_action": None,
        "payment_intent": charge["payment_intent"],
        "pending_reason": None,
        "presentment_details": None,
        "reason": params.get("reason"),
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }
    store.insert(refund)
    if params.get("reverse_transfer"):
        transfer = store.get(charge["transfer"], "transfer").data
        # Stripe reverses the transfer in proportion to the part of the charge refunded.
        share = (transfer["amount"] * amount + charge["amount"] // 2) // charge["amount"]
        share = min(share, transfer["amount"] - transfer["amount_reversed"])
        if share > 0:
            reversal = transfer_reverse(
                transfer_id=transfer["id"],
                amount=share,
                refund_application_fee=bool(params.get("refund_application_fee")),
                source_refund=refund_id,
            )
            refund["transfer_reversal"] = reversal["id"]
    elif params.get("refund_application_fee") and charge.get("application_fee"):
        fee = store.get(charge["application_fee"], "application_fee").data
        share = (fee["amount"] * amount + charge["amount"] // 2) // charge["amount"]
        share = min(share, fee["amount"] - fee["amount_refunded"])
        if share > 0:
            application_fee_refund(fee_id=fee["id"], amount=share)
    refund_row = store.get(refund_id, "refund")
    refund_row.data = refund
    store.save(refund_row)
    before = {"amount_refunded": charge["amount_refunded"], "refunded": charge["refunded"]}
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
    charge["refunds"]["data"] = [refund, *charge["refunds"]["data"]][:10]
    charge["refunds"]["total_count"] += 1
    store.save(row)
    events.record("charge.refunded", charge, previous_attributes=before)
    events.record("refund.created", refund)
    return refund


# --- disputes ------------------------------------------------------------------------------


def dispute_create(*, charge_id: str, reason: str = "fraudulent") -> dict[str, Any]:
    """The cardholder disputes a charge: funds and a dispute fee leave the platform."""
    lock_balance("")
    row = store.get(charge_id, "charge", account="", lock=True, param="charge")
    charge = row.data
    if charge["disputed"]:
        raise errors.StripeError(f"Charge {charge_id} is already disputed.", param="charge")
    dispute_id = store.new_id("du_")
    amount = charge["amount"] - charge["amount_refunded"]
    txn = balance_transaction(
        account="",
        amount=-amount,
        currency=charge["currency"],
        type="adjustment",
        source=dispute_id,
        reporting_category="dispute",
        description=f"Chargeback withdrawal for {charge_id}",
        fee=DISPUTE_FEE,
        fee_details=[
            {
                "amount": DISPUTE_FEE,
                "application": None,
                "currency": charge["currency"],
                "description": "Dispute fee",
                "type": "stripe_fee",
            }
        ],
    )
    evidence_fields = [
        "access_activity_log",
        "billing_address",
        "cancellation_policy",
        "cancellation_policy_disclosure",
        "cancellation_rebuttal",
        "customer_communication",
        "customer_email_address",
        "customer_name",
        "customer_purchase_ip",
        "customer_signature",
        "duplicate_charge_documentation",
        "duplicate_charge_explanation",
        "duplicate_charge_id",
        "product_description",
        "receipt",
        "refund_policy",
        "refund_policy_disclosure",
        "refund_refusal_explanation",
        "service_date",
        "service_documentation",
        "shipping_address",
        "shipping_carrier",
        "shipping_date",
        "shipping_documentation",
        "shipping_tracking_number",
        "uncategorized_file",
        "uncategorized_text",
    ]
    dispute = {
        "id": dispute_id,
        "object": "dispute",
        "amount": amount,
        "balance_transactions": [with_live_status(dict(txn))],
        "charge": charge_id,
        "created": store.now(),
        "currency": charge["currency"],
        "enhanced_eligibility_types": [],
        "evidence": {**{name: None for name in evidence_fields}, "enhanced_evidence": {}},
        "evidence_details": {
            "due_by": store.now() + 7 * 86400,
            "enhanced_eligibility": {},
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        },
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "network_reason_code": "10.4",
        "payment_intent": charge["payment_intent"],
        "payment_method_details": {
            "card": {"brand": "visa", "case_type": "chargeback", "network_reason_code": "10.4"},
            "type": "card",
        },
        "reason": reason,
        "status": "needs_response",
    }
    store.insert(dispute)
    charge["disputed"] = True
    store.save(row)
    events.record("charge.dispute.created", dispute)
    return dispute


# --- payouts -------------------------------------------------------------------------------


def _payout_due(schedule: dict[str, Any], day_start: int) -> bool:
    day = datetime.fromtimestamp(day_start, UTC)
    interval = schedule.get("interval")
    if interval == "daily":
        return True
    if interval == "weekly":
        return day.strftime("%A").lower() == schedule.get("weekly_anchor", "monday")
    if interval == "monthly":
        return day.day == int(schedule.get("monthly_anchor", 1))
    return False


def payout_create(
    *,
    account: str,
    amount: int,
    currency: str,
    automatic: bool,
    description: str | None = None,
    metadata: dict[str, Any] | None = None,
    at: int | None = None,
) -> dict[str, Any]:
    """Pay ``amount`` of ``account``'s available balance out to its bank account."""
    lock_balance(account)
    available = balance_amounts(account).get(currency, {}).get("available", 0)
    if amount <= 0 or amount > available:
        raise errors.StripeError(
            "You have insufficient funds in your Stripe account for this transfer. Your card "
            "balance is too low.",
            code="balance_insufficient",
            param="amount",
        )
    row = accounts.get_account(account)
    externals = row.data["external_accounts"]["data"]
    if not externals:
        raise errors.StripeError(
            "This account has no bank account to pay out to.", code="no_external_account"
        )
    payout_id = store.new_id("po_")
    created = store.now() if at is None else at
    txn = balance_transaction(
        account=account,
        amount=-amount,
        currency=currency,
        type="payout",
        source=payout_id,
        reporting_category="payout",
        available_on=created,
    )
    payout = {
        "id": payout_id,
        "object": "payout",
        "amount": amount,
        "application_fee": None,
        "application_fee_amount": None,
        "arrival_date": created + PAYOUT_TRANSIT_SECONDS,
        "automatic": automatic,
        "balance_transaction": txn["id"],
        "created": created,
        "currency": currency,
        "description": description or "STRIPE PAYOUT",
        "destination": externals[0]["id"],
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "livemode": False,
        "metadata": dict(metadata or {}),
        "method": "standard",
        "original_payout": None,
        "payout_method": None,
        "reconciliation_status": "not_applicable" if not automatic else "in_progress",
        "reversed_by": None,
        "source_type": "card",
        "statement_descriptor": None,
        "status": "pending",
        "trace_id": {"status": "pending", "value": None},
        "type": "bank_account",
    }
    store.insert(
        payout, account=account, internal={"fails": bool(row.internal.get("payout_failure"))}
    )
    events.record("payout.created", payout, account=account)
    return payout


def run_payouts(*, until: int, since: int) -> None:
    """Make the scheduled payouts of each day boundary in ``(since, until]`` and settle the
    payouts whose arrival date has come (``payout.paid`` or ``payout.failed``)."""
    first_day = (since // 86400 + 1) * 86400
    for row in StripeObject.objects.filter(object_type="account").order_by("id"):
        account = row.data
        if row.internal.get("deleted") or row.internal.get("deauthorized"):
            continue
        schedule = account["settings"]["payouts"]["schedule"]
        if not account["payouts_enabled"] or schedule.get("interval") == "manual":
            continue
        for day_start in range(first_day, until + 1, 86400):
            if not _payout_due(schedule, day_start):
                continue
            lock_balance(account["id"])
            available_now = balance_amounts(account["id"])
            for currency, then in _balance_at(account["id"], day_start).items():
                # What was available at the payout time, and still is (a later refund or
                # reversal may have taken some).
                amount = min(then, available_now.get(currency, {}).get("available", 0))
                if amount > 0 and account["external_accounts"]["data"]:
                    payout_create(
                        account=account["id"],
                        amount=amount,
                        currency=currency,
                        automatic=True,
                        at=day_start,
                    )
    for payout_row in StripeObject.objects.filter(object_type="payout", data__status="pending"):
        if payout_row.data["arrival_date"] <= until:
            _settle_payout(payout_row)


def _balance_at(account: str, moment: int) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for txn in StripeObject.objects.filter(
        object_type="balance_transaction", account=account
    ).values_list("data", flat=True):
        if txn["available_on"] <= moment:
            totals[txn["currency"]] += txn["net"]
    return totals


def _settle_payout(row: StripeObject) -> None:
    lock_balance(row.account)
    row = store.get(row.stripe_id, "payout", lock=True)
    payout = row.data
    if payout["status"] != "pending":
        return
    if row.internal.get("fails"):
        txn = balance_transaction(
            account=row.account,
            amount=payout["amount"],
            currency=payout["currency"],
            type="payout_failure",
            source=payout["id"],
            reporting_category="payout_reversal",
        )
        payout.update(
            {
                "status": "failed",
                "failure_code": "no_account",
                "failure_message": "The bank account details on file are probably incorrect. "
                "No bank account could be located with those details.",
                "failure_balance_transaction": txn["id"],
            }
        )
        store.save(row)
        events.record("payout.failed", payout, account=row.account)
        # As on Stripe, a failed payout disables payouts until the bank account is replaced.
        account_row = accounts.get_account(row.account, lock=True)
        before = copy.deepcopy(account_row.data)
        requirements = account_row.data["requirements"]
        requirements["currently_due"] = sorted({*requirements["currently_due"], "external_account"})
        requirements["eventually_due"] = sorted(
            {*requirements["eventually_due"], "external_account"}
        )
        requirements["errors"] = [
            {
                "code": "verification_failed_other",
                "reason": "Payout failed: no bank account with those details.",
                "requirement": "external_account",
            }
        ]
        account_row.data["payouts_enabled"] = False
        accounts.save_and_announce(account_row, before)
    else:
        payout["status"] = "paid"
        payout["reconciliation_status"] = "completed" if payout["automatic"] else "not_applicable"
        payout["trace_id"] = {"status": "supported", "value": "LOCALTRACE" + payout["id"][-8:]}
        store.save(row)
        events.record("payout.paid", payout, account=row.account)
