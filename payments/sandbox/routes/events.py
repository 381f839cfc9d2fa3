"""Endpoints of events."""

from __future__ import annotations

from typing import Any

from payments.sandbox import store
from payments.sandbox.params import LIST, B, L, S
from payments.sandbox.routing import Context, route


@route("GET", "/v1/events/{event_id}")
def retrieve_event(ctx: Context, params: dict[str, Any], event_id: str) -> dict[str, Any]:
    return store.get(event_id, "event", account=ctx.account, param="id").data


@route("GET", "/v1/events", {**LIST, "type": S(), "types": L(S()), "delivery_success": B()})
def list_events(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    if "types" in params:
        filters["data__type__in"] = params["types"]
    json_filters = {}
    if "type" in params:
        if params["type"].endswith(".*"):
            filters["data__type__startswith"] = params["type"][:-1]
        else:
            json_filters["type"] = params["type"]
    return store.list_page(
        "event",
        account=ctx.account,
        url="/v1/events",
        params=params,
        filters=filters,
        json_filters=json_filters,
    )
