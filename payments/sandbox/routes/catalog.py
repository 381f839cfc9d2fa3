"""Endpoints of Products and Prices (the platform's catalogue)."""

from __future__ import annotations

from typing import Any

from payments.sandbox import catalog, store
from payments.sandbox.params import ANY, LIST, B, D, E, I, L, M, S
from payments.sandbox.routing import Context, route

_RECURRING = D(
    {
        "interval": E("day", "week", "month", "year", required=True),
        "interval_count": I(),
        "trial_period_days": I(),
        "usage_type": E("licensed", "metered"),
        "meter": S(),
    }
)
_PRICE_FIELDS = {
    "currency": S(required=True),
    "unit_amount": I(),
    "unit_amount_decimal": S(),
    "recurring": _RECURRING,
    "tax_behavior": E("exclusive", "inclusive", "unspecified"),
    "metadata": M(),
}
_PRODUCT_FIELDS = {
    "name": S(required=True),
    "active": B(),
    "description": S(),
    "images": L(S()),
    "metadata": M(),
    "statement_descriptor": S(),
    "tax_code": S(),
    "unit_label": S(),
    "url": S(),
}


@route(
    "POST",
    "/v1/products",
    {
        **_PRODUCT_FIELDS,
        "id": S(),
        "default_price_data": D(
            {
                "currency": S(required=True),
                "unit_amount": I(),
                "unit_amount_decimal": S(),
                "recurring": _RECURRING,
                "tax_behavior": E("exclusive", "inclusive", "unspecified"),
                "currency_options": ANY(),
                "metadata": M(),
            }
        ),
        "marketing_features": ANY(),
        "shippable": B(),
        "package_dimensions": ANY(),
    },
    connect_allowed=False,
)
def create_product(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return catalog.product_create(params=params)


@route("GET", "/v1/products/{product_id}", connect_allowed=False)
def retrieve_product(ctx: Context, params: dict[str, Any], product_id: str) -> dict[str, Any]:
    return store.get(product_id, "product", account="").data


@route(
    "POST",
    "/v1/products/{product_id}",
    {
        **{k: v for k, v in _PRODUCT_FIELDS.items() if k != "name"},
        "name": S(),
        "default_price": S(),
    },
    connect_allowed=False,
)
def update_product(ctx: Context, params: dict[str, Any], product_id: str) -> dict[str, Any]:
    return catalog.product_update(product_id=product_id, params=params)


@route("DELETE", "/v1/products/{product_id}", connect_allowed=False)
def delete_product(ctx: Context, params: dict[str, Any], product_id: str) -> dict[str, Any]:
    return catalog.product_delete(product_id=product_id)


@route("GET", "/v1/products", {**LIST, "active": B(), "ids": L(S())}, connect_allowed=False)
def list_products(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    filters = {"stripe_id__in": params["ids"]} if params.get("ids") else None
    json_filters = {"active": params["active"]} if "active" in params else None
    return store.list_page(
        "product",
        account="",
        url="/v1/products",
        params=params,
        filters=filters,
        json_filters=json_filters,
    )


@route(
    "POST",
    "/v1/prices",
    {
        **_PRICE_FIELDS,
        "product": S(),
        "product_data": D(
            {
                "name": S(required=True),
                "active": B(),
                "metadata": M(),
                "statement_descriptor": S(),
                "tax_code": S(),
                "unit_label": S(),
                "id": S(),
            }
        ),
        "active": B(),
        "lookup_key": S(),
        "nickname": S(),
        "billing_scheme": E("per_unit"),
    },
    connect_allowed=False,
)
def create_price(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return catalog.price_create(params=params)


@route("GET", "/v1/prices/{price_id}", connect_allowed=False)
def retrieve_price(ctx: Context, params: dict[str, Any], price_id: str) -> dict[str, Any]:
    return catalog.price_row(price_id, param="id").data


@route(
    "POST",
    "/v1/prices/{price_id}",
    {
        "active": B(),
        "lookup_key": S(),
        "nickname": S(),
        "tax_behavior": E("exclusive", "inclusive", "unspecified"),
        "metadata": M(),
    },
    connect_allowed=False,
)
def update_price(ctx: Context, params: dict[str, Any], price_id: str) -> dict[str, Any]:
    return catalog.price_update(price_id=price_id, params=params)


@route(
    "GET",
    "/v1/prices",
    {
        **LIST,
        "active": B(),
        "product": S(),
        "currency": S(),
        "type": E("one_time", "recurring"),
        "lookup_keys": L(S()),
    },
    connect_allowed=False,
)
def list_prices(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    json_filters = {k: params[k] for k in ("active", "product", "currency", "type") if k in params}
    filters = {"data__lookup_key__in": params["lookup_keys"]} if params.get("lookup_keys") else None
    return store.list_page(
        "price",
        account="",
        url="/v1/prices",
        params=params,
        filters=filters,
        json_filters=json_filters,
    )
