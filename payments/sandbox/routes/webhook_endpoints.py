"""Endpoints of webhook endpoints (the platform's own: no ``Stripe-Account``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from payments.sandbox import store, webhook_endpoints
from payments.sandbox.params import B, I, L, M, S
from payments.sandbox.routing import Context, route


@route(
    "POST",
    "/v1/webhook_endpoints",
    {
        "url": S(required=True),
        "enabled_events": L(S(), required=True),
        "connect": B(),
        "api_version": S(),
        "description": S(),
        "metadata": M(),
    },
    connect_allowed=False,
)
def create_webhook_endpoint(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return webhook_endpoints.endpoint_create(
        url=params["url"],
        enabled_events=params["enabled_events"],
        connect=params.get("connect", False),
        livemode=store.current_livemode(),
        api_version=params.get("api_version") or settings.STRIPE_API_VERSION,
        description=params.get("description", ""),
        metadata=params.get("metadata"),
    )


@route("GET", "/v1/webhook_endpoints/{endpoint_id}", connect_allowed=False)
def retrieve_webhook_endpoint(
    ctx: Context, params: dict[str, Any], endpoint_id: str
) -> dict[str, Any]:
    return webhook_endpoints.endpoint_retrieve(endpoint_id)


@route(
    "POST",
    "/v1/webhook_endpoints/{endpoint_id}",
    {
        "url": S(),
        "enabled_events": L(S()),
        "disabled": B(),
        "description": S(),
        "metadata": M(),
    },
    connect_allowed=False,
)
def update_webhook_endpoint(
    ctx: Context, params: dict[str, Any], endpoint_id: str
) -> dict[str, Any]:
    return webhook_endpoints.endpoint_update(endpoint_id, params)


@route("DELETE", "/v1/webhook_endpoints/{endpoint_id}", connect_allowed=False)
def delete_webhook_endpoint(
    ctx: Context, params: dict[str, Any], endpoint_id: str
) -> dict[str, Any]:
    return webhook_endpoints.endpoint_delete(endpoint_id)


@route(
    "GET",
    "/v1/webhook_endpoints",
    {"limit": I(), "starting_after": S(), "ending_before": S()},
    connect_allowed=False,
)
def list_webhook_endpoints(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return webhook_endpoints.endpoints_list(
        limit=params.get("limit", 10), starting_after=params.get("starting_after", "")
    )
