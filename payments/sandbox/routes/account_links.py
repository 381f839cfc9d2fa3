"""Endpoints of account links and login links."""

from __future__ import annotations

from typing import Any

from payments.sandbox import account_links
from payments.sandbox.params import D, E, S
from payments.sandbox.routing import Context, route


@route("POST", "/v1/accounts/{account_id}/login_links", {}, connect_allowed=False)
def create_login_link(ctx: Context, params: dict[str, Any], account_id: str) -> dict[str, Any]:
    return account_links.login_link_create(account_id=account_id)


@route(
    "POST",
    "/v1/account_links",
    {
        "account": S(required=True),
        "type": E("account_onboarding", "account_update", required=True),
        "refresh_url": S(),
        "return_url": S(),
        "collect": E("currently_due", "eventually_due"),
        "collection_options": D(
            {
                "fields": E("currently_due", "eventually_due"),
                "future_requirements": E("include", "omit"),
            }
        ),
    },
    connect_allowed=False,
)
def create_account_link(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return account_links.account_link_create(params=params)
