"""Subscriptions and invoices on the local Stripe, through the real library and a test
clock: renewals, a failing card and its retries, paying the invoice, cancellation at period
end, proration, paused collection, and a Connect subscription's money."""

from __future__ import annotations

import pytest
import stripe

from payments.sandbox import billing, controls
from tests.payments.sandbox.test_rules import account

START = 1_800_000_000  # 2027-01-15, a fixed frozen time
DAY = 86400


@pytest.fixture
def clock(stripe_client, sandbox):
    return stripe_client.v1.test_helpers.test_clocks.create(params={"frozen_time": START})


def advance(stripe_client, clock, to):
    stripe_client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": to})


def monthly_price(stripe_client, amount=24000):
    return stripe_client.v1.prices.create(
        params={
            "currency": "usd",
            "unit_amount": amount,
            "recurring": {"interval": "month"},
            "product_data": {"name": "4 sessions a month"},
        }
    )


def client_with_card(stripe_client, clock, test_method="pm_card_visa"):
    customer = stripe_client.v1.customers.create(
        params={"email": "maya@example.test", "test_clock": clock.id}
    )
    card = stripe_client.v1.payment_methods.attach(test_method, params={"customer": customer.id})
    stripe_client.v1.customers.update(
        customer.id, params={"invoice_settings": {"default_payment_method": card.id}}
    )
    return customer, card


def subscribe(stripe_client, customer, price, **extra):
    return stripe_client.v1.subscriptions.create(
        params={"customer": customer.id, "items": [{"price": price.id}], **extra}
    )


def invoices_of(stripe_client, subscription):
    return stripe_client.v1.invoices.list(params={"subscription": subscription.id}).data


def test_a_subscription_renews_each_month_on_its_test_clock(stripe_client, clock):
    customer, _card = client_with_card(stripe_client, clock)
    price = monthly_price(stripe_client)
    subscription = subscribe(stripe_client, customer, price)
    assert subscription.status == "active"
    item = subscription["items"].data[0]
    assert (item.current_period_start, item.current_period_end) == (START, START + 31 * DAY)
    [first] = invoices_of(stripe_client, subscription)
    assert (first.status, first.amount_paid, first.billing_reason) == (
        "paid",
        24000,
        "subscription_create",
    )
    assert first.number and first.hosted_invoice_url and first.invoice_pdf
    # three renewals, each at its period's end
    moment = START
    for _ in range(3):
        moment = billing.add_interval(moment, "month", 1)
        advance(stripe_client, clock, moment)
    invoices = invoices_of(stripe_client, subscription)
    assert [i.status for i in invoices] == ["paid"] * 4
    assert sorted(i.created for i in invoices)[1:] == [
        billing.add_interval(START, "month", n) for n in (1, 2, 3)
    ]
    assert {i.billing_reason for i in invoices[:3]} == {"subscription_cycle"}
    assert len(controls.events_of_type("invoice.paid")) == 4
    # a week before each renewal Stripe says what is coming
    assert len(controls.events_of_type("invoice.upcoming")) >= 3
    # invoice numbers follow the customer's sequence
    assert len({i.number for i in invoices}) == 4


def test_a_failing_card_makes_it_past_due_and_paying_the_invoice_restores_it(stripe_client, clock):
    customer, card = client_with_card(stripe_client, clock, "pm_card_chargeCustomerFail")
    price = monthly_price(stripe_client)
    visa = stripe_client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    subscription = subscribe(stripe_client, customer, price, default_payment_method=visa.id)
    assert subscription.status == "active"
    # the renewal bills the subscription's card: make it the failing one
    stripe_client.v1.subscriptions.update(
        subscription.id, params={"default_payment_method": card.id}
    )
    renewal = billing.add_interval(START, "month", 1)
    advance(stripe_client, clock, renewal)
    assert stripe_client.v1.subscriptions.retrieve(subscription.id).status == "past_due"
    open_invoice = invoices_of(stripe_client, subscription)[0]
    assert (open_invoice.status, open_invoice.attempt_count) == ("open", 1)
    assert open_invoice.next_payment_attempt == renewal + billing.RETRY_DAYS[0] * DAY
    assert controls.events_of_type("invoice.payment_failed")
    # the client pays it with the good card
    paid = stripe_client.v1.invoices.pay(open_invoice.id, params={"payment_method": visa.id})
    assert paid.status == "paid"
    assert stripe_client.v1.subscriptions.retrieve(subscription.id).status == "active"


def test_retries_running_out_end_the_subscription(stripe_client, clock):
    customer, _card = client_with_card(stripe_client, clock, "pm_card_chargeCustomerFail")
    price = monthly_price(stripe_client)
    trial = subscribe(stripe_client, customer, price, trial_period_days=7)
    assert trial.status == "trialing"
    advance(stripe_client, clock, START + 7 * DAY)
    assert stripe_client.v1.subscriptions.retrieve(trial.id).status == "past_due"
    advance(stripe_client, clock, START + 7 * DAY + (billing.RETRY_DAYS[-1] + 1) * DAY)
    ended = stripe_client.v1.subscriptions.retrieve(trial.id)
    assert ended.status == "canceled"
    assert ended.cancellation_details.reason == "payment_failed"
    [invoice] = [i for i in invoices_of(stripe_client, trial) if i.amount_due]
    assert invoice.attempt_count == 1 + len(billing.RETRY_DAYS)
    assert controls.events_of_type("customer.subscription.deleted")


def test_the_dashboard_setting_can_leave_it_unpaid(stripe_client, clock):
    controls.set_failed_renewal_outcome("unpaid")
    customer, _card = client_with_card(stripe_client, clock, "pm_card_chargeCustomerFail")
    subscription = subscribe(
        stripe_client, customer, monthly_price(stripe_client), trial_period_days=1
    )
    advance(stripe_client, clock, START + DAY + 20 * DAY)
    assert stripe_client.v1.subscriptions.retrieve(subscription.id).status == "unpaid"


def test_cancel_at_period_end_ends_it_then_and_resuming_keeps_it(stripe_client, clock):
    customer, _card = client_with_card(stripe_client, clock)
    price = monthly_price(stripe_client)
    kept = subscribe(stripe_client, customer, price)
    ended = subscribe(stripe_client, customer, price)
    for subscription in (kept, ended):
        stripe_client.v1.subscriptions.update(
            subscription.id, params={"cancel_at_period_end": True}
        )
    stripe_client.v1.subscriptions.update(kept.id, params={"cancel_at_period_end": False})
    advance(stripe_client, clock, billing.add_interval(START, "month", 1))
    assert stripe_client.v1.subscriptions.retrieve(kept.id).status == "active"
    finished = stripe_client.v1.subscriptions.retrieve(ended.id)
    assert finished.status == "canceled" and finished.ended_at == billing.add_interval(
        START, "month", 1
    )
    assert len(invoices_of(stripe_client, ended)) == 1  # nothing billed after its end


def test_an_upgrade_prorates_onto_the_next_invoice(stripe_client, clock):
    customer, _card = client_with_card(stripe_client, clock)
    small, large = monthly_price(stripe_client, 10000), monthly_price(stripe_client, 20000)
    subscription = subscribe(stripe_client, customer, small)
    item = subscription["items"].data[0]
    period = item.current_period_end - item.current_period_start
    advance(stripe_client, clock, START + period // 2)
    stripe_client.v1.subscriptions.update(
        subscription.id, params={"items": [{"id": item.id, "price": large.id}]}
    )
    advance(stripe_client, clock, item.current_period_end)
    renewal = invoices_of(stripe_client, subscription)[0]
    amounts = sorted(line.amount for line in renewal.lines.data)
    # half a month of the small price back, half a month of the large one, the new month
    assert amounts == [-5000, 10000, 20000]
    assert renewal.amount_paid == 25000


def test_paused_collection_voids_the_invoices_of_the_pause(stripe_client, clock):
    customer, _card = client_with_card(stripe_client, clock)
    subscription = subscribe(stripe_client, customer, monthly_price(stripe_client))
    stripe_client.v1.subscriptions.update(
        subscription.id, params={"pause_collection": {"behavior": "void"}}
    )
    advance(stripe_client, clock, billing.add_interval(START, "month", 1))
    assert [i.status for i in invoices_of(stripe_client, subscription)] == ["void", "paid"]
    stripe_client.v1.subscriptions.update(subscription.id, params={"pause_collection": ""})
    advance(stripe_client, clock, billing.add_interval(START, "month", 2))
    assert invoices_of(stripe_client, subscription)[0].status == "paid"


def test_a_connect_subscription_pays_the_coach_and_keeps_the_fee(stripe_client, clock):
    coach = account(stripe_client)
    customer, _card = client_with_card(stripe_client, clock)
    subscription = subscribe(
        stripe_client,
        customer,
        monthly_price(stripe_client),
        transfer_data={"destination": coach.id},
        application_fee_percent=15,
    )
    [listed] = invoices_of(stripe_client, subscription)
    # an invoice's payments are Stripe's includable field: there only when expanded
    assert "payments" not in listed
    invoice = stripe_client.v1.invoices.retrieve(listed.id, params={"expand": ["payments"]})
    assert invoice.application_fee_amount == 3600
    assert invoice.transfer_data.destination == coach.id
    intent_id = invoice.payments.data[0].payment.payment_intent
    intent = stripe_client.v1.payment_intents.retrieve(intent_id)
    charge = stripe_client.v1.charges.retrieve(intent.latest_charge)
    transfer = stripe_client.v1.transfers.retrieve(charge.transfer)
    assert (transfer.amount, transfer.destination) == (24000, coach.id)
    fee = stripe_client.v1.application_fees.retrieve(charge.application_fee)
    assert fee.amount == 3600


def test_a_connect_subscriptions_fee_percent_changes_for_the_next_invoices(stripe_client, clock):
    coach = account(stripe_client)
    customer, _card = client_with_card(stripe_client, clock)
    subscription = subscribe(
        stripe_client,
        customer,
        monthly_price(stripe_client),
        transfer_data={"destination": coach.id},
        application_fee_percent=15,
    )
    changed = stripe_client.v1.subscriptions.update(
        subscription.id, params={"application_fee_percent": 5}
    )
    assert changed.application_fee_percent == 5
    advance(stripe_client, clock, billing.add_interval(START, "month", 1))
    first, renewal = sorted(invoices_of(stripe_client, subscription), key=lambda i: i.created)
    assert (first.application_fee_amount, renewal.application_fee_amount) == (3600, 1200)
    # refused: a bad percent, and a percent on a subscription paying the platform alone
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.subscriptions.update(
            subscription.id, params={"application_fee_percent": 5.555}
        )
    assert refused.value.param == "application_fee_percent"
    platform_only = subscribe(stripe_client, customer, monthly_price(stripe_client))
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.subscriptions.update(
            platform_only.id, params={"application_fee_percent": 5}
        )
    assert refused.value.param == "application_fee_percent"
    assert "transfer_data[destination]" in refused.value.user_message


def test_bad_subscriptions_are_refused_by_name(stripe_client, clock):
    customer, _card = client_with_card(stripe_client, clock)
    one_time = stripe_client.v1.prices.create(
        params={"currency": "usd", "unit_amount": 100, "product_data": {"name": "Once"}}
    )
    with pytest.raises(stripe.InvalidRequestError) as refused:
        subscribe(stripe_client, customer, one_time)
    assert refused.value.param == "items[0][price]"
    with pytest.raises(stripe.InvalidRequestError) as refused:
        subscribe(stripe_client, customer, monthly_price(stripe_client), application_fee_percent=10)
    assert refused.value.param == "application_fee_percent"
    declined_customer, _ = client_with_card(stripe_client, clock, "pm_card_chargeDeclined")
    with pytest.raises(stripe.CardError) as declined:
        subscribe(
            stripe_client,
            declined_customer,
            monthly_price(stripe_client),
            payment_behavior="error_if_incomplete",
        )
    assert declined.value.code == "card_declined"
    # the failed attempt is recorded all the same
    assert controls.events_of_type("invoice.payment_failed")


def test_an_invoice_has_a_hosted_page_and_a_pdf(stripe_client, clock, client):
    from urllib.parse import urlsplit

    customer, _card = client_with_card(stripe_client, clock)
    subscription = subscribe(stripe_client, customer, monthly_price(stripe_client))
    [invoice] = invoices_of(stripe_client, subscription)
    page = client.get(urlsplit(invoice.hosted_invoice_url).path)
    assert page.status_code == 200
    assert invoice.number.encode() in page.content and b"$240.00" in page.content
    assert b"Paid" in page.content and b"4 sessions a month" in page.content
    pdf = client.get(urlsplit(invoice.invoice_pdf).path)
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert f"Invoice {invoice.number}".encode() in pdf.content
    assert b"$240.00" in pdf.content
    assert client.get("/_stripe/invoices/unknown/").status_code == 404
    assert client.get("/_stripe/invoices/unknown/pdf/").status_code == 404


def test_each_attempt_is_an_invoice_payment_found_by_its_payment_intent(stripe_client, clock):
    customer, card = client_with_card(stripe_client, clock, "pm_card_chargeCustomerFail")
    visa = stripe_client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    subscription = subscribe(
        stripe_client, customer, monthly_price(stripe_client), default_payment_method=visa.id
    )
    stripe_client.v1.subscriptions.update(
        subscription.id, params={"default_payment_method": card.id}
    )
    # the renewal fails, the first retry fails, then the client pays with the good card
    renewal = billing.add_interval(START, "month", 1)
    advance(stripe_client, clock, renewal + billing.RETRY_DAYS[0] * DAY)
    open_invoice = invoices_of(stripe_client, subscription)[0]
    assert open_invoice.attempt_count == 2
    stripe_client.v1.invoices.pay(open_invoice.id, params={"payment_method": visa.id})
    invoice = stripe_client.v1.invoices.retrieve(open_invoice.id, params={"expand": ["payments"]})
    attempts = invoice.payments.data
    assert [p.status for p in attempts] == ["canceled", "canceled", "paid"]
    assert [p.is_default for p in attempts] == [False, False, True]
    paid = attempts[-1]
    assert (paid.amount_paid, paid.amount_requested) == (24000, 24000)
    assert paid.status_transitions.paid_at and attempts[0].status_transitions.canceled_at
    # each PaymentIntent leads back to its invoice
    for attempt in attempts:
        (found,) = stripe_client.v1.invoice_payments.list(
            params={
                "payment": {
                    "type": "payment_intent",
                    "payment_intent": attempt.payment.payment_intent,
                }
            }
        ).data
        assert (found.id, found.invoice) == (attempt.id, invoice.id)
    assert stripe_client.v1.invoice_payments.retrieve(paid.id).status == "paid"
    listed = stripe_client.v1.invoice_payments.list(params={"invoice": invoice.id, "limit": 2})
    assert [p.id for p in listed.data] == [attempts[2].id, attempts[1].id] and listed.has_more
    assert [
        p.id
        for p in stripe_client.v1.invoice_payments.list(
            params={"invoice": invoice.id, "status": "paid"}
        ).data
    ] == [paid.id]
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe_client.v1.invoice_payments.retrieve("inpay_unknown")
    assert missing.value.http_status == 404 and missing.value.code == "resource_missing"


def test_a_connect_downgrade_credited_in_full_takes_no_fee(stripe_client, clock):
    coach = account(stripe_client)
    customer, _card = client_with_card(stripe_client, clock)
    large, small = monthly_price(stripe_client, 20000), monthly_price(stripe_client, 5000)
    subscription = subscribe(
        stripe_client,
        customer,
        large,
        transfer_data={"destination": coach.id},
        application_fee_percent=15,
    )
    item = subscription["items"].data[0]
    advance(stripe_client, clock, START + 5 * DAY)
    stripe_client.v1.subscriptions.update(
        subscription.id,
        params={
            "items": [{"id": item.id, "price": small.id}],
            "proration_behavior": "always_invoice",
        },
    )
    credit = invoices_of(stripe_client, subscription)[0]
    assert credit.billing_reason == "subscription_update" and credit.total < 0
    assert (credit.status, credit.amount_due, credit.application_fee_amount) == ("paid", 0, 0)
