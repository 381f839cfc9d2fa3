"""How a subscription's life goes on the local Stripe when nobody pays, through the real
library and the clocks: an ``incomplete`` subscription expires 23 hours after it was made, a
trial that ends without a card pauses or cancels the subscription as its ``trial_settings``
say, ``resume`` starts it again (``billing_cycle_anchor`` ``now`` or ``unchanged``), and the
``invoice.upcoming`` preview is a whole invoice."""

from __future__ import annotations

import pytest
import stripe

from payments.sandbox import billing, controls
from tests.payments.sandbox.test_billing import (
    DAY,
    START,
    advance,
    client_with_card,
    invoices_of,
    monthly_price,
    subscribe,
)

HOUR = 3600


@pytest.fixture
def clock(stripe_client, sandbox):
    return stripe_client.v1.test_helpers.test_clocks.create(params={"frozen_time": START})


def subscription_events(subscription_id, event_type):
    return [
        event
        for event in controls.events_of_type(event_type)
        if event["data"]["object"]["id"] == subscription_id
    ]


# --- incomplete_expired ----------------------------------------------------------------------


def test_an_unpaid_incomplete_subscription_expires_after_23_hours(stripe_client, clock):
    # given: a subscription whose first invoice waits for its payment
    customer, _card = client_with_card(stripe_client, clock)
    subscription = subscribe(
        stripe_client,
        customer,
        monthly_price(stripe_client),
        payment_behavior="default_incomplete",
    )
    assert subscription.status == "incomplete"
    [invoice] = invoices_of(stripe_client, subscription)
    assert invoice.status == "open"
    # when: 22 hours pass, nothing happens
    advance(stripe_client, clock, START + 22 * HOUR)
    assert stripe_client.v1.subscriptions.retrieve(subscription.id).status == "incomplete"
    # then: past 23 hours it has expired, its invoice voided
    advance(stripe_client, clock, START + 24 * HOUR)
    expired = stripe_client.v1.subscriptions.retrieve(subscription.id)
    assert expired.status == "incomplete_expired"
    assert expired.ended_at == expired.canceled_at == START + billing.INCOMPLETE_EXPIRES_SECONDS
    voided = stripe_client.v1.invoices.retrieve(invoice.id)
    assert voided.status == "void"
    assert voided.status_transitions.voided_at == START + billing.INCOMPLETE_EXPIRES_SECONDS
    [updated] = subscription_events(subscription.id, "customer.subscription.updated")
    assert updated["data"]["previous_attributes"]["status"] == "incomplete"
    assert not subscription_events(subscription.id, "customer.subscription.deleted")
    assert [e["data"]["object"]["id"] for e in controls.events_of_type("invoice.voided")] == [
        invoice.id
    ]
    # an expired subscription is final: not changed, not canceled, its invoice not paid
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.subscriptions.update(subscription.id, params={"metadata": {"a": "b"}})
    assert refused.value.param == "subscription"
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.subscriptions.cancel(subscription.id)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.invoices.pay(invoice.id)
    assert refused.value.code == "invoice_not_editable"
    # and it bills nothing more as time goes on
    advance(stripe_client, clock, START + 40 * DAY)
    assert len(invoices_of(stripe_client, subscription)) == 1


def test_paying_the_first_invoice_in_time_makes_it_active_for_good(stripe_client, clock):
    customer, card = client_with_card(stripe_client, clock)
    subscription = subscribe(
        stripe_client,
        customer,
        monthly_price(stripe_client),
        payment_behavior="default_incomplete",
    )
    advance(stripe_client, clock, START + 20 * HOUR)
    [invoice] = invoices_of(stripe_client, subscription)
    stripe_client.v1.invoices.pay(invoice.id, params={"payment_method": card.id})
    assert stripe_client.v1.subscriptions.retrieve(subscription.id).status == "active"
    advance(stripe_client, clock, START + 2 * DAY)
    assert stripe_client.v1.subscriptions.retrieve(subscription.id).status == "active"
    assert stripe_client.v1.invoices.retrieve(invoice.id).status == "paid"


def test_a_declined_first_payment_expires_on_the_sandbox_clock_too(stripe_client, sandbox):
    # given: a customer on no test clock, whose card declines the first invoice
    customer = stripe_client.v1.customers.create(params={"email": "lee@example.test"})
    card = stripe_client.v1.payment_methods.attach(
        "pm_card_chargeDeclined", params={"customer": customer.id}
    )
    subscription = stripe_client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": monthly_price(stripe_client).id}],
            "default_payment_method": card.id,
            "payment_behavior": "allow_incomplete",
        }
    )
    assert subscription.status == "incomplete"
    made = subscription.created
    # when: the sandbox clock passes 23 hours
    controls.advance_clock(23 * HOUR + 60)
    # then
    expired = stripe_client.v1.subscriptions.retrieve(subscription.id)
    assert expired.status == "incomplete_expired"
    assert expired.ended_at == made + billing.INCOMPLETE_EXPIRES_SECONDS
    [invoice] = invoices_of(stripe_client, subscription)
    assert (invoice.status, invoice.attempt_count) == ("void", 1)
    # the list of a customer's subscriptions leaves expired ones out unless asked
    assert stripe_client.v1.subscriptions.list(params={"customer": customer.id}).data == []
    listed = stripe_client.v1.subscriptions.list(
        params={"customer": customer.id, "status": "incomplete_expired"}
    )
    assert [s.id for s in listed.data] == [subscription.id]


# --- invoice.upcoming ------------------------------------------------------------------------


def test_the_upcoming_invoice_is_the_whole_renewal_invoice_without_an_id(stripe_client, clock):
    # given: an active subscription upgraded mid-period (a proration waits for the renewal)
    customer, _card = client_with_card(stripe_client, clock)
    small, large = monthly_price(stripe_client, 10000), monthly_price(stripe_client, 20000)
    subscription = subscribe(stripe_client, customer, small)
    item = subscription["items"].data[0]
    end = item.current_period_end
    advance(stripe_client, clock, START + (end - START) // 2)
    stripe_client.v1.subscriptions.update(
        subscription.id, params={"items": [{"id": item.id, "price": large.id}]}
    )
    # when: the clock reaches a week before the renewal
    advance(stripe_client, clock, end - billing.UPCOMING_DAYS * DAY)
    # then: the preview is the renewal's invoice, as Stripe sends it
    [event] = controls.events_of_type("invoice.upcoming")
    preview = event["data"]["object"]
    assert preview["object"] == "invoice" and preview["id"] is None
    assert (preview["status"], preview["number"], preview["billing_reason"]) == (
        "draft",
        None,
        "upcoming",
    )
    assert (preview["period_start"], preview["period_end"]) == (START, end)
    assert preview["next_payment_attempt"] == end
    assert preview["customer"] == customer.id and preview["currency"] == "usd"
    assert preview["parent"]["subscription_details"]["subscription"] == subscription.id
    lines = preview["lines"]["data"]
    assert all(line["id"].startswith("il_tmp_") and line["invoice"] is None for line in lines)
    assert sorted(line["amount"] for line in lines) == [-5000, 10000, 20000]
    renewal_line = next(
        line for line in lines if not line["parent"]["subscription_item_details"]["proration"]
    )
    next_end = billing.add_interval(end, "month", 1)
    assert renewal_line["period"] == {"start": end, "end": next_end}
    assert preview["subtotal"] == preview["total"] == preview["amount_due"] == 25000
    assert preview["amount_remaining"] == 25000 and preview["amount_paid"] == 0
    # and the renewal bills exactly that
    advance(stripe_client, clock, end)
    renewal = invoices_of(stripe_client, subscription)[0]
    assert renewal.amount_paid == preview["amount_due"]
    assert sorted(line.amount for line in renewal.lines.data) == [-5000, 10000, 20000]
