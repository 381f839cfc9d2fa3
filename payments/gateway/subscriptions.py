"""Subscriptions: their Checkout Session (``mode=subscription``), reading them, and the
changes a subscriber asks for (cancel at period end, resume, another price, pause)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from payments.gateway.checkout import CheckoutSession, checkout_session_from
from payments.gateway.client import stripe_client
from payments.gateway.errors import call
from payments.gateway.fields import field_value, id_of, plain_dict, timestamp


@dataclass(frozen=True)
class SubscriptionSnapshot:
    id: str
    status: str
    customer_id: str
    price_id: str
    # The subscription item whose price a plan change replaces.
    item_id: str
    amount: int
    currency: str
    current_period_start: datetime | None
    current_period_end: datetime | None
    cancel_at_period_end: bool
    # ``pause_collection.behavior`` while collection is paused, else "".
    pause_collection: str
    canceled_at: datetime | None
    ended_at: datetime | None
    latest_invoice_id: str
    default_payment_method_id: str
    application_fee_percent: float | None
    destination_account_id: str
    metadata: dict[str, str]


def _snapshot(subscription: Any) -> SubscriptionSnapshot:
    items = field_value(field_value(subscription, "items"), "data", [])
    item = items[0] if items else None
    price = field_value(item, "price")
    pause = field_value(subscription, "pause_collection")
    transfer_data = field_value(subscription, "transfer_data")
    percent = field_value(subscription, "application_fee_percent")
    return SubscriptionSnapshot(
        id=subscription["id"],
        status=field_value(subscription, "status", ""),
        customer_id=id_of(field_value(subscription, "customer")),
        price_id=id_of(price),
        item_id=id_of(item),
        amount=int(field_value(price, "unit_amount", 0)) * int(field_value(item, "quantity", 1)),
        currency=field_value(subscription, "currency", ""),
        current_period_start=timestamp(field_value(item, "current_period_start")),
        current_period_end=timestamp(field_value(item, "current_period_end")),
        cancel_at_period_end=bool(field_value(subscription, "cancel_at_period_end", False)),
        pause_collection=str(field_value(pause, "behavior", "")),
        canceled_at=timestamp(field_value(subscription, "canceled_at")),
        ended_at=timestamp(field_value(subscription, "ended_at")),
        latest_invoice_id=id_of(field_value(subscription, "latest_invoice")),
        default_payment_method_id=id_of(field_value(subscription, "default_payment_method")),
        application_fee_percent=float(percent) if percent is not None else None,
        destination_account_id=id_of(field_value(transfer_data, "destination")),
        metadata=plain_dict(field_value(subscription, "metadata")),
    )


def bps_as_percent(bps: int) -> float:
    """Basis points as Stripe's ``application_fee_percent`` (two decimals at most)."""
    return round(bps / 100, 2)


def subscription_checkout_session_create(
    *,
    idempotency_key: str,
    price_id: str,
    customer_id: str,
    customer_email: str,
    success_url: str,
    cancel_url: str,
    metadata: dict[str, str],
    application_fee_bps: int | None = None,
    destination: str = "",
    on_behalf_of: str = "",
) -> CheckoutSession:
    """A Checkout Session (``mode=subscription``) for one recurring Price. With
    ``destination`` it is a Connect subscription: each invoice a destination charge to that
    account, the platform keeping ``application_fee_bps``. The client's Customer is reused
    when they have one; otherwise Checkout makes one (it always does in this mode). The
    metadata travels on the session and on the subscription."""
    subscription_data: dict[str, Any] = {"metadata": metadata}
    if destination:
        subscription_data["transfer_data"] = {"destination": destination}
        subscription_data["application_fee_percent"] = bps_as_percent(application_fee_bps or 0)
    if on_behalf_of:
        subscription_data["on_behalf_of"] = on_behalf_of
    params: dict[str, Any] = {
        "mode": "subscription",
        "line_items": [{"price": price_id, "quantity": 1}],
        "success_url": success_url,
        "cancel_url": cancel_url,
        "metadata": metadata,
        "subscription_data": subscription_data,
    }
    if customer_id:
        params["customer"] = customer_id
    else:
        params["customer_email"] = customer_email
    session = call(
        stripe_client().v1.checkout.sessions.create,
        params=params,  # type: ignore[arg-type]
        options={"idempotency_key": idempotency_key},
    )
    return checkout_session_from(session)


def subscription_retrieve(subscription_id: str) -> SubscriptionSnapshot:
    return _snapshot(call(stripe_client().v1.subscriptions.retrieve, subscription_id))


def subscription_update(
    *, subscription_id: str, idempotency_key: str, params: dict[str, Any]
) -> SubscriptionSnapshot:
    """Stripe's ``subscriptions.update`` with ``params`` (built by the functions below)."""
    return _snapshot(
        call(
            stripe_client().v1.subscriptions.update,
            subscription_id,
            params=params,  # type: ignore[arg-type]
            options={"idempotency_key": idempotency_key},
        )
    )


def cancel_at_period_end_params(cancel: bool) -> dict[str, Any]:
    return {"cancel_at_period_end": cancel}


def application_fee_params(bps: int) -> dict[str, Any]:
    """A Connect subscription's platform fee for the invoices made from now on."""
    return {"application_fee_percent": bps_as_percent(bps)}


def pause_params(behavior: str | None) -> dict[str, Any]:
    """Pause collection (``behavior``: ``void`` leaves the paused periods unbilled) or, with
    None, resume it."""
    return {"pause_collection": {"behavior": behavior} if behavior else ""}


def price_change_params(*, item_id: str, price_id: str, prorate: bool = True) -> dict[str, Any]:
    """Replace the item's price; Stripe prorates the rest of the period and, with
    ``always_invoice``, charges the difference at once."""
    return {
        "items": [{"id": item_id, "price": price_id}],
        "proration_behavior": "always_invoice" if prorate else "none",
    }


def subscription_cancel_now(*, subscription_id: str, idempotency_key: str) -> SubscriptionSnapshot:
    return _snapshot(
        call(
            stripe_client().v1.subscriptions.cancel,
            subscription_id,
            options={"idempotency_key": idempotency_key},
        )
    )
