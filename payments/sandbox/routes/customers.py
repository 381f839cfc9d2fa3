"""Endpoints of customers and their payment methods (the platform's customers)."""

from __future__ import annotations

from typing import Any

from payments.sandbox import customers, store, test_clocks
from payments.sandbox.params import ANY, LIST, D, E, I, L, M, S
from payments.sandbox.routing import Context, route

_ADDRESS = ANY()
_INVOICE_SETTINGS = D(
    {
        "custom_fields": ANY(),
        "default_payment_method": S(),
        "footer": S(),
        "rendering_options": ANY(),
    }
)
_CUSTOMER_FIELDS = {
    "address": _ADDRESS,
    "balance": I(),
    "description": S(),
    "email": S(),
    "invoice_settings": _INVOICE_SETTINGS,
    "metadata": M(),
    "name": S(),
    "next_invoice_sequence": I(),
    "phone": S(),
    "preferred_locales": L(S()),
    "shipping": ANY(),
    "tax_exempt": E("exempt", "none", "reverse"),
}
CUSTOMER_CREATE = {**_CUSTOMER_FIELDS, "payment_method": S(), "test_clock": S()}


@route("POST", "/v1/customers", CUSTOMER_CREATE, connect_allowed=False)
def create_customer(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("test_clock"):
        test_clocks.check_room_for_customer(params["test_clock"])
        return customers.customer_create(
            params=params, created=test_clocks.frozen_time(params["test_clock"])
        )
    return customers.customer_create(params=params)


@route("GET", "/v1/customers/{customer_id}", connect_allowed=False)
def retrieve_customer(ctx: Context, params: dict[str, Any], customer_id: str) -> dict[str, Any]:
    row = store.get(customer_id, "customer", account="")
    if row.internal.get("deleted"):
        return {"id": customer_id, "object": "customer", "deleted": True}
    return row.data


@route("POST", "/v1/customers/{customer_id}", _CUSTOMER_FIELDS, connect_allowed=False)
def update_customer(ctx: Context, params: dict[str, Any], customer_id: str) -> dict[str, Any]:
    return customers.customer_update(customer_id=customer_id, params=params)


@route("DELETE", "/v1/customers/{customer_id}", connect_allowed=False)
def delete_customer(ctx: Context, params: dict[str, Any], customer_id: str) -> dict[str, Any]:
    return customers.customer_delete(customer_id=customer_id)


@route("GET", "/v1/customers", {**LIST, "email": S(), "test_clock": S()}, connect_allowed=False)
def list_customers(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    json_filters = {key: params[key] for key in ("email", "test_clock") if key in params}
    return store.list_page(
        "customer",
        account="",
        url="/v1/customers",
        params=params,
        filters={"internal__deleted__isnull": True},
        json_filters=json_filters,
    )


@route(
    "GET",
    "/v1/customers/{customer_id}/payment_methods",
    {**LIST, "type": S(), "allow_redisplay": E("always", "limited", "unspecified")},
    connect_allowed=False,
)
def list_customer_payment_methods(
    ctx: Context, params: dict[str, Any], customer_id: str
) -> dict[str, Any]:
    customers.customer_row(customer_id, param="customer")
    return customers.payment_methods_of(
        customer_id=customer_id, params=params, url=f"/v1/customers/{customer_id}/payment_methods"
    )


@route(
    "GET",
    "/v1/customers/{customer_id}/payment_methods/{payment_method_id}",
    connect_allowed=False,
)
def retrieve_customer_payment_method(
    ctx: Context, params: dict[str, Any], customer_id: str, payment_method_id: str
) -> dict[str, Any]:
    customers.customer_row(customer_id, param="customer")
    row = store.get(
        payment_method_id,
        "payment_method",
        account="",
        kind="PaymentMethod",
        param="payment_method",
    )
    if row.data["customer"] != customer_id:
        raise customers.not_the_customers(payment_method_id, param="payment_method")
    return row.data


@route(
    "GET",
    "/v1/payment_methods",
    {**LIST, "customer": S(), "type": S(), "allow_redisplay": S()},
    connect_allowed=False,
)
def list_payment_methods(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("customer"):
        customers.customer_row(params["customer"], param="customer")
    return customers.payment_methods_of(
        customer_id=params.get("customer"), params=params, url="/v1/payment_methods"
    )


@route("GET", "/v1/payment_methods/{payment_method_id}", connect_allowed=False)
def retrieve_payment_method(
    ctx: Context, params: dict[str, Any], payment_method_id: str
) -> dict[str, Any]:
    return store.get(
        payment_method_id,
        "payment_method",
        account="",
        kind="PaymentMethod",
        param="payment_method",
    ).data


@route(
    "POST",
    "/v1/payment_methods/{payment_method_id}",
    {
        "allow_redisplay": E("always", "limited", "unspecified"),
        "billing_details": D(
            {"address": ANY(), "email": S(), "name": S(), "phone": S(), "tax_id": S()}
        ),
        "card": D({"exp_month": I(), "exp_year": I(), "networks": ANY()}),
        "metadata": M(),
    },
    connect_allowed=False,
)
def update_payment_method(
    ctx: Context, params: dict[str, Any], payment_method_id: str
) -> dict[str, Any]:
    return customers.payment_method_update(payment_method_id=payment_method_id, params=params)


@route(
    "POST",
    "/v1/payment_methods/{payment_method_id}/attach",
    {"customer": S(required=True)},
    connect_allowed=False,
)
def attach_payment_method(
    ctx: Context, params: dict[str, Any], payment_method_id: str
) -> dict[str, Any]:
    return customers.payment_method_attach(
        payment_method_id=payment_method_id, customer_id=params["customer"]
    )


@route("POST", "/v1/payment_methods/{payment_method_id}/detach", connect_allowed=False)
def detach_payment_method(
    ctx: Context, params: dict[str, Any], payment_method_id: str
) -> dict[str, Any]:
    return customers.payment_method_detach(payment_method_id=payment_method_id)
