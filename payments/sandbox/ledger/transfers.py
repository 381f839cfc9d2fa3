"""Transfers from the platform to connected accounts, and their reversals."""

from __future__ import annotations

import copy
from typing import Any

from payments.sandbox import accounts, errors, events, regions, store
from payments.sandbox.ledger.application_fees import (
    PLATFORM_APPLICATION_ID,
    application_fee_create,
    application_fee_refund,
)
from payments.sandbox.ledger.balances import balance_amounts, balance_transaction, lock_balance
from payments.sandbox.ledger.charges import charge_shape
from payments.sandbox.models import StripeObject


def transfer_book(
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
    destination_available_on = available_on
    if accounts.service_agreement(accounts.get_account(destination).data) == "recipient":
        destination_available_on += regions.RECIPIENT_AVAILABILITY_DELAY_SECONDS
    payment_txn = balance_transaction(
        account=destination,
        amount=amount,
        currency=currency,
        type="payment",
        source=payment_id,
        reporting_category="charge",
        fee=application_fee_amount or 0,
        fee_details=fee_details,
        available_on=destination_available_on,
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
        application_fee_create(
            fee_id=fee_id,
            amount=application_fee_amount,
            currency=currency,
            account=destination,
            payment_id=payment_id,
            originating_transaction=source_transaction,
            available_on=available_on,
        )
    return transfer, payment


# Stripe's words for the two cross-border refusals, as its API answers them.
FULL_AGREEMENT_ABROAD = (
    "Funds can't be sent to accounts located in {country} when the account is under the "
    "`full` service agreement. To learn more, see "
    "https://stripe.com/docs/connect/service-agreement-types."
)
OUTSIDE_PLATFORM_REGION = (
    "Funds can't be sent to accounts located in {country} because it's restricted outside of "
    "your platform's region"
)


def _check_cross_border(destination: str) -> None:
    """A transfer to an account outside the platform's region is a cross-border payout:
    only to a ``recipient`` account, from and to the countries that allow it."""
    account = accounts.get_account(destination).data
    country = account["country"]
    if regions.same_region(country, regions.platform_country()):
        return
    if accounts.service_agreement(account) != "recipient":
        raise errors.StripeError(
            FULL_AGREEMENT_ABROAD.format(country=country),
            code="transfers_not_allowed",
            param="destination",
        )
    if not regions.cross_border_payout_allowed(destination_country=country):
        raise errors.StripeError(
            OUTSIDE_PLATFORM_REGION.format(country=country),
            code="transfers_not_allowed",
            param="destination",
        )


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
    _check_cross_border(destination)
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
    transfer, _ = transfer_book(
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
    payment_refund_txn = balance_transaction(
        account=transfer["destination"],
        amount=-amount,
        currency=currency,
        type="payment_refund",
        source=payment_refund_id,
        reporting_category="refund",
    )
    # On the connected account the reversal is a refund of its payment (``pyr_``), linked
    # back by ``source_transfer_reversal``, as Stripe shows it there.
    store.insert(
        {
            "id": payment_refund_id,
            "object": "refund",
            "amount": amount,
            "balance_transaction": payment_refund_txn["id"],
            "charge": transfer["destination_payment"],
            "created": store.now(),
            "currency": currency,
            "description": None,
            "destination_details": None,
            "failure_balance_transaction": None,
            "failure_reason": None,
            "instructions_email": None,
            "metadata": {},
            "next_action": None,
            "payment_intent": None,
            "pending_reason": None,
            "presentment_details": None,
            "reason": None,
            "receipt_number": None,
            "source_transfer_reversal": reversal_id,
            "status": "succeeded",
            "transfer_reversal": None,
        },
        account=transfer["destination"],
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
        share = min(share, fee["amount"] - fee["amount_refunded"])
        # a share that rounds to nothing (or a fee already given back) refunds no fee
        if share > 0:
            application_fee_refund(fee_id=fee["id"], amount=share)
    events.record(
        "transfer.reversed",
        transfer,
        previous_attributes={
            "amount_reversed": before["amount_reversed"],
            "reversed": before["reversed"],
        },
    )
    return reversal
