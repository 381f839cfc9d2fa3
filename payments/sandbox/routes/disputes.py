"""Endpoints of disputes (the controls, or the 0259 test card, open them)."""

from __future__ import annotations

from typing import Any

from payments.sandbox import store
from payments.sandbox.ledger import disputes
from payments.sandbox.params import LIST, B, D, M, S
from payments.sandbox.routing import Context, route

# The text fields of Stripe's dispute evidence (files are not simulated).
EVIDENCE_TEXT = (
    "access_activity_log",
    "billing_address",
    "cancellation_policy_disclosure",
    "cancellation_rebuttal",
    "customer_email_address",
    "customer_name",
    "customer_purchase_ip",
    "duplicate_charge_explanation",
    "duplicate_charge_id",
    "product_description",
    "refund_policy_disclosure",
    "refund_refusal_explanation",
    "service_date",
    "shipping_address",
    "shipping_carrier",
    "shipping_date",
    "shipping_tracking_number",
    "uncategorized_text",
)
DISPUTE_UPDATE = {
    "evidence": D({name: S() for name in EVIDENCE_TEXT}),
    "metadata": M(),
    "submit": B(),
}


@route("GET", "/v1/disputes/{dispute_id}")
def retrieve_dispute(ctx: Context, params: dict[str, Any], dispute_id: str) -> dict[str, Any]:
    return store.get(dispute_id, "dispute", account=ctx.account, param="dispute").data


@route("GET", "/v1/disputes", {**LIST, "charge": S(), "payment_intent": S()})
def list_disputes(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    json_filters = {k: params[k] for k in ("charge", "payment_intent") if k in params}
    return store.list_page(
        "dispute", account=ctx.account, url="/v1/disputes", params=params, json_filters=json_filters
    )


@route("POST", "/v1/disputes/{dispute_id}", DISPUTE_UPDATE, connect_allowed=False)
def update_dispute(ctx: Context, params: dict[str, Any], dispute_id: str) -> dict[str, Any]:
    """Evidence (submitted at once unless ``submit=false``) and metadata."""
    if params.get("metadata"):
        row = store.get(dispute_id, "dispute", account="", lock=True, param="dispute")
        row.data["metadata"] = {**row.data["metadata"], **params["metadata"]}
        store.save(row)
    if params.get("evidence") and params.get("submit", True):
        return disputes.dispute_submit_evidence(dispute_id=dispute_id, evidence=params["evidence"])
    return store.get(dispute_id, "dispute", account="", param="dispute").data


@route("POST", "/v1/disputes/{dispute_id}/close", connect_allowed=False)
def close_dispute(ctx: Context, params: dict[str, Any], dispute_id: str) -> dict[str, Any]:
    """Accepting the dispute: it is lost."""
    return disputes.dispute_close(dispute_id=dispute_id, outcome="lost")
