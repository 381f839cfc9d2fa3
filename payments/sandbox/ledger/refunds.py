"""Refunds of platform charges, with the transfer reversal and application fee refund a
destination charge asks for, and their later outcomes.

As on Stripe, a refund's money leaves the balance when it is made, whatever its status. A
refund may stay ``pending`` and later succeed or fail, or succeed and later fail (Stripe's
test cards 4000 0000 0000 7726 and 5126; ``controls.set_refund_outcome`` for any charge).
A failed refund gives its amount back to the platform (a ``refund_failure`` balance
transaction, ``failure_balance_transaction``) and lowers the charge's ``amount_refunded``;
the transfer reversal and application fee refund it made stay made, as on Stripe (the
platform holds the money and decides what to do with it). Each change sends
``refund.updated`` and ``charge.refund.updated`` (both carry the Refund), and a failure
``refund.failed`` too.
"""

from __future__ import annotations

from typing import Any

from marketplace.money import format_money
from payments.sandbox import errors, events, store
from payments.sandbox.ledger.application_fees import application_fee_refund
from payments.sandbox.ledger.balances import balance_transaction, lock_balance
from payments.sandbox.ledger.transfers import transfer_reverse
from payments.sandbox.models import SandboxState, StripeObject

# How long after it is made a refund with a later outcome reaches it (sandbox clock).
REFUND_SETTLE_SECONDS = 3600
FAILURE_REASON = "expired_or_canceled_card"


def _outcome_for(charge_row: StripeObject) -> str:
    """The outcome chosen for new refunds of a charge: its own (a refund test card, or
    ``controls.set_refund_outcome(charge_id=...)``), else the sandbox-wide one."""
    chosen = charge_row.internal.get("refund_outcome")
    if chosen:
        return str(chosen)
    return str(store.current_state().refund_outcome or SandboxState.RefundOutcome.SUCCEEDED)


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
    outcome = _outcome_for(row)
    internal: dict[str, Any] = {}
    if outcome != SandboxState.RefundOutcome.SUCCEEDED:
        internal = {"outcome": outcome, "settle_at": store.now() + REFUND_SETTLE_SECONDS}
        if outcome.startswith("pending"):
            refund["status"] = "pending"
            refund["pending_reason"] = "processing"
    store.insert(refund, internal=internal)
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


def refund_settle(*, refund_id: str, outcome: str | None = None) -> dict[str, Any]:
    """A refund reaches its later outcome (``succeeded`` or ``failed``; by default the one
    chosen when it was made). A refund already final stays as it is (returned unchanged)."""
    lock_balance("")
    row = store.get(refund_id, "refund", account="", lock=True, param="refund")
    refund = row.data
    outcome = outcome or {
        SandboxState.RefundOutcome.PENDING_SUCCEEDS: "succeeded",
        SandboxState.RefundOutcome.PENDING_FAILS: "failed",
        SandboxState.RefundOutcome.FAILS_LATER: "failed",
    }.get(row.internal.get("outcome", ""), "succeeded")
    if outcome not in ("succeeded", "failed"):
        raise errors.invalid("outcome", f"A refund can succeed or fail, not {outcome!r}.")
    settled = row.internal.get("settled") or refund["status"] == "failed"
    if settled or (refund["status"] == "succeeded" and outcome == "succeeded"):
        return refund
    before = {
        "status": refund["status"],
        "failure_reason": refund["failure_reason"],
        "failure_balance_transaction": refund["failure_balance_transaction"],
        "pending_reason": refund["pending_reason"],
    }
    refund["pending_reason"] = None
    charge_row = store.get(refund["charge"], "charge", account="", lock=True)
    charge = charge_row.data
    if outcome == "failed":
        txn = balance_transaction(
            account="",
            amount=refund["amount"],
            currency=refund["currency"],
            type="refund_failure",
            source=refund["id"],
            reporting_category="refund_failure",
            description="REFUND FOR FAILED REFUND",
        )
        refund.update(
            {
                "status": "failed",
                "failure_reason": FAILURE_REASON,
                "failure_balance_transaction": txn["id"],
            }
        )
        charge["amount_refunded"] -= refund["amount"]
        charge["refunded"] = False
    else:
        refund["status"] = "succeeded"
    charge["refunds"]["data"] = [
        refund if listed["id"] == refund["id"] else listed for listed in charge["refunds"]["data"]
    ]
    store.save(charge_row)
    row.data = refund
    row.internal = {**row.internal, "settled": True}
    store.save(row)
    if outcome == "failed":
        events.record("refund.failed", refund, previous_attributes=before)
    events.record("refund.updated", refund, previous_attributes=before)
    events.record("charge.refund.updated", refund, previous_attributes=before)
    return refund


def settle_due_refunds(*, now: int) -> list[str]:
    """Refunds whose later outcome is due by ``now`` reach it; returns their ids."""
    due = [
        refund_id
        for refund_id, internal in StripeObject.objects.filter(
            object_type="refund", internal__has_key="settle_at"
        )
        .exclude(internal__has_key="settled")
        .order_by("created", "id")
        .values_list("stripe_id", "internal")
        if internal["settle_at"] <= now
    ]
    for refund_id in due:
        refund_settle(refund_id=refund_id)
    return due
