"""Customers and their saved cards: reading a client's Customer with its card
PaymentMethods, choosing the default card, detaching one, and opening the customer portal.

A Customer is the platform's (never a connected account's): Checkout makes it on the
client's first payment (``customer_creation=always``) and saves the cards the client agrees
to keep there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import stripe

from payments.gateway.account_links import HostedLink
from payments.gateway.client import stripe_client
from payments.gateway.errors import call, translate
from payments.gateway.fields import field_value, id_of

# Stripe's answer to detaching a PaymentMethod that is attached to no Customer.
_NOT_ATTACHED = "payment_method_unexpected_state"


@dataclass(frozen=True)
class SavedCardSnapshot:
    """A card PaymentMethod as Billing shows it: never the number."""

    id: str
    customer_id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class CustomerCards:
    """A Customer's card PaymentMethods and its default (``invoice_settings.
    default_payment_method``, the card Stripe charges for renewals), as Stripe has them now.
    A deleted Customer has no cards."""

    customer_id: str
    default_payment_method_id: str
    cards: list[SavedCardSnapshot] = field(default_factory=list)
    deleted: bool = False


def _card(method: Any) -> SavedCardSnapshot:
    card = field_value(method, "card")
    return SavedCardSnapshot(
        id=method["id"],
        customer_id=id_of(field_value(method, "customer")),
        brand=str(field_value(card, "display_brand") or field_value(card, "brand", "")),
        last4=str(field_value(card, "last4", "")),
        exp_month=int(field_value(card, "exp_month", 0)),
        exp_year=int(field_value(card, "exp_year", 0)),
    )


def customer_cards(customer_id: str) -> CustomerCards:
    """The Customer's card PaymentMethods (every page) and its default card."""
    client = stripe_client()
    customer = call(client.v1.customers.retrieve, customer_id)
    if field_value(customer, "deleted", False):
        return CustomerCards(customer_id=customer_id, default_payment_method_id="", deleted=True)
    settings = field_value(customer, "invoice_settings")
    page = call(
        client.v1.customers.payment_methods.list,
        customer_id,
        params={"type": "card", "limit": 100},
    )
    cards = [_card(method) for method in call(lambda: list(page.auto_paging_iter()))]
    return CustomerCards(
        customer_id=customer_id,
        default_payment_method_id=id_of(field_value(settings, "default_payment_method")),
        cards=cards,
    )


def payment_method_retrieve(payment_method_id: str) -> SavedCardSnapshot:
    """A PaymentMethod as Stripe has it now (``customer_id`` empty once it is detached)."""
    return _card(call(stripe_client().v1.payment_methods.retrieve, payment_method_id))


def payment_method_detach(*, payment_method_id: str) -> bool:
    """Detach the card from its Customer; False when it was attached to none any more
    (removed meanwhile, in the portal for instance). A detached card cannot be used again."""
    try:
        stripe_client().v1.payment_methods.detach(
            payment_method_id,
            options={"idempotency_key": f"payment-method-{payment_method_id}-detach"},
        )
    except stripe.InvalidRequestError as error:
        if getattr(error, "code", None) == _NOT_ATTACHED:
            return False
        raise translate(error) from error
    except stripe.StripeError as error:
        raise translate(error) from error
    return True


def customer_default_card_set(
    *, customer_id: str, payment_method_id: str, idempotency_key: str
) -> str:
    """Make one of the Customer's cards the one Stripe charges for renewals; returns the
    default Stripe now has."""
    customer = call(
        stripe_client().v1.customers.update,
        customer_id,
        params={"invoice_settings": {"default_payment_method": payment_method_id}},
        options={"idempotency_key": idempotency_key},
    )
    return id_of(field_value(field_value(customer, "invoice_settings"), "default_payment_method"))


def billing_portal_session_create(
    *, customer_id: str, return_url: str, idempotency_key: str
) -> HostedLink:
    """A customer portal session (the platform's default portal configuration, which its
    Dashboard saves once): a short-lived link that returns to ``return_url``."""
    session = call(
        stripe_client().v1.billing_portal.sessions.create,
        params={"customer": customer_id, "return_url": return_url},
        options={"idempotency_key": idempotency_key},
    )
    return HostedLink(url=session["url"])


def card_setup_session_create(
    *, customer_id: str, currency: str, success_url: str, cancel_url: str, idempotency_key: str
) -> HostedLink:
    """A Checkout Session in ``mode=setup``: the client saves a card to their Customer on
    Stripe's page, nothing is charged (its SetupIntent attaches the card). Stripe asks setup
    mode for the ``currency`` the card will be charged in, to choose the payment methods it
    offers."""
    session = call(
        stripe_client().v1.checkout.sessions.create,
        params={
            "mode": "setup",
            "customer": customer_id,
            "currency": currency,
            "success_url": success_url,
            "cancel_url": cancel_url,
        },
        options={"idempotency_key": idempotency_key},
    )
    return HostedLink(url=session["url"])
