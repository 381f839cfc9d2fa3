"""Checkout Sessions (``mode=payment``): creating, reading and expiring them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import stripe

from payments.gateway.client import stripe_client, stripe_client_async
from payments.gateway.errors import call, translate
from payments.gateway.fields import field_value, id_of, plain_dict, timestamp


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str
    status: str  # open | complete | expired
    payment_status: str  # unpaid | paid | no_payment_required
    payment_intent_id: str
    expires_at: datetime | None
    metadata: dict[str, str]
    # Stripe's clock when it made the session (``created``).
    created: datetime | None = None
    mode: str = "payment"
    # The subscription a completed ``mode=subscription`` session started, and the Customer
    # the session paid as (made by Checkout for a first payment).
    subscription_id: str = ""
    customer_id: str = ""


def checkout_session_from(session: Any) -> CheckoutSession:
    return CheckoutSession(
        id=session["id"],
        url=field_value(session, "url", ""),
        status=field_value(session, "status", ""),
        payment_status=field_value(session, "payment_status", ""),
        payment_intent_id=id_of(field_value(session, "payment_intent")),
        expires_at=timestamp(field_value(session, "expires_at")),
        metadata=plain_dict(field_value(session, "metadata")),
        created=timestamp(field_value(session, "created")),
        mode=field_value(session, "mode", "payment"),
        subscription_id=id_of(field_value(session, "subscription")),
        customer_id=id_of(field_value(session, "customer")),
    )


def checkout_session_params(
    *,
    amount: int,
    currency: str,
    product_name: str,
    customer_email: str,
    success_url: str,
    cancel_url: str,
    expires_at: datetime | None,
    metadata: dict[str, str],
    application_fee_amount: int | None = None,
    destination: str | None = None,
    on_behalf_of: str | None = None,
    transfer_group: str | None = None,
    customer: str | None = None,
    invoice_description: str | None = None,
) -> dict[str, Any]:
    """A ``mode=payment`` Checkout Session for one line; with ``destination`` it is a
    destination charge (``application_fee_amount`` kept by the platform), without it a charge
    on the platform (packages), optionally in a ``transfer_group``.

    The client's Stripe Customer is the session's ``customer`` (Checkout offers its saved
    cards); a client who has none yet gets one made by Checkout (``customer_creation=
    always``, the e-mail prefilled). Either way Checkout offers to save the card ("save my
    card", the client's consent). With ``invoice_description`` Stripe makes the payment's
    invoice once it is paid (``invoice_creation``, carrying ``metadata`` too).
    """
    intent_data: dict[str, Any] = {"metadata": metadata}
    if destination:
        intent_data["transfer_data"] = {"destination": destination}
        intent_data["application_fee_amount"] = application_fee_amount or 0
    if on_behalf_of:
        intent_data["on_behalf_of"] = on_behalf_of
    if transfer_group:
        intent_data["transfer_group"] = transfer_group
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": currency,
                    "unit_amount": amount,
                    "product_data": {"name": product_name},
                },
            }
        ],
        "success_url": success_url,
        "cancel_url": cancel_url,
        "metadata": metadata,
        "payment_intent_data": intent_data,
        "saved_payment_method_options": {"payment_method_save": "enabled"},
    }
    if customer:
        params["customer"] = customer
    else:
        params["customer_email"] = customer_email
        params["customer_creation"] = "always"
    if invoice_description is not None:
        params["invoice_creation"] = {
            "enabled": True,
            "invoice_data": {"description": invoice_description, "metadata": metadata},
        }
    if expires_at is not None:
        params["expires_at"] = int(expires_at.timestamp())
    return params


def checkout_session_create(*, idempotency_key: str, **fields: Any) -> CheckoutSession:
    """Create the session ``checkout_session_params(**fields)`` describes."""
    session = call(
        stripe_client().v1.checkout.sessions.create,
        params=checkout_session_params(**fields),  # type: ignore[arg-type]
        options={"idempotency_key": idempotency_key},
    )
    return checkout_session_from(session)


async def checkout_session_create_async(*, idempotency_key: str, **fields: Any) -> CheckoutSession:
    """``checkout_session_create`` awaiting Stripe's answer on the event loop (no thread
    waits for it): the library's async client, the same request (encoding, headers, retries
    and errors), its answer read as the JSON Stripe sent (``raw_request_async``) rather than
    built into a ``StripeObject``: a session has some sixty fields, and converting them
    cost about a tenth of a hold's CPU for the eight read here."""
    try:
        answer = await stripe_client_async().raw_request_async(
            "post",
            "/v1/checkout/sessions",
            idempotency_key=idempotency_key,
            **checkout_session_params(**fields),  # type: ignore[arg-type]
        )
    except stripe.StripeError as error:
        raise translate(error) from error
    return checkout_session_from(answer.data)


def checkout_session_retrieve(session_id: str) -> CheckoutSession:
    return checkout_session_from(call(stripe_client().v1.checkout.sessions.retrieve, session_id))


def checkout_session_expire(*, session_id: str) -> CheckoutSession | None:
    """Expire an open session (a swept hold); None when Stripe says it is no longer open."""
    try:
        session = stripe_client().v1.checkout.sessions.expire(
            session_id, options={"idempotency_key": f"checkout-session-{session_id}-expire"}
        )
    except stripe.InvalidRequestError:
        return None
    except stripe.StripeError as error:
        raise translate(error) from error
    return checkout_session_from(session)
