"""Endpoints of refunds."""

from __future__ import annotations

from typing import Any

from payments.sandbox import store
from payments.sandbox.ledger import refunds
from payments.sandbox.params import LIST, B, E, I, M, S
from payments.sandbox.routing import Context, route

REFUND_CREATE = {
    "charge": S(),
    "payment_intent": S(),
    "amount": I(),
    "reason": E("duplicate", "fraudulent", "requested_by_customer"),
    "reverse_transfer": B(),
    "refund_application_fee": B(),
    "metadata": M(),
    "instructions_email": S(),
}


@route("POST", "/v1/refunds", REFUND_CREATE, connect_allowed=False)
def create_refund(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return refunds.refund_create(params=params)


@route("GET", "/v1/refunds/{refund_id}")
def retrieve_refund(ctx: Context, params: dict[str, Any], refund_id: str) -> dict[str, Any]:
    return store.get(refund_id, "refund", account=ctx.account, param="refund").data


@route("GET", "/v1/refunds", {**LIST, "charge": S(), "payment_intent": S()})
def list_refunds(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    json_filters = {k: params[k] for k in ("charge", "payment_intent") if k in params}
    return store.list_page(
        "refund", account=ctx.account, url="/v1/refunds", params=params, json_filters=json_filters
    )
