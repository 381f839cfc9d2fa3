"""Endpoints of transfers and transfer reversals."""

from __future__ import annotations

import copy
from typing import Any

from payments.sandbox import errors, events, store
from payments.sandbox.ledger import transfers
from payments.sandbox.params import LIST, B, I, M, S
from payments.sandbox.routing import Context, route

TRANSFER_CREATE = {
    "amount": I(required=True),
    "currency": S(required=True),
    "destination": S(required=True),
    "transfer_group": S(),
    "source_transaction": S(),
    "description": S(),
    "metadata": M(),
}


@route("POST", "/v1/transfers", TRANSFER_CREATE, connect_allowed=False)
def create_transfer(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return transfers.transfer_create(params=params)


@route("GET", "/v1/transfers/{transfer_id}", connect_allowed=False)
def retrieve_transfer(ctx: Context, params: dict[str, Any], transfer_id: str) -> dict:
    return store.get(transfer_id, "transfer", account="", param="transfer").data


@route(
    "POST",
    "/v1/transfers/{transfer_id}",
    {"metadata": M(), "description": S()},
    connect_allowed=False,
)
def update_transfer(ctx: Context, params: dict[str, Any], transfer_id: str) -> dict:
    row = store.get(transfer_id, "transfer", account="", lock=True, param="transfer")
    before = copy.deepcopy(row.data)
    for key, value in (params.get("metadata") or {}).items():
        if value == "":
            row.data["metadata"].pop(key, None)
        else:
            row.data["metadata"][key] = value
    if "description" in params:
        row.data["description"] = params["description"] or None
    store.save(row)
    previous = {
        key: before[key] for key in ("metadata", "description") if before[key] != row.data[key]
    }
    if previous:
        events.record("transfer.updated", row.data, previous_attributes=previous)
    return row.data


@route(
    "GET",
    "/v1/transfers",
    {**LIST, "destination": S(), "transfer_group": S()},
    connect_allowed=False,
)
def list_transfers(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    json_filters = {k: params[k] for k in ("destination", "transfer_group") if k in params}
    return store.list_page(
        "transfer", account="", url="/v1/transfers", params=params, json_filters=json_filters
    )


@route(
    "POST",
    "/v1/transfers/{transfer_id}/reversals",
    {"amount": I(), "metadata": M(), "refund_application_fee": B(), "description": S()},
    connect_allowed=False,
)
def create_reversal(ctx: Context, params: dict[str, Any], transfer_id: str) -> dict:
    return transfers.transfer_reverse(
        transfer_id=transfer_id,
        amount=params.get("amount"),
        metadata=params.get("metadata"),
        refund_application_fee=bool(params.get("refund_application_fee")),
    )


@route("GET", "/v1/transfers/{transfer_id}/reversals", LIST, connect_allowed=False)
def list_reversals(ctx: Context, params: dict[str, Any], transfer_id: str) -> dict:
    store.get(transfer_id, "transfer", account="", param="transfer")
    return store.list_page(
        "transfer_reversal",
        account="",
        url=f"/v1/transfers/{transfer_id}/reversals",
        params=params,
        json_filters={"transfer": transfer_id},
    )


@route("GET", "/v1/transfers/{transfer_id}/reversals/{reversal_id}", connect_allowed=False)
def retrieve_reversal(
    ctx: Context, params: dict[str, Any], transfer_id: str, reversal_id: str
) -> dict:
    row = store.get(
        reversal_id, "transfer_reversal", account="", param="id", kind="transfer reversal"
    )
    if row.data["transfer"] != transfer_id:
        raise errors.no_such("transfer reversal", reversal_id)
    return row.data
