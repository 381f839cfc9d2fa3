"""Disputes: the cardholder's chargeback and its lifecycle, with the balance moves.

Opening withdraws the disputed amount and Stripe's dispute fee from the platform
(``charge.dispute.created``, ``charge.dispute.funds_withdrawn``); evidence puts it
``under_review`` (``charge.dispute.updated``); closing makes it ``won`` — the amount comes
back, the fee does not (Stripe's rule since 2025; ``charge.dispute.funds_reinstated``) — or
``lost`` (``charge.dispute.closed`` either way). For a destination charge Stripe does not
touch the transfer: the platform decides whether to reverse it.
"""

from __future__ import annotations

from typing import Any

from payments.sandbox import errors, events, store
from payments.sandbox.ledger.balances import balance_transaction, lock_balance, with_live_status

DISPUTE_FEE = 1500


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
        "evidence": {
            **{name: None for name in evidence_fields},
            "appeal": None,
            "enhanced_evidence": {},
        },
        "evidence_details": {
            "due_by": store.now() + 7 * 86400,
            "enhanced_eligibility": {},
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
            "submission_method": "not_submitted",
        },
        "intended_submission_method": None,
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "network_reason_code": "10.4",
        "payment_intent": charge["payment_intent"],
        "payment_method_details": {
            "card": {
                "brand": "visa",
                "case_type": "chargeback",
                "network": "visa",
                "network_reason_code": "10.4",
            },
            "type": "card",
        },
        "reason": reason,
        "status": "needs_response",
    }
    store.insert(dispute)
    charge["disputed"] = True
    store.save(row)
    events.record("charge.dispute.created", dispute)
    events.record("charge.dispute.funds_withdrawn", dispute)
    return dispute


OPEN_STATUSES = ("warning_needs_response", "warning_under_review", "needs_response", "under_review")


def dispute_submit_evidence(*, dispute_id: str, evidence: dict[str, Any]) -> dict[str, Any]:
    """Evidence submitted: the dispute goes ``under_review``. As in Stripe's test mode,
    ``uncategorized_text`` ``winning_evidence`` / ``losing_evidence`` closes it won / lost."""
    row = store.get(dispute_id, "dispute", account="", lock=True, param="dispute")
    dispute = row.data
    if dispute["status"] not in OPEN_STATUSES:
        raise errors.StripeError(
            f"This dispute is already closed ({dispute['status']}); evidence cannot be changed.",
            param="evidence",
        )
    before = {"status": dispute["status"], "evidence_details": dict(dispute["evidence_details"])}
    for name, value in evidence.items():
        if name not in dispute["evidence"]:
            raise errors.unknown(f"evidence[{name}]")
        dispute["evidence"][name] = value
    dispute["evidence_details"]["has_evidence"] = True
    dispute["evidence_details"]["submission_count"] += 1
    dispute["status"] = (
        "warning_under_review" if dispute["status"].startswith("warning") else "under_review"
    )
    store.save(row)
    events.record("charge.dispute.updated", dispute, previous_attributes=before)
    text = evidence.get("uncategorized_text")
    if text in ("winning_evidence", "losing_evidence"):
        return dispute_close(dispute_id=dispute_id, outcome="won" if text[0] == "w" else "lost")
    return dispute


def dispute_close(*, dispute_id: str, outcome: str) -> dict[str, Any]:
    """The card network decides: ``won`` reinstates the amount (not the fee), ``lost`` keeps
    it withdrawn. Closing a closed dispute changes nothing."""
    if outcome not in ("won", "lost"):
        raise errors.invalid("outcome", f"A dispute is won or lost, not {outcome!r}.")
    lock_balance("")
    row = store.get(dispute_id, "dispute", account="", lock=True, param="dispute")
    dispute = row.data
    if dispute["status"] not in OPEN_STATUSES:
        return dispute
    before = {"status": dispute["status"]}
    dispute["status"] = outcome
    if outcome == "won":
        txn = balance_transaction(
            account="",
            amount=dispute["amount"],
            currency=dispute["currency"],
            type="adjustment",
            source=dispute_id,
            reporting_category="dispute_reversal",
            description=f"Chargeback reversal for {dispute['charge']}",
        )
        dispute["balance_transactions"] = [
            *dispute["balance_transactions"],
            with_live_status(dict(txn)),
        ]
    store.save(row)
    events.record("charge.dispute.closed", dispute, previous_attributes=before)
    if outcome == "won":
        events.record("charge.dispute.funds_reinstated", dispute)
    return dispute
