"""Endpoints of SetupIntents and SetupAttempts (the platform's customers' cards)."""

from __future__ import annotations

from typing import Any

from payments.sandbox import billing, setup_intents, store
from payments.sandbox.params import ANY, LIST, B, D, E, L, M, S
from payments.sandbox.routing import Context, route

_OPTIONS = D(
    {
        "card": D(
            {
                "mandate_options": ANY(),
                "network": S(),
                "request_three_d_secure": E("any", "automatic", "challenge"),
                "moto": B(),
                "three_d_secure": ANY(),
            }
        )
    }
)
_UPDATABLE = {
    "customer": S(),
    "description": S(),
    "metadata": M(),
    "payment_method": S(),
    "payment_method_options": _OPTIONS,
    "allowed_payment_method_types": L(S()),
    "excluded_payment_method_types": L(S()),
    "attach_to_self": B(),
}


@route(
    "POST",
    "/v1/setup_intents",
    {
        **_UPDATABLE,
        "confirm": B(),
        "usage": E(*setup_intents.USAGES),
        "return_url": S(),
        "on_behalf_of": S(),
        "automatic_payment_methods": D(
            {"enabled": B(required=True), "allow_redirects": E("always", "never")}
        ),
        "use_stripe_sdk": B(),
    },
    connect_allowed=False,
)
def create_setup_intent(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    with billing.on_customer_clock(params.get("customer") or ""):
        row = setup_intents.setup_intent_create(params=params)
        if not params.get("confirm"):
            return row.data
        return setup_intents.setup_intent_confirm(
            setup_intent_id=row.stripe_id,
            params={"return_url": params.get("return_url")},
        )


@route("GET", "/v1/setup_intents/{intent}", {"client_secret": S()}, connect_allowed=False)
def retrieve_setup_intent(ctx: Context, params: dict[str, Any], intent: str) -> dict[str, Any]:
    return setup_intents.setup_intent_row(intent).data


@route("POST", "/v1/setup_intents/{intent}", _UPDATABLE, connect_allowed=False)
def update_setup_intent(ctx: Context, params: dict[str, Any], intent: str) -> dict[str, Any]:
    return setup_intents.setup_intent_update(setup_intent_id=intent, params=params)


@route(
    "POST",
    "/v1/setup_intents/{intent}/confirm",
    {
        "payment_method": S(),
        "payment_method_options": _OPTIONS,
        "return_url": S(),
        "use_stripe_sdk": B(),
        "client_secret": S(),
    },
    connect_allowed=False,
)
def confirm_setup_intent(ctx: Context, params: dict[str, Any], intent: str) -> dict[str, Any]:
    with billing.on_clock_of(intent):
        return setup_intents.setup_intent_confirm(setup_intent_id=intent, params=params)


@route(
    "POST",
    "/v1/setup_intents/{intent}/cancel",
    {"cancellation_reason": E(*setup_intents.CANCELLATION_REASONS)},
    connect_allowed=False,
)
def cancel_setup_intent(ctx: Context, params: dict[str, Any], intent: str) -> dict[str, Any]:
    with billing.on_clock_of(intent):
        return setup_intents.setup_intent_cancel(
            setup_intent_id=intent, reason=params.get("cancellation_reason")
        )


@route(
    "GET",
    "/v1/setup_intents",
    {**LIST, "customer": S(), "payment_method": S(), "attach_to_self": B()},
    connect_allowed=False,
)
def list_setup_intents(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    json_filters = {k: params[k] for k in ("customer", "payment_method") if k in params}
    return store.list_page(
        "setup_intent",
        account="",
        url="/v1/setup_intents",
        params=params,
        json_filters=json_filters,
    )


@route(
    "GET",
    "/v1/setup_attempts",
    {**LIST, "setup_intent": S(required=True)},
    connect_allowed=False,
)
def list_setup_attempts(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    setup_intents.setup_intent_row(params["setup_intent"])
    return store.list_page(
        "setup_attempt",
        account="",
        url="/v1/setup_attempts",
        params=params,
        json_filters={"setup_intent": params["setup_intent"]},
    )
