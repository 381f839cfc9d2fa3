"""Refunds of platform charges, with the transfer reversal and application fee refund a
destination charge asks for."""

from __future__ import annotations

from typing import Any

from marketplace.money import format_money
from payments.sandbox import errors, events, store
from payments.sandbox.ledger.application_fees import application_fee_refund
from payments.sandbox.ledger.balances import balance_transaction, lock_balance
from payments.sandbox.ledger.transfers import transfer_reverse


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
        "customer": charge.get("customer"),
        "customer_account": None,
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
        "payment_method": charge.get("payment_method"),
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
