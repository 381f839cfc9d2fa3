"""Endpoints of PaymentIntents (read-only: Checkout creates and confirms them)."""

from __future__ import annotations

from typing import Any

from payments.sandbox import store
from payments.sandbox.params import LIST
from payments.sandbox.routing import Context, route


@route("GET", "/v1/payment_intents/{intent_id}")
def retrieve_payment_intent(ctx: Context, params: dict[str, Any], intent_id: str) -> dict:
    return store.get(intent_id, "payment_intent", account=ctx.account, param="intent").data


@route("GET", "/v1/payment_intents", LIST)
def list_payment_intents(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return store.list_page(
        "payment_intent", account=ctx.account, url="/v1/payment_intents", params=params
    )
