"""Endpoints of payouts: a connected account's with the ``Stripe-Account`` header, the
platform's without."""

from __future__ import annotations

from typing import Any

from payments.sandbox import store
from payments.sandbox.ledger import payouts
from payments.sandbox.params import ANY, LIST, E, I, M, S
from payments.sandbox.routing import Context, route


@route(
    "POST",
    "/v1/payouts",
    {
        "amount": I(required=True),
        "currency": S(required=True),
        "description": S(),
        "metadata": M(),
        "method": E("standard", "instant"),
        "statement_descriptor": S(),
        "destination": S(),
    },
)
def create_payout(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return payouts.payout_create(
        account=ctx.account,
        amount=params["amount"],
        currency=params["currency"].lower(),
        automatic=False,
        description=params.get("description"),
        metadata=params.get("metadata"),
    )


@route("POST", "/v1/payouts/{payout_id}/cancel")
def cancel_payout(ctx: Context, params: dict[str, Any], payout_id: str) -> dict[str, Any]:
    return payouts.payout_cancel(account=ctx.account, payout_id=payout_id)


@route("GET", "/v1/payouts/{payout_id}")
def retrieve_payout(ctx: Context, params: dict[str, Any], payout_id: str) -> dict[str, Any]:
    return store.get(payout_id, "payout", account=ctx.account, param="payout").data


@route("GET", "/v1/payouts", {**LIST, "status": S(), "arrival_date": ANY(), "destination": S()})
def list_payouts(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    json_filters = {k: params[k] for k in ("status",) if k in params}
    return store.list_page(
        "payout", account=ctx.account, url="/v1/payouts", params=params, json_filters=json_filters
    )
