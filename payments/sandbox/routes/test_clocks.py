"""Endpoints of test clocks (``/v1/test_helpers/test_clocks``)."""

from __future__ import annotations

from typing import Any

from payments.sandbox import store, test_clocks
from payments.sandbox.params import LIST, I, S
from payments.sandbox.routing import Context, route


@route(
    "POST",
    "/v1/test_helpers/test_clocks",
    {"frozen_time": I(required=True), "name": S()},
    connect_allowed=False,
)
def create_test_clock(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return test_clocks.clock_create(frozen_time=params["frozen_time"], name=params.get("name"))


@route("GET", "/v1/test_helpers/test_clocks/{clock_id}", connect_allowed=False)
def retrieve_test_clock(ctx: Context, params: dict[str, Any], clock_id: str) -> dict[str, Any]:
    return test_clocks.clock_row(clock_id, param="id").data


@route("GET", "/v1/test_helpers/test_clocks", LIST, connect_allowed=False)
def list_test_clocks(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return store.list_page(
        "test_helpers.test_clock", account="", url="/v1/test_helpers/test_clocks", params=params
    )


@route(
    "POST",
    "/v1/test_helpers/test_clocks/{clock_id}/advance",
    {"frozen_time": I(required=True)},
    connect_allowed=False,
)
def advance_test_clock(ctx: Context, params: dict[str, Any], clock_id: str) -> dict[str, Any]:
    return test_clocks.clock_advance(clock_id=clock_id, to=params["frozen_time"])


@route("DELETE", "/v1/test_helpers/test_clocks/{clock_id}", connect_allowed=False)
def delete_test_clock(ctx: Context, params: dict[str, Any], clock_id: str) -> dict[str, Any]:
    return test_clocks.clock_delete(clock_id=clock_id)
