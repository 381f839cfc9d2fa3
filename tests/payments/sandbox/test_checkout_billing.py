"""Checkout for subscriptions, saved cards and invoices on the local Stripe, through the real
library: ``mode=subscription`` starts a Connect subscription; a customer's card saved with
consent is offered again; ``invoice_creation`` makes a paid invoice; Stripe's refusals."""

from __future__ import annotations

import pytest
import stripe

from payments.sandbox import controls, errors
from payments.sandbox.checkout import PaymentDeclined
from tests.payments.sandbox.test_rules import account


def plan_price(stripe_client):
    return stripe_client.v1.prices.create(
        params={
            "currency": "usd",
            "unit_amount": 24000,
            "recurring": {"interval": "month"},
            "product_data": {"name": "4 sessions a month"},
        }
    )


def one_off(amount=9000):
    return {
        "price_data": {
            "currency": "usd",
            "unit_amount": amount,
            "product_data": {"name": "Coaching session"},
        },
        "quantity": 1,
    }


def test_a_subscription_checkout_starts_a_connect_subscription(stripe_client, sandbox):
    coach = account(stripe_client)
    price = plan_price(stripe_client)
    session = stripe_client.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "line_items": [{"price": price.id, "quantity": 1}],
            "customer_email": "maya@example.test",
            "subscription_data": {
                "application_fee_percent": 15,
                "transfer_data": {"destination": coach.id},
                "metadata": {"plan": "7"},
            },
            "success_url": "https://x.test/ok",
        }
    )
    assert session.mode == "subscription" and session.invoice_creation is None
    with pytest.raises(PaymentDeclined):
        controls.pay_checkout_session(session.id, card="4000000000000002")
    assert stripe_client.v1.subscriptions.list().data == []  # nothing made on a decline
    controls.pay_checkout_session(session.id, email="maya@example.test")
    done = stripe_client.v1.checkout.sessions.retrieve(session.id)
    assert (done.status, done.payment_status) == ("complete", "paid")
    subscription = stripe_client.v1.subscriptions.retrieve(done.subscription)
    assert subscription.status == "active" and subscription.customer == done.customer
    assert subscription.application_fee_percent == 15
    assert subscription.transfer_data.destination == coach.id
    assert subscription.metadata.to_dict() == {"plan": "7"}
    card = stripe_client.v1.payment_methods.retrieve(subscription.default_payment_method)
    assert card.customer == done.customer and card.card.last4 == "4242"
    invoice = stripe_client.v1.invoices.retrieve(done.invoice)
    assert (invoice.status, invoice.amount_paid, invoice.application_fee_amount) == (
        "paid",
        24000,
        3600,
    )
    assert stripe_client.v1.customers.retrieve(done.customer).email == "maya@example.test"


def test_a_card_saved_with_consent_is_offered_on_the_next_checkout(stripe_client, sandbox):
    customer = stripe_client.v1.customers.create(params={"email": "maya@example.test"})

    def session():
        return stripe_client.v1.checkout.sessions.create(
            params={
                "mode": "payment",
                "line_items": [one_off()],
                "customer": customer.id,
                "saved_payment_method_options": {"payment_method_save": "enabled"},
                "success_url": "https://x.test/ok",
            }
        )

    first = session()
    assert first.saved_payment_method_options.payment_method_save == "enabled"
    controls.pay_checkout_session(first.id, card="5555555555554444", save_card=True)
    [saved] = stripe_client.v1.customers.payment_methods.list(customer.id).data
    assert saved.card.last4 == "4444" and saved.allow_redisplay == "always"
    second = session()
    controls.pay_checkout_session(second.id, card="", saved_payment_method=saved.id)
    intent = stripe_client.v1.payment_intents.retrieve(
        stripe_client.v1.checkout.sessions.retrieve(second.id).payment_intent
    )
    charge = stripe_client.v1.charges.retrieve(intent.latest_charge)
    assert charge.payment_method == saved.id and charge.customer == customer.id
    # the page lists it, and only for its own customer
    page = _client_get(f"/_stripe/checkout/{session().id}/")
    assert b"Mastercard \xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2 4444" in page
    stranger = stripe_client.v1.customers.create(params={"email": "lee@example.test"})
    theirs = stripe_client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": [one_off()],
            "customer": stranger.id,
            "success_url": "https://x.test/ok",
        }
    )
    with pytest.raises(errors.StripeError) as refused:
        controls.pay_checkout_session(theirs.id, card="", saved_payment_method=saved.id)
    assert refused.value.param == "payment_method"


def _client_get(path):
    from django.test import Client

    return Client().get(path).content


def test_a_first_checkout_saves_the_card_to_the_customer_it_makes(stripe_client, sandbox):
    # given: no Customer yet; the session makes one and offers to save the card to it
    session = stripe_client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": [one_off()],
            "customer_email": "maya@example.test",
            "customer_creation": "always",
            "saved_payment_method_options": {"payment_method_save": "enabled"},
            "success_url": "https://x.test/ok",
        }
    )
    assert session.customer is None
    assert session.saved_payment_method_options.payment_method_save == "enabled"
    assert b'id="save-card"' in _client_get(f"/_stripe/checkout/{session.id}/")
    # when: the client ticks "save my card"
    controls.pay_checkout_session(session.id, save_card=True)
    # then: the new customer has the card, to be shown again
    done = stripe_client.v1.checkout.sessions.retrieve(session.id)
    [saved] = stripe_client.v1.customers.payment_methods.list(done.customer).data
    assert saved.card.last4 == "4242" and saved.allow_redisplay == "always"
    # saved cards to show or remove need an existing customer
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.checkout.sessions.create(
            params={
                "mode": "payment",
                "line_items": [one_off()],
                "customer_creation": "always",
                "saved_payment_method_options": {"allow_redisplay_filters": ["always"]},
                "success_url": "https://x.test/ok",
            }
        )
    assert refused.value.param == "saved_payment_method_options"


def test_a_card_paid_without_consent_is_not_saved(stripe_client, sandbox):
    customer = stripe_client.v1.customers.create(params={"email": "maya@example.test"})
    session = stripe_client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": [one_off()],
            "customer": customer.id,
            "saved_payment_method_options": {"payment_method_save": "enabled"},
            "success_url": "https://x.test/ok",
        }
    )
    controls.pay_checkout_session(session.id)
    assert stripe_client.v1.customers.payment_methods.list(customer.id).data == []


def test_invoice_creation_makes_a_paid_invoice_for_a_one_off_payment(stripe_client, sandbox):
    session = stripe_client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": [one_off(12000)],
            "customer_email": "maya@example.test",
            "invoice_creation": {
                "enabled": True,
                "invoice_data": {"description": "Session with Ana", "metadata": {"booking": "9"}},
            },
            "success_url": "https://x.test/ok",
        }
    )
    controls.pay_checkout_session(session.id, email="maya@example.test")
    done = stripe_client.v1.checkout.sessions.retrieve(session.id)
    invoice = stripe_client.v1.invoices.retrieve(done.invoice, params={"expand": ["payments"]})
    assert (invoice.status, invoice.amount_paid, invoice.customer) == ("paid", 12000, done.customer)
    assert invoice.description == "Session with Ana"
    assert invoice.metadata.to_dict() == {"booking": "9"}
    assert invoice.number and invoice.lines.data[0].amount == 12000
    assert invoice.payments.data[0].payment.payment_intent == done.payment_intent


def test_checkout_refuses_what_stripe_refuses(stripe_client, sandbox):
    price = plan_price(stripe_client)

    def create(**params):
        with pytest.raises(stripe.InvalidRequestError) as refused:
            stripe_client.v1.checkout.sessions.create(
                params={"success_url": "https://x.test/ok", **params}
            )
        return refused.value

    assert create(mode="payment", line_items=[{"price": price.id, "quantity": 1}]).param == (
        "line_items[0]"
    )
    assert create(mode="subscription", line_items=[one_off()]).param == "line_items"
    assert (
        create(
            mode="subscription",
            line_items=[{"price": price.id, "quantity": 1}],
            payment_intent_data={"description": "x"},
        ).param
        == "payment_intent_data"
    )
    assert (
        create(
            mode="subscription",
            line_items=[{"price": price.id, "quantity": 1}],
            invoice_creation={"enabled": True},
        ).param
        == "invoice_creation"
    )
    assert (
        create(
            mode="payment",
            line_items=[one_off()],
            saved_payment_method_options={"payment_method_save": "enabled"},
        ).param
        == "saved_payment_method_options"
    )
    assert create(mode="payment", line_items=[one_off()], customer="cus_missing").param == (
        "customer"
    )
