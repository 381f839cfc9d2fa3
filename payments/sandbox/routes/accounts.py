"""Endpoints of connected accounts and their capabilities."""

from __future__ import annotations

from typing import Any

from payments.sandbox import accounts, errors, store
from payments.sandbox.params import ANY, LIST, B, D, E, I, L, M, S
from payments.sandbox.routing import Context, route

_CAPABILITY = D({"requested": B()})
_SCHEDULE = D(
    {
        "delay_days": ANY(),
        "interval": E("daily", "weekly", "monthly", "manual"),
        "monthly_anchor": I(),
        "weekly_anchor": E(
            "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
        ),
        "monthly_payout_days": L(I()),
        "weekly_payout_days": L(S()),
    }
)
_ACCOUNT_SETTINGS = D(
    {
        "payouts": D(
            {"schedule": _SCHEDULE, "statement_descriptor": S(), "debit_negative_balances": B()}
        ),
        "payments": D({"statement_descriptor": S()}),
        "card_payments": ANY(),
        "branding": ANY(),
        "dashboard": D({"display_name": S(), "timezone": S()}),
    }
)
_BUSINESS_PROFILE = D(
    {
        "mcc": S(),
        "name": S(),
        "product_description": S(),
        "support_address": ANY(),
        "support_email": S(),
        "support_phone": S(),
        "support_url": S(),
        "url": S(),
        "annual_revenue": ANY(),
        "estimated_worker_count": I(),
        "monthly_estimated_revenue": ANY(),
        "minority_owned_business_designation": ANY(),
    }
)
_CAPABILITY_NAMES = (
    "card_payments",
    "transfers",
    "us_bank_account_ach_payments",
    "link_payments",
    "sepa_debit_payments",
    "bancontact_payments",
    "ideal_payments",
)
_ACCOUNT_COMMON = {
    "email": S(),
    "business_type": E("individual", "company", "non_profit", "government_entity"),
    "business_profile": _BUSINESS_PROFILE,
    "capabilities": D({name: _CAPABILITY for name in _CAPABILITY_NAMES}),
    "default_currency": S(),
    "metadata": M(),
    "settings": _ACCOUNT_SETTINGS,
    "tos_acceptance": D(
        {
            "date": I(),
            "ip": S(),
            "user_agent": S(),
            "service_agreement": E("full", "recipient"),
        }
    ),
    "individual": ANY(),
    "company": ANY(),
    "external_account": ANY(),
    "account_token": S(),
}
ACCOUNT_CREATE = {
    **_ACCOUNT_COMMON,
    "type": E("custom", "express", "standard"),
    "country": S(),
    "controller": D(
        {
            "fees": D({"payer": E("account", "application")}),
            "losses": D({"payments": E("application", "stripe")}),
            "requirement_collection": E("application", "stripe"),
            "stripe_dashboard": D({"type": E("express", "full", "none")}),
        }
    ),
}


@route("POST", "/v1/accounts", ACCOUNT_CREATE, connect_allowed=False)
def create_account(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return accounts.account_create(params=params)


@route("GET", "/v1/accounts", LIST, connect_allowed=False)
def list_accounts(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    page = store.list_page("account", account="", url="/v1/accounts", params=params)
    return page


@route("GET", "/v1/accounts/{account_id}")
def retrieve_account(ctx: Context, params: dict[str, Any], account_id: str) -> dict[str, Any]:
    if ctx.account and ctx.account != account_id:
        raise errors.no_such("account", account_id, "account")
    return accounts.get_account(account_id).data


@route("GET", "/v1/account")
def retrieve_own_account(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    if not ctx.account:
        raise errors.StripeError(
            "The local Stripe's platform account is not an API object; retrieve a connected "
            "account with the Stripe-Account header.",
            status=404,
        )
    return accounts.get_account(ctx.account).data


@route("POST", "/v1/accounts/{account_id}", _ACCOUNT_COMMON)
def update_account(ctx: Context, params: dict[str, Any], account_id: str) -> dict[str, Any]:
    if ctx.account and ctx.account != account_id:
        raise errors.no_such("account", account_id, "account")
    return accounts.account_update(account_id=account_id, params=params)


@route("DELETE", "/v1/accounts/{account_id}", connect_allowed=False)
def delete_account(ctx: Context, params: dict[str, Any], account_id: str) -> dict[str, Any]:
    return accounts.account_delete(account_id=account_id)


@route("GET", "/v1/accounts/{account_id}/capabilities")
def list_capabilities(ctx: Context, params: dict[str, Any], account_id: str) -> dict[str, Any]:
    account = accounts.get_account(account_id).data
    return {
        "object": "list",
        "data": [accounts.capability_shape(account, name) for name in account["capabilities"]],
        "has_more": False,
        "url": f"/v1/accounts/{account_id}/capabilities",
    }


@route("GET", "/v1/accounts/{account_id}/capabilities/{name}")
def retrieve_capability(
    ctx: Context, params: dict[str, Any], account_id: str, name: str
) -> dict[str, Any]:
    account = accounts.get_account(account_id).data
    if name not in account["capabilities"]:
        raise errors.no_such("capability", name)
    return accounts.capability_shape(account, name)
