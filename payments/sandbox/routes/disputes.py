"""Endpoints of disputes (read-only: the controls open them)."""

from __future__ import annotations

from typing import Any

from payments.sandbox import store
from payments.sandbox.params import LIST, S
from payments.sandbox.routing import Context, route


@route("GET", "/v1/disputes/{dispute_id}")
def retrieve_dispute(ctx: Context, params: dict[str, Any], dispute_id: str) -> dict[str, Any]:
    return store.get(dispute_id, "dispute", account=ctx.account, param="dispute").data


@route("GET", "/v1/disputes", {**LIST, "charge": S(), "payment_intent": S()})
def list_disputes(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    json_filters = {k: params[k] for k in ("charge", "payment_intent") if k in params}
    return store.list_page(
        "dispute", account=ctx.account, url="/v1/disputes", params=params, json_filters=json_filters
    )
