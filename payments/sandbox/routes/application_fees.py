"""Endpoints of application fees and their refunds."""

from __future__ import annotations

from typing import Any

from payments.sandbox import store
from payments.sandbox.ledger import application_fees
from payments.sandbox.params import LIST, I, M, S
from payments.sandbox.routing import Context, route


@route("GET", "/v1/application_fees/{fee_id}", connect_allowed=False)
def retrieve_application_fee(ctx: Context, params: dict[str, Any], fee_id: str) -> dict:
    return store.get(fee_id, "application_fee", account="", kind="application fee").data


@route("GET", "/v1/application_fees", {**LIST, "charge": S()}, connect_allowed=False)
def list_application_fees(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    page = store.list_page(
        "application_fee",
        account="",
        url="/v1/application_fees",
        params={k: v for k, v in params.items() if k != "charge"},
    )
    if "charge" in params:
        # Stripe filters by the charge the fee was taken from or the originating charge.
        page["data"] = [
            fee
            for fee in page["data"]
            if params["charge"] in (fee["charge"], fee["originating_transaction"])
        ]
    return page


@route(
    "POST",
    "/v1/application_fees/{fee_id}/refunds",
    {"amount": I(), "metadata": M()},
    connect_allowed=False,
)
def refund_application_fee(ctx: Context, params: dict[str, Any], fee_id: str) -> dict:
    return application_fees.application_fee_refund(
        fee_id=fee_id, amount=params.get("amount"), metadata=params.get("metadata")
    )
