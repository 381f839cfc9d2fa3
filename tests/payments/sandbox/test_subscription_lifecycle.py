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


# --- a trial that ends without a payment method ----------------------------------------------


def client_without_card(stripe_client, clock, email="maya@example.test"):
    return stripe_client.v1.customers.create(params={"email": email, "test_clock": clock.id})


def trial(stripe_client, customer, price, missing, days=7):
    return stripe_client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": price.id}],
            "trial_period_days": days,
            "trial_settings": {"end_behavior": {"missing_payment_method": missing}},
        }
    )


def test_a_trial_without_a_card_pauses_and_resumes_with_a_new_cycle(stripe_client, clock):
    # given: a week's trial, no card, paused if none is given by its end
    customer = client_without_card(stripe_client, clock)
    price = monthly_price(stripe_client)
    subscription = trial(stripe_client, customer, price, "pause")
    assert subscription.status == "trialing"
    assert subscription.trial_settings.end_behavior.missing_payment_method == "pause"
    trial_end = START + 7 * DAY
    # three days before the end, Stripe warns
    advance(stripe_client, clock, START + 5 * DAY)
    [warning] = subscription_events(subscription.id, "customer.subscription.trial_will_end")
    assert warning["created"] == trial_end - 3 * DAY
    # when: the trial ends
    advance(stripe_client, clock, trial_end + HOUR)
    # then: paused, nothing billed
    paused = stripe_client.v1.subscriptions.retrieve(subscription.id)
    assert paused.status == "paused" and paused.pause_collection is None
    [event] = subscription_events(subscription.id, "customer.subscription.paused")
    assert event["created"] == trial_end
    [updated] = subscription_events(subscription.id, "customer.subscription.updated")
    assert updated["data"]["previous_attributes"]["status"] == "trialing"
    [trial_invoice] = invoices_of(stripe_client, subscription)
    assert trial_invoice.amount_due == 0
    # a paused subscription does not cycle, however long
    advance(stripe_client, clock, trial_end + 40 * DAY)
    assert stripe_client.v1.subscriptions.retrieve(subscription.id).status == "paused"
    assert len(invoices_of(stripe_client, subscription)) == 1
    assert not controls.events_of_type("invoice.upcoming")
    # the customer sets up a card, which becomes their default
    intent = stripe_client.v1.setup_intents.create(
        params={"customer": customer.id, "payment_method": "pm_card_visa", "confirm": True}
    )
    stripe_client.v1.customers.update(
        customer.id, params={"invoice_settings": {"default_payment_method": intent.payment_method}}
    )
    # when: it is resumed (the anchor moves to now by default)
    resumed = stripe_client.v1.subscriptions.resume(
        subscription.id, params={"billing_cycle_anchor": {"type": "now"}}
    )
    # then: active, a new period from now, paid at once
    now = trial_end + 40 * DAY
    assert resumed.status == "active"
    assert resumed.billing_cycle_anchor == now
    item = resumed["items"].data[0]
    assert (item.current_period_start, item.current_period_end) == (
        now,
        billing.add_interval(now, "month", 1),
    )
    invoice = stripe_client.v1.invoices.retrieve(resumed.latest_invoice)
    assert (invoice.status, invoice.amount_paid, invoice.billing_reason) == (
        "paid",
        24000,
        "subscription_update",
    )
    assert len(subscription_events(subscription.id, "customer.subscription.resumed")) == 1
    # and it renews on its new anchor
    advance(stripe_client, clock, billing.add_interval(now, "month", 1))
    assert [i.status for i in invoices_of(stripe_client, subscription)] == ["paid"] * 3


def test_resuming_with_the_anchor_unchanged_bills_the_rest_of_its_period(stripe_client, clock):
    # given: two trials paused at their end, each given a card ten days later
    price = monthly_price(stripe_client)
    prorated, free = (
        trial(
            stripe_client,
            client_without_card(stripe_client, clock, f"{name}@example.test"),
            price,
            "pause",
        )
        for name in ("ana", "ben")
    )
    trial_end = START + 7 * DAY
    advance(stripe_client, clock, trial_end + 10 * DAY)
    for subscription in (prorated, free):
        assert stripe_client.v1.subscriptions.retrieve(subscription.id).status == "paused"
        card = stripe_client.v1.payment_methods.attach(
            "pm_card_visa", params={"customer": subscription.customer}
        )
        stripe_client.v1.subscriptions.update(
            subscription.id, params={"default_payment_method": card.id}
        )
    # when
    charged = stripe_client.v1.subscriptions.resume(
        prorated.id, params={"billing_cycle_anchor": {"type": "unchanged"}}
    )
    unbilled = stripe_client.v1.subscriptions.resume(
        free.id,
        params={"billing_cycle_anchor": {"type": "unchanged"}, "proration_behavior": "none"},
    )
    # then: both in the anchor's period that holds now, the first billed for its rest
    period_end = billing.add_interval(trial_end, "month", 1)
    for resumed in (charged, unbilled):
        assert resumed.status == "active"
        assert resumed.billing_cycle_anchor == trial_end
        item = resumed["items"].data[0]
        assert (item.current_period_start, item.current_period_end) == (trial_end, period_end)
    now = trial_end + 10 * DAY
    invoice = stripe_client.v1.invoices.retrieve(charged.latest_invoice)
    expected = round(24000 * (period_end - now) / (period_end - trial_end))
    assert (invoice.status, invoice.amount_paid) == ("paid", expected)
    [line] = invoice.lines.data
    assert line.parent.subscription_item_details.proration is True
    assert (line.period.start, line.period.end) == (now, period_end)
    assert len(invoices_of(stripe_client, free)) == 1  # only the trial's
    # both renew at the anchor's next period
    advance(stripe_client, clock, period_end)
    assert invoices_of(stripe_client, free)[0].amount_paid == 24000


def test_a_resumption_that_cannot_be_paid(stripe_client, clock):
    # given: two paused trials whose customers' cards fail every charge
    price = monthly_price(stripe_client)
    first, second = (
        trial(
            stripe_client,
            client_without_card(stripe_client, clock, f"{name}@example.test"),
            price,
            "pause",
        )
        for name in ("ana", "ben")
    )
    advance(stripe_client, clock, START + 7 * DAY)
    for subscription in (first, second):
        card = stripe_client.v1.payment_methods.attach(
            "pm_card_chargeCustomerFail", params={"customer": subscription.customer}
        )
        stripe_client.v1.subscriptions.update(
            subscription.id, params={"default_payment_method": card.id}
        )
    # when: one resumes on the attempt (the default), the other only on success
    on_attempt = stripe_client.v1.subscriptions.resume(first.id)
    on_success = stripe_client.v1.subscriptions.resume(
        second.id, params={"payment_behavior": "resume_on_payment_success"}
    )
    # then: the first is past due, its invoice retried as a renewal's
    assert on_attempt.status == "past_due"
    retried = stripe_client.v1.invoices.retrieve(on_attempt.latest_invoice)
    assert retried.status == "open" and retried.next_payment_attempt is not None
    assert subscription_events(first.id, "customer.subscription.resumed")
    # the second stays paused; its invoice, unpaid 23 hours on, is voided
    assert on_success.status == "paused"
    resumption = stripe_client.v1.invoices.retrieve(on_success.latest_invoice)
    assert (resumption.status, resumption.next_payment_attempt) == ("open", None)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.subscriptions.resume(second.id)
    assert refused.value.param == "subscription"
    advance(stripe_client, clock, START + 7 * DAY + 24 * HOUR)
    assert stripe_client.v1.invoices.retrieve(resumption.id).status == "void"
    assert stripe_client.v1.subscriptions.retrieve(second.id).status == "paused"
    assert not subscription_events(second.id, "customer.subscription.resumed")
    # a good card, and it resumes
    visa = stripe_client.v1.payment_methods.attach(
        "pm_card_visa", params={"customer": second.customer}
    )
    stripe_client.v1.subscriptions.update(second.id, params={"default_payment_method": visa.id})
    assert stripe_client.v1.subscriptions.resume(second.id).status == "active"


def test_a_resumption_invoice_paid_later_resumes_it(stripe_client, clock):
    customer = client_without_card(stripe_client, clock)
    subscription = trial(stripe_client, customer, monthly_price(stripe_client), "pause")
    advance(stripe_client, clock, START + 7 * DAY)
    failing = stripe_client.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", params={"customer": customer.id}
    )
    stripe_client.v1.subscriptions.update(
        subscription.id, params={"default_payment_method": failing.id}
    )
    waiting = stripe_client.v1.subscriptions.resume(
        subscription.id, params={"payment_behavior": "resume_on_payment_success"}
    )
    assert waiting.status == "paused"
    visa = stripe_client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    stripe_client.v1.invoices.pay(waiting.latest_invoice, params={"payment_method": visa.id})
    resumed = stripe_client.v1.subscriptions.retrieve(subscription.id)
    assert resumed.status == "active"
    [event] = subscription_events(subscription.id, "customer.subscription.resumed")
    assert event["data"]["object"]["status"] == "active"


def test_a_trial_without_a_card_is_canceled_when_its_settings_say_so(stripe_client, clock):
    customer = client_without_card(stripe_client, clock)
    subscription = trial(stripe_client, customer, monthly_price(stripe_client), "cancel", days=2)
    # a trial of three days or less is warned of at once
    assert subscription_events(subscription.id, "customer.subscription.trial_will_end")
    advance(stripe_client, clock, START + 3 * DAY)
    ended = stripe_client.v1.subscriptions.retrieve(subscription.id)
    assert ended.status == "canceled" and ended.ended_at == START + 2 * DAY
    assert ended.cancellation_details.reason == "cancellation_requested"
    assert subscription_events(subscription.id, "customer.subscription.deleted")
    assert [i.amount_due for i in invoices_of(stripe_client, subscription)] == [0]
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.subscriptions.resume(subscription.id)
    assert refused.value.param == "subscription"


def test_a_trial_with_a_card_or_the_default_setting_bills_at_its_end(stripe_client, clock):
    price = monthly_price(stripe_client)
    with_card, _card = client_with_card(stripe_client, clock)
    carded = trial(stripe_client, with_card, price, "pause")
    cardless = stripe_client.v1.subscriptions.create(
        params={
            "customer": client_without_card(stripe_client, clock, "ben@example.test").id,
            "items": [{"price": price.id}],
            "trial_period_days": 7,
        }
    )
    assert cardless.trial_settings.end_behavior.missing_payment_method == "create_invoice"
    advance(stripe_client, clock, START + 7 * DAY)
    assert stripe_client.v1.subscriptions.retrieve(carded.id).status == "active"
    # create_invoice: the renewal is billed and fails for want of a card
    billed = stripe_client.v1.subscriptions.retrieve(cardless.id)
    assert billed.status == "past_due"
    # only a paused subscription is resumed
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.subscriptions.resume(carded.id)
    assert refused.value.user_message == "Only a paused subscription can be resumed."


def test_a_trial_collects_its_card_with_the_pending_setup_intent(stripe_client, clock):
    # given: a cardless trial made with default_incomplete, its card saved on the subscription
    customer = client_without_card(stripe_client, clock)
    subscription = stripe_client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": monthly_price(stripe_client).id}],
            "trial_period_days": 7,
            "payment_behavior": "default_incomplete",
            "payment_settings": {"save_default_payment_method": "on_subscription"},
            "trial_settings": {"end_behavior": {"missing_payment_method": "pause"}},
        }
    )
    assert subscription.status == "trialing"
    pending = stripe_client.v1.setup_intents.retrieve(subscription.pending_setup_intent)
    assert (pending.status, pending.customer, pending.usage) == (
        "requires_payment_method",
        customer.id,
        "off_session",
    )
    # when: the customer confirms it with a card
    confirmed = stripe_client.v1.setup_intents.confirm(
        pending.id, params={"payment_method": "pm_card_visa"}
    )
    # then: the card is the subscription's, the pending intent done
    updated = stripe_client.v1.subscriptions.retrieve(subscription.id)
    assert updated.pending_setup_intent is None
    assert updated.default_payment_method == confirmed.payment_method
    # and the trial's end bills it instead of pausing
    advance(stripe_client, clock, START + 7 * DAY)
    renewed = stripe_client.v1.subscriptions.retrieve(subscription.id)
    assert renewed.status == "active"
    assert stripe_client.v1.invoices.retrieve(renewed.latest_invoice).amount_paid == 24000


def test_the_card_that_pays_the_first_invoice_can_become_the_default(stripe_client, clock):
    customer = client_without_card(stripe_client, clock)
    subscription = stripe_client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": monthly_price(stripe_client).id}],
            "payment_behavior": "default_incomplete",
            "payment_settings": {"save_default_payment_method": "on_subscription"},
        }
    )
    assert subscription.pending_setup_intent is None  # there is an invoice to pay
    paid = stripe_client.v1.invoices.pay(
        subscription.latest_invoice, params={"payment_method": "pm_card_visa"}
    )
    assert paid.status == "paid"
    active = stripe_client.v1.subscriptions.retrieve(subscription.id)
    assert active.status == "active"
    assert active.default_payment_method is not None
    assert (
        stripe_client.v1.payment_methods.retrieve(active.default_payment_method).customer
        == customer.id
    )
