"""Endpoints of subscriptions and invoices (the platform's, Connect ones included)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from payments.sandbox import billing, store
from payments.sandbox.params import ANY, LIST, B, D, E, I, L, M, S
from payments.sandbox.routing import Context, route

_ITEM = D({"price": S(), "quantity": I(), "metadata": M(), "id": S(), "deleted": B()})
_PAUSE = ANY()
_PRORATION = E("always_invoice", "create_prorations", "none")
_TRIAL_SETTINGS = D(
    {
        "end_behavior": D(
            {
                "missing_payment_method": E("cancel", "create_invoice", "pause"),
                "billing_cycle_anchor": E("now", "unchanged"),
            },
            required=True,
        )
    }
)


def _card_errors(run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A failed charge is committed, then answered as Stripe's 402 card error."""
    try:
        return run()
    except billing.CardError as declined:
        raise declined.stripe_error() from None


@route(
    "POST",
    "/v1/subscriptions",
    {
        "customer": S(required=True),
        "items": L(_ITEM, required=True),
        "application_fee_percent": ANY(),
        "transfer_data": D({"destination": S(required=True), "amount_percent": ANY()}),
        "on_behalf_of": S(),
        "default_payment_method": S(),
        "payment_behavior": E(
            "allow_incomplete", "default_incomplete", "error_if_incomplete", "pending_if_incomplete"
        ),
        "cancel_at_period_end": B(),
        "trial_period_days": I(),
        "trial_settings": _TRIAL_SETTINGS,
        "proration_behavior": _PRORATION,
        "collection_method": E("charge_automatically"),
        "description": S(),
        "metadata": M(),
        "expand": L(S()),
        "payment_settings": D(
            {
                "save_default_payment_method": E("off", "on_subscription"),
                "payment_method_options": ANY(),
                "payment_method_types": ANY(),
                "payment_method_configuration": S(),
            }
        ),
    },
    connect_allowed=False,
)
def create_subscription(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("application_fee_percent") is not None:
        params["application_fee_percent"] = billing.fee_percent(params["application_fee_percent"])
    with billing.on_customer_clock(params["customer"]):
        return _card_errors(lambda: billing.subscription_create(params=params))


@route("GET", "/v1/subscriptions/{subscription_id}", connect_allowed=False)
def retrieve_subscription(ctx: Context, params: dict[str, Any], subscription_id: str) -> dict:
    return billing.subscription_row(subscription_id).data


@route(
    "POST",
    "/v1/subscriptions/{subscription_id}",
    {
        "items": L(_ITEM),
        "proration_behavior": _PRORATION,
        "cancel_at_period_end": B(),
        "default_payment_method": S(),
        "application_fee_percent": ANY(),
        "trial_settings": _TRIAL_SETTINGS,
        "pause_collection": _PAUSE,
        "metadata": M(),
        "description": S(),
        "payment_behavior": E(
            "allow_incomplete", "default_incomplete", "error_if_incomplete", "pending_if_incomplete"
        ),
    },
    connect_allowed=False,
)
def update_subscription(ctx: Context, params: dict[str, Any], subscription_id: str) -> dict:
    if params.get("application_fee_percent") not in (None, ""):
        params["application_fee_percent"] = billing.fee_percent(params["application_fee_percent"])
    pause = params.get("pause_collection")
    if pause is not None:
        params["pause_collection"] = billing.pause_of(pause)
    with billing.on_clock_of(subscription_id):
        return billing.subscription_update(subscription_id=subscription_id, params=params)


@route(
    "DELETE",
    "/v1/subscriptions/{subscription_id}",
    {"invoice_now": B(), "prorate": B(), "cancellation_details": ANY()},
    connect_allowed=False,
)
def cancel_subscription(ctx: Context, params: dict[str, Any], subscription_id: str) -> dict:
    with billing.on_clock_of(subscription_id):
        return billing.subscription_cancel(subscription_id=subscription_id)


@route(
    "POST",
    "/v1/subscriptions/{subscription_id}/resume",
    {
        # the pinned version's ``billing_cycle_anchor[type]``, or the plain value
        "billing_cycle_anchor": ANY(),
        "proration_behavior": _PRORATION,
        "proration_date": I(),
        "payment_behavior": E("resume_on_payment_attempt", "resume_on_payment_success"),
    },
    connect_allowed=False,
)
def resume_subscription(ctx: Context, params: dict[str, Any], subscription_id: str) -> dict:
    billing.billing_cycle_anchor_of(params.get("billing_cycle_anchor"))
    with billing.on_clock_of(subscription_id):
        return billing.subscription_resume(subscription_id=subscription_id, params=params)


@route(
    "GET",
    "/v1/subscriptions",
    {**LIST, "customer": S(), "status": S(), "price": S(), "test_clock": S()},
    connect_allowed=False,
)
def list_subscriptions(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    json_filters = {k: params[k] for k in ("customer", "test_clock") if k in params}
    status = params.get("status")
    filters: dict[str, Any] = {}
    if status and status != "all":
        json_filters["status"] = status
    elif not status:
        filters = {
            "data__status__in": ["active", "past_due", "unpaid", "trialing", "incomplete", "paused"]
        }
    return store.list_page(
        "subscription",
        account="",
        url="/v1/subscriptions",
        params=params,
        filters=filters,
        json_filters=json_filters,
    )


@route("GET", "/v1/invoices/{invoice_id}", connect_allowed=False)
def retrieve_invoice(ctx: Context, params: dict[str, Any], invoice_id: str) -> dict[str, Any]:
    return billing.invoice_row(invoice_id, param="id").data


@route(
    "GET",
    "/v1/invoices",
    {
        **LIST,
        "customer": S(),
        "status": E("draft", "open", "paid", "uncollectible", "void"),
        "subscription": S(),
        "collection_method": S(),
    },
    connect_allowed=False,
)
def list_invoices(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    json_filters = {k: params[k] for k in ("customer", "status") if k in params}
    if params.get("subscription"):
        json_filters["parent__subscription_details__subscription"] = params["subscription"]
    return store.list_page(
        "invoice", account="", url="/v1/invoices", params=params, json_filters=json_filters
    )


@route("GET", "/v1/invoices/{invoice_id}/lines", LIST, connect_allowed=False)
def list_invoice_lines(ctx: Context, params: dict[str, Any], invoice_id: str) -> dict[str, Any]:
    return billing.invoice_row(invoice_id, param="id").data["lines"]


@route(
    "POST",
    "/v1/invoices/{invoice_id}/pay",
    {"payment_method": S(), "off_session": B(), "paid_out_of_band": B(), "forgive": B()},
    connect_allowed=False,
)
def pay_invoice(ctx: Context, params: dict[str, Any], invoice_id: str) -> dict[str, Any]:
    with billing.on_clock_of(invoice_id):
        return _card_errors(
            lambda: billing.invoice_pay(
                invoice_id=invoice_id, payment_method=params.get("payment_method")
            )
        )


@route("POST", "/v1/invoices/{invoice_id}/finalize", {"auto_advance": B()}, connect_allowed=False)
def finalize_invoice(ctx: Context, params: dict[str, Any], invoice_id: str) -> dict[str, Any]:
    with billing.on_clock_of(invoice_id):
        return billing.invoice_finalize(billing.invoice_row(invoice_id, lock=True, param="id"))


@route("POST", "/v1/invoices/{invoice_id}/void", connect_allowed=False)
def void_invoice(ctx: Context, params: dict[str, Any], invoice_id: str) -> dict[str, Any]:
    with billing.on_clock_of(invoice_id):
        return billing.invoice_void(invoice_id=invoice_id)


@route("POST", "/v1/invoices/{invoice_id}/mark_uncollectible", connect_allowed=False)
def mark_invoice_uncollectible(ctx: Context, params: dict[str, Any], invoice_id: str) -> dict:
    with billing.on_clock_of(invoice_id):
        return billing.invoice_mark_uncollectible(invoice_id=invoice_id)


@route(
    "GET",
    "/v1/invoice_payments",
    {
        **LIST,
        "invoice": S(),
        "payment": D(
            {
                "type": E("payment_intent", "payment_record", required=True),
                "payment_intent": S(),
                "payment_record": S(),
            }
        ),
        "status": E("canceled", "open", "paid"),
    },
    connect_allowed=False,
)
def list_invoice_payments(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return billing.invoice_payments_list(params)


@route("GET", "/v1/invoice_payments/{invoice_payment_id}", connect_allowed=False)
def retrieve_invoice_payment(
    ctx: Context, params: dict[str, Any], invoice_payment_id: str
) -> dict[str, Any]:
    return billing.invoice_payment_retrieve(invoice_payment_id)
