"""Endpoints of Checkout Sessions and their line items."""

from __future__ import annotations

from typing import Any

from payments.sandbox import checkout, store
from payments.sandbox.params import ANY, LIST, B, D, E, I, L, M, S
from payments.sandbox.routing import Context, route

_PRICE_DATA = D(
    {
        "currency": S(required=True),
        "unit_amount": I(),
        "unit_amount_decimal": S(),
        "product": S(),
        "product_data": D(
            {
                "name": S(required=True),
                "description": S(),
                "images": L(S()),
                "metadata": M(),
                "tax_code": S(),
            }
        ),
        "tax_behavior": E("exclusive", "inclusive", "unspecified"),
        "recurring": D(
            {"interval": E("day", "week", "month", "year", required=True), "interval_count": I()}
        ),
    }
)
CHECKOUT_CREATE = {
    "mode": E("payment", "setup", "subscription", required=True),
    "line_items": L(
        D(
            {
                "price_data": _PRICE_DATA,
                "price": S(),
                "quantity": I(),
                "adjustable_quantity": ANY(),
                "tax_rates": L(S()),
            }
        )
    ),
    "payment_intent_data": D(
        {
            "application_fee_amount": I(),
            "transfer_data": D({"destination": S(required=True), "amount": I()}),
            "on_behalf_of": S(),
            "transfer_group": S(),
            "metadata": M(),
            "description": S(),
            "receipt_email": S(),
            "statement_descriptor": S(),
            "statement_descriptor_suffix": S(),
            "capture_method": E("automatic", "automatic_async", "manual"),
            "setup_future_usage": E("off_session", "on_session"),
        }
    ),
    "currency": S(),
    "setup_intent_data": D({"description": S(), "metadata": M(), "on_behalf_of": S()}),
    "client_reference_id": S(),
    "customer_email": S(),
    "customer": S(),
    "customer_creation": E("always", "if_required"),
    "success_url": S(),
    "cancel_url": S(),
    "expires_at": I(),
    "metadata": M(),
    "payment_method_types": L(S()),
    "locale": S(),
    "submit_type": E("auto", "book", "donate", "pay", "subscribe"),
    "billing_address_collection": E("auto", "required"),
    "allow_promotion_codes": B(),
    "ui_mode": E("hosted"),
    "subscription_data": D(
        {
            "application_fee_percent": ANY(),
            "transfer_data": D({"destination": S(required=True), "amount_percent": ANY()}),
            "on_behalf_of": S(),
            "metadata": M(),
            "description": S(),
            "trial_period_days": I(),
        }
    ),
    "invoice_creation": D(
        {
            "enabled": B(required=True),
            "invoice_data": D(
                {
                    "description": S(),
                    "footer": S(),
                    "metadata": M(),
                    "custom_fields": ANY(),
                    "account_tax_ids": ANY(),
                    "issuer": ANY(),
                    "rendering_options": ANY(),
                }
            ),
        }
    ),
    "saved_payment_method_options": D(
        {
            "allow_redisplay_filters": L(E("always", "limited", "unspecified")),
            "payment_method_remove": E("disabled", "enabled"),
            "payment_method_save": E("disabled", "enabled"),
        }
    ),
}


@route("POST", "/v1/checkout/sessions", CHECKOUT_CREATE, connect_allowed=False)
def create_checkout_session(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    session = checkout.session_create(params=params)
    if "line_items" in ctx.expand:
        ctx.expand.remove("line_items")
        row = store.get(session["id"], "checkout.session")
        return checkout.session_with_line_items(row.data, row.internal)
    return session


def _session(ctx: Context, session_id: str) -> Any:
    return store.get(
        session_id,
        "checkout.session",
        account=ctx.account,
        kind="checkout.session",
        param="session",
    )


@route("GET", "/v1/checkout/sessions/{session_id}")
def retrieve_checkout_session(
    ctx: Context, params: dict[str, Any], session_id: str
) -> dict[str, Any]:
    row = _session(ctx, session_id)
    if "line_items" in ctx.expand:
        ctx.expand.remove("line_items")
        return checkout.session_with_line_items(row.data, row.internal)
    return row.data


@route("GET", "/v1/checkout/sessions/{session_id}/line_items", LIST)
def list_checkout_line_items(
    ctx: Context, params: dict[str, Any], session_id: str
) -> dict[str, Any]:
    row = _session(ctx, session_id)
    return checkout.line_items_list(session_id, row.internal)


@route(
    "GET",
    "/v1/checkout/sessions",
    {**LIST, "payment_intent": S(), "status": E("open", "complete", "expired")},
)
def list_checkout_sessions(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    json_filters = {key: params[key] for key in ("payment_intent", "status") if key in params}
    return store.list_page(
        "checkout.session",
        account=ctx.account,
        url="/v1/checkout/sessions",
        params=params,
        json_filters=json_filters,
    )


@route("POST", "/v1/checkout/sessions/{session_id}/expire", {})
def expire_checkout_session(
    ctx: Context, params: dict[str, Any], session_id: str
) -> dict[str, Any]:
    _session(ctx, session_id)
    return checkout.session_expire(session_id=session_id)
