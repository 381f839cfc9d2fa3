"""Endpoints of charges (read-only: paying a Checkout Session makes them)."""

from __future__ import annotations

from typing import Any

from payments.sandbox import store
from payments.sandbox.params import LIST, S
from payments.sandbox.routing import Context, route


@route("GET", "/v1/charges/{charge_id}")
def retrieve_charge(ctx: Context, params: dict[str, Any], charge_id: str) -> dict[str, Any]:
    return store.get(charge_id, "charge", account=ctx.account, param="charge").data


@route("GET", "/v1/charges", {**LIST, "payment_intent": S(), "transfer_group": S()})
def list_charges(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    json_filters = {k: params[k] for k in ("payment_intent", "transfer_group") if k in params}
    return store.list_page(
        "charge", account=ctx.account, url="/v1/charges", params=params, json_filters=json_filters
    )
