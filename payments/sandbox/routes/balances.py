"""Endpoints of the balance and balance transactions."""

from __future__ import annotations

from typing import Any

from payments.sandbox import store
from payments.sandbox.expansion import expanders
from payments.sandbox.ledger import balances
from payments.sandbox.params import LIST, S
from payments.sandbox.routing import Context, route


@route("GET", "/v1/balance")
def retrieve_balance(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return balances.balance_shape(ctx.account)


@route("GET", "/v1/balance_transactions/{txn_id}")
def retrieve_balance_transaction(ctx: Context, params: dict[str, Any], txn_id: str) -> dict:
    row = store.get(txn_id, "balance_transaction", account=ctx.account, kind="balance transaction")
    return balances.with_live_status(row.data)


@route(
    "GET",
    "/v1/balance_transactions",
    {**LIST, "type": S(), "source": S(), "currency": S(), "payout": S()},
)
def list_balance_transactions(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    json_filters = {k: params[k] for k in ("type", "source", "currency") if k in params}
    page = store.list_page(
        "balance_transaction",
        account=ctx.account,
        url="/v1/balance_transactions",
        params=params,
        json_filters=json_filters,
    )
    now = store.now()
    page["data"] = [balances.with_live_status(txn, now) for txn in page["data"]]
    return page


# An expanded balance transaction carries its status as of the sandbox clock, as when read.
expanders["balance_transaction"] = balances.with_live_status
