"""Saved cards: the mirror of a client's card PaymentMethods and default card, re-read from
Stripe, and what the client does with them (make one the default, remove one, open Stripe's
customer portal).

The cards live at Stripe, on the client's Customer; ``SavedCard`` rows and
``Customer.default_payment_method_id`` follow them. Every change is made at Stripe first
and then mirrored by re-reading the Customer (``customer_cards_sync``), which is also what
each webhook does (``payment_method.attached``/``detached``, ``customer.updated``): safe to
run twice and in any order. No lock is held while Stripe is called.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from marketplace.errors import Conflict, NotFound
from marketplace.models import User
from payments import gateway, selectors
from payments.errors import PaymentProviderError, provider_error, stripe_errors
from payments.models import Customer, SavedCard
from payments.services import customers

logger = logging.getLogger("payments.cards")

CARD_GONE = "This card is no longer saved to your account."
PORTAL_UNAVAILABLE = (
    "Stripe's portal for your cards is not available right now; please try again later."
)
NO_CUSTOMER = "You have no saved payment details yet: they are kept from your first payment."


def customer_cards_sync(*, customer: Customer) -> Customer:
    """Mirror the Customer's card PaymentMethods and default card as Stripe has them now.

    Idempotent and order-free: whatever event caused it, the state read is Stripe's latest;
    a read that started before the one already mirrored changes nothing (two syncs that
    overlap never leave the older state behind). Locks the customer row only, after Stripe
    answered. Raises ``PaymentProviderError`` when Stripe cannot be read.
    """
    read_at = timezone.now()
    with stripe_errors():
        found = gateway.customer_cards(customer.stripe_customer_id)
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        if locked.cards_read_at is not None and locked.cards_read_at > read_at:
            return locked
        ids = [card.id for card in found.cards]
        SavedCard.objects.filter(customer=locked).exclude(stripe_payment_method_id__in=ids).delete()
        # Stripe lists the newest first: rows are made oldest first, so theirs is our order.
        for card in reversed(found.cards):
            SavedCard.objects.update_or_create(
                stripe_payment_method_id=card.id,
                defaults={
                    "customer": locked,
                    "brand": card.brand[:20],
                    "last4": card.last4,
                    "exp_month": card.exp_month,
                    "exp_year": card.exp_year,
                },
            )
        default = found.default_payment_method_id if found.default_payment_method_id in ids else ""
        locked.default_payment_method_id = default
        locked.cards_read_at = read_at
        locked.save(update_fields=["default_payment_method_id", "cards_read_at", "updated_at"])
    return locked


def customer_checkout_completed(*, user: User, stripe_customer_id: str) -> Customer:
    """A completed Checkout Session named the client's Customer: keep it (the first one
    recorded stays the client's) and, the first time, mirror its cards (the card saved on
    that payment may have been announced before the Customer was known here)."""
    customer = customers.customer_record(user=user, stripe_customer_id=stripe_customer_id)
    if customer.cards_read_at is None:
        return customer_cards_sync(customer=customer)
    return customer


def customer_cards_first_read(*, stripe_customer_id: str) -> Customer | None:
    """Mirror a recorded Customer's cards if they were never read (a subscription's Checkout
    recorded it); None when it is not recorded."""
    customer = customers.customer_by_stripe_id(stripe_customer_id)
    if customer is not None and customer.cards_read_at is None:
        return customer_cards_sync(customer=customer)
    return customer


def customer_for_payment_method(*, payment_method_id: str) -> tuple[Customer | None, str]:
    """The Customer a card PaymentMethod concerns, as Stripe has it now, and that Stripe
    customer's id: the one it is attached to, else (detached) the one our mirror had it on.
    ``(None, "cus_…")``: attached to a Customer we have not recorded (yet)."""
    try:
        method = gateway.payment_method_retrieve(payment_method_id)
    except gateway.StripeObjectMissing:
        method = None  # not one Stripe shows us any more: only our mirror can say whose
    except gateway.GatewayError as error:
        raise provider_error(error) from error
    if method is not None and method.customer_id:
        return customers.customer_by_stripe_id(method.customer_id), method.customer_id
    saved = SavedCard.objects.select_related("customer").filter(
        stripe_payment_method_id=payment_method_id
    )
    card = saved.first()
    return (card.customer, card.customer.stripe_customer_id) if card else (None, "")


def saved_card_of(*, user: User, card_id: int) -> SavedCard:
    """One of the client's own saved cards; ``NotFound`` for any other."""
    card = (
        SavedCard.objects.select_related("customer")
        .filter(pk=card_id, customer__user_id=user.pk)
        .first()
    )
    if card is None:
        raise NotFound("No such saved card.")
    return card


def saved_card_make_default(*, user: User, card_id: int) -> Customer:
    """Make one of the client's cards the one Stripe charges for renewals (the Customer's
    ``invoice_settings.default_payment_method``), then mirror what Stripe has."""
    card = saved_card_of(user=user, card_id=card_id)
    customer = card.customer
    # The key names the row, the card and the mirror's state it was asked from (every sync
    # moves ``updated_at``): a double click or a retry is one request; choosing this card
    # again after another is a new one.
    stamp = int(customer.updated_at.timestamp() * 1_000_000)
    key = f"customer-{customer.pk}-default-{card.stripe_payment_method_id}-{stamp}"
    try:
        gateway.customer_default_card_set(
            customer_id=customer.stripe_customer_id,
            payment_method_id=card.stripe_payment_method_id,
            idempotency_key=key,
        )
    except gateway.StripeObjectMissing as error:
        # Removed meanwhile (in Stripe's portal): the mirror catches up, the client is told.
        customer_cards_sync(customer=customer)
        raise NotFound(CARD_GONE, code="card_gone") from error
    except gateway.GatewayError as error:
        raise provider_error(error) from error
    return customer_cards_sync(customer=customer)


def renewal_refusal(need: selectors.RenewalNeed) -> str:
    return (
        f"This is your only saved card and your {need.label} renews with it. Add another card "
        "in Stripe's portal first, or confirm that you want to remove it anyway."
    )


def renewal_warning(need: selectors.RenewalNeed) -> str:
    return (
        f"Card removed. Your {need.label}'s next renewal will fail unless you add a card "
        "before then."
    )


@dataclass(frozen=True)
class CardRemoved:
    """The card that was removed (its row is gone) and, when a running subscription needed
    it, the warning that its next renewal will fail."""

    brand: str
    last4: str
    warning: str = ""


def saved_card_remove(
    *, user: User, card_id: int, confirm_renewal_may_fail: bool = False
) -> CardRemoved:
    """Detach one of the client's cards at Stripe, then mirror the Customer.

    A card a running subscription needs (``selectors.card_needed_for_renewal``) is refused with
    ``Conflict`` (409, ``card_needed_for_renewal``) unless the client confirms, and then
    the answer carries the warning. A card already detached at Stripe is simply mirrored.
    """
    card = saved_card_of(user=user, card_id=card_id)
    need = selectors.card_needed_for_renewal(card)
    if need is not None and not confirm_renewal_may_fail:
        raise Conflict(renewal_refusal(need), code="card_needed_for_renewal")
    try:
        gateway.payment_method_detach(payment_method_id=card.stripe_payment_method_id)
    except gateway.StripeObjectMissing:
        pass  # Stripe no longer has it: nothing left to detach
    except gateway.GatewayError as error:
        raise provider_error(error) from error
    customer_cards_sync(customer=card.customer)
    return CardRemoved(
        brand=card.brand, last4=card.last4, warning=renewal_warning(need) if need else ""
    )


def customer_portal_url(*, user: User, return_url: str) -> str:
    """A link into Stripe's customer portal for the client's Customer, returning to
    ``return_url``. The portal uses the platform's default configuration, saved once in
    Stripe's Dashboard (``manage.py stripe_sandbox_setup`` saves the local Stripe's); while
    there is none the client is told the portal is unavailable (503, ``portal_unavailable``)
    and the reason is logged for staff."""
    customer = customers.customer_of(user)
    if customer is None:
        raise Conflict(NO_CUSTOMER, code="no_customer")
    try:
        link = gateway.billing_portal_session_create(
            customer_id=customer.stripe_customer_id,
            return_url=return_url,
            # one portal session per second at most: a double click opens the same one
            idempotency_key=f"customer-{customer.pk}-portal-{int(time.time())}",
        )
    except gateway.GatewayError as error:
        if error.param == "configuration":
            logger.error("customer portal: Stripe has no usable configuration: %s", error.message)
            raise PaymentProviderError(
                PORTAL_UNAVAILABLE,
                code="portal_unavailable",
                status_code=503,
                stripe_code=error.code,
                http_status=error.http_status,
            ) from error
        raise provider_error(error) from error
    return link.url


def card_add_url(*, user: User, success_url: str, cancel_url: str) -> str:
    """A Checkout Session (``mode=setup``) where the client saves another card to their
    Customer; its card is mirrored from ``checkout.session.completed`` and
    ``payment_method.attached``. Needs the Customer their first payment made."""
    customer = customers.customer_of(user)
    if customer is None:
        raise Conflict(NO_CUSTOMER, code="no_customer")
    with stripe_errors(
        message="Stripe could not open the page to add a card; please try again.",
        code="card_add_unavailable",
        status_code=503,
    ):
        link = gateway.card_setup_session_create(
            customer_id=customer.stripe_customer_id,
            currency=selectors.customer_usual_currency(user),
            success_url=success_url,
            cancel_url=cancel_url,
            # one page per second at most: a double click opens the same one
            idempotency_key=f"customer-{customer.pk}-add-card-{int(time.time())}",
        )
    return link.url


def card_setup_completed(*, stripe_customer_id: str) -> Customer | None:
    """A ``mode=setup`` Checkout Session completed: the Customer's cards are read again
    (None when the Customer is not one of ours)."""
    customer = customers.customer_by_stripe_id(stripe_customer_id)
    if customer is None:
        return None
    return customer_cards_sync(customer=customer)
