"""Stripe's events, one handler per type (registered in ``payments.handlers.HANDLERS``).

Each handler re-reads the object from Stripe through ``payments.gateway`` (the payload is only
a pointer), finds our row, and calls one service; everything is safe to run twice and in any
order. An event about something we do not have yet raises ``RetryLater``. What a payment's
purpose owner must do is done by payments' services through ``payments.purposes``.
"""

from __future__ import annotations

from payments import gateway
from payments.errors import stripe_errors
from payments.handlers import CONNECT, RetryLater, handles
from payments.models import AccountStateChange, ConnectedAccount, WebhookEvent
from payments.services import (
    accounts,
    cards,
    charges,
    customers,
    disputes,
    invoices,
    payouts,
    refunds,
    subscriptions,
    transfers,
)

# --- Connect accounts and payouts ----------------------------------------------------------


def _account_for(stripe_account_id: str) -> ConnectedAccount:
    account = ConnectedAccount.objects.filter(stripe_account_id=stripe_account_id).first()
    if account is None:
        raise RetryLater(f"no connected account {stripe_account_id or '(none)'} yet")
    return account


# The Connect endpoint's table: events of connected accounts (``event.account`` set). On the
# platform endpoint the same types are about the platform's own account and are ignored.


@handles("account.updated", endpoints=(CONNECT,))
def handle_account_updated(event: WebhookEvent) -> None:
    account = _account_for(event.object_id or event.stripe_account_id)
    accounts.connected_account_refresh(
        account=account,
        source=AccountStateChange.Source.WEBHOOK,
        stripe_event_id=event.stripe_event_id,
    )


@handles("capability.updated", endpoints=(CONNECT,))
def handle_capability_updated(event: WebhookEvent) -> None:
    stripe_account_id = event.stripe_account_id or str(
        event.payload.get("data", {}).get("object", {}).get("account", "")
    )
    accounts.connected_account_refresh(
        account=_account_for(stripe_account_id),
        source=AccountStateChange.Source.WEBHOOK,
        stripe_event_id=event.stripe_event_id,
    )


@handles("account.application.deauthorized", endpoints=(CONNECT,))
def handle_account_application_deauthorized(event: WebhookEvent) -> None:
    """The coach revoked the platform's access. Stripe sends this on the Connect endpoint with
    ``account`` set; the signed event is the proof (the account can no longer be read)."""
    accounts.connected_account_deauthorize(
        account=_account_for(event.stripe_account_id),
        source=AccountStateChange.Source.WEBHOOK,
        stripe_event_id=event.stripe_event_id,
    )


@handles(
    "payout.created",
    "payout.updated",
    "payout.paid",
    "payout.failed",
    "payout.canceled",
    endpoints=(CONNECT,),
)
def handle_payout(event: WebhookEvent) -> None:
    """A coach's payout to their bank. The platform's own payouts (no ``account``) arrive on
    the platform endpoint, whose table does not list them: they are ignored."""
    with stripe_errors():
        payouts.payout_sync(
            account=_account_for(event.stripe_account_id), payout_id=event.object_id
        )


# --- charges (from here on, the platform endpoint's table) ---------------------------------


def _settle_intent(payment_intent_id: str) -> None:
    if charges.payment_fully_recorded(
        charges.payment_for_stripe_ids(payment_intent_id=payment_intent_id)
    ):
        return  # another of the payment's events settled it: nothing left to read
    with stripe_errors():
        intent = gateway.payment_intent_retrieve(payment_intent_id)
    payment = charges.payment_for_stripe_ids(
        payment_intent_id=intent.id, metadata_payment_id=intent.metadata.get("payment_id", "")
    )
    if payment is None:
        # An invoice's charge (a subscription's period) is recorded with its invoice.
        with stripe_errors():
            invoice_id = gateway.invoice_id_for_payment_intent(intent.id)
        if invoice_id:
            invoices.invoice_sync(stripe_invoice_id=invoice_id)
            return
        raise RetryLater(f"no payment for {payment_intent_id} yet")
    charges.payment_settle(payment=payment, intent=intent)


@handles("checkout.session.completed", "checkout.session.async_payment_succeeded")
def handle_checkout_session_completed(event: WebhookEvent) -> None:
    with stripe_errors():
        session = gateway.checkout_session_retrieve(event.object_id)
    if session.mode == "subscription":
        if subscriptions.subscription_checkout_completed(session=session) is None:
            raise RetryLater(f"no subscription for checkout session {session.id} yet")
        if session.customer_id:
            # the card the subscription renews with, saved to the client's Customer
            cards.customer_cards_first_read(stripe_customer_id=session.customer_id)
        return
    if session.mode == "setup":
        # a card added from Billing (nothing was paid); a Customer not ours is left alone
        if session.customer_id:
            cards.card_setup_completed(stripe_customer_id=session.customer_id)
        return
    payment = charges.payment_for_stripe_ids(
        checkout_session_id=session.id, metadata_payment_id=session.metadata.get("payment_id", "")
    )
    if payment is None:
        raise RetryLater(f"no payment for checkout session {session.id} yet")
    if session.payment_intent_id and not (
        charges.payment_fully_recorded(payment)
        and payment.stripe_payment_intent_id == session.payment_intent_id
    ):
        with stripe_errors():
            intent = gateway.payment_intent_retrieve(session.payment_intent_id)
        charges.payment_settle(payment=payment, intent=intent)
    if session.customer_id and session.status == "complete":
        # The client's Customer: the one Checkout made on their first payment, holding the
        # card they chose to save.
        cards.customer_checkout_completed(
            user=payment.client, stripe_customer_id=session.customer_id
        )


@handles("checkout.session.expired")
def handle_checkout_session_expired(event: WebhookEvent) -> None:
    with stripe_errors():
        session = gateway.checkout_session_retrieve(event.object_id)
    if session.status != "expired":
        return
    if session.mode == "subscription":
        subscriptions.subscription_checkout_expired(session=session)
        return
    if session.mode == "setup":
        return  # a card not added: nothing of ours to end
    payment = charges.payment_for_stripe_ids(
        checkout_session_id=session.id, metadata_payment_id=session.metadata.get("payment_id", "")
    )
    if payment is None:
        return  # a session we never made, or one whose hold is long gone
    charges.payment_checkout_expired(payment=payment)


@handles("payment_intent.succeeded", "payment_intent.payment_failed")
def handle_payment_intent(event: WebhookEvent) -> None:
    _settle_intent(event.object_id)


@handles("charge.succeeded")
def handle_charge_succeeded(event: WebhookEvent) -> None:
    if charges.payment_fully_recorded(charges.payment_for_stripe_ids(charge_id=event.object_id)):
        return  # another of the payment's events settled it: nothing left to read
    with stripe_errors():
        payment_intent_id = gateway.charge_payment_intent_id(event.object_id)
    if payment_intent_id:
        _settle_intent(payment_intent_id)


# --- subscriptions -------------------------------------------------------------------------


@handles(
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.paused",
    "customer.subscription.resumed",
    "customer.subscription.pending_update_applied",
    "customer.subscription.pending_update_expired",
)
def handle_customer_subscription(event: WebhookEvent) -> None:
    """A subscription changed at Stripe: re-read and record it. One Stripe made without our
    Checkout (no ``subscription_id`` in its metadata) is not ours."""
    subscriptions.subscription_sync(stripe_subscription_id=event.object_id)


# --- refunds, disputes, transfers ----------------------------------------------------------


@handles("charge.refunded")
def handle_charge_refunded(event: WebhookEvent) -> None:
    """Our refunds are recorded when we make them; a refund whose call crashed before we
    recorded Stripe's answer is finished here (same idempotency key, same refund)."""
    payment = charges.payment_for_stripe_ids(charge_id=event.object_id)
    if payment is not None:
        refunds.refunds_finish_pending(payment=payment)


@handles("refund.created", "refund.updated", "refund.failed", "charge.refund.updated")
def handle_refund(event: WebhookEvent) -> None:
    """A refund's status moved at Stripe (``charge.refund.updated`` carries the Refund, not a
    Charge): re-read it and follow. A refund made outside the product is not ours."""
    with stripe_errors():
        stripe_refund = gateway.refund_retrieve(event.object_id)
    refunds.refund_record_from_stripe(stripe_refund=stripe_refund)


@handles(
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.closed",
    "charge.dispute.funds_withdrawn",
    "charge.dispute.funds_reinstated",
)
def handle_charge_dispute(event: WebhookEvent) -> None:
    with stripe_errors():
        dispute = gateway.dispute_retrieve(event.object_id)
    if disputes.dispute_record(dispute=dispute) is None:
        raise RetryLater(f"no payment for dispute {dispute.id} yet")


@handles("transfer.updated", "transfer.reversed")
def handle_transfer(event: WebhookEvent) -> None:
    """Package transfers are recorded when made; destination-charge transfers are read with
    their PaymentIntent. Nothing to do but re-read a reversal we may have missed (a new
    transfer has none, so ``transfer.created`` is not subscribed to)."""
    transfers.transfer_sync_reversal(stripe_transfer_id=event.object_id)


# --- customers and their saved cards -------------------------------------------------------


@handles("payment_method.attached", "payment_method.detached")
def handle_payment_method(event: WebhookEvent) -> None:
    """A card was saved to a Customer or removed from one (at Checkout, in the portal, by
    us): the Customer it concerns is read again from Stripe."""
    customer, stripe_customer_id = cards.customer_for_payment_method(
        payment_method_id=event.object_id
    )
    if customer is None:
        if stripe_customer_id:
            raise RetryLater(f"no customer {stripe_customer_id} yet")
        return  # a card of no Customer of ours
    cards.customer_cards_sync(customer=customer)


@handles("customer.updated", "customer.deleted")
def handle_customer(event: WebhookEvent) -> None:
    """The Customer's default card (``invoice_settings``) or anything else changed, or it
    was deleted (its cards with it): its cards and default are read again from Stripe."""
    customer = customers.customer_by_stripe_id(event.object_id)
    if customer is None:
        if event.type == "customer.deleted":
            return  # gone before we knew it: nothing to mirror
        raise RetryLater(f"no customer {event.object_id or '(none)'} yet")
    cards.customer_cards_sync(customer=customer)
