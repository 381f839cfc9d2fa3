"""Disputes: the cardholder's chargeback, its withdrawal and Stripe's dispute fee."""

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
    return dispute
