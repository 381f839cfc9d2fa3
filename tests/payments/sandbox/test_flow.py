"""Acceptance 5: one scripted flow through the real ``stripe`` library, webhooks and all."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest
from django.test import Client

from payments.sandbox import controls

RECEIVER_URLS = "tests.payments.sandbox.receiver_urls"


def _types(received, endpoint):
    return [item["event"]["type"] for item in received if item["endpoint"] == endpoint]


def _sum_balance_transactions(stripe_client, account=None):
    options = {"stripe_account": account} if account else {}
    totals = defaultdict(int)
    page = stripe_client.v1.balance_transactions.list(params={"limit": 100}, options=options)
    for txn in page.auto_paging_iter():
        totals[txn.status] += txn.net
    return totals


@pytest.mark.urls(RECEIVER_URLS)
@pytest.mark.django_db(transaction=True)
def test_express_account_destination_charge_refund_and_balances(stripe_client, received):
    controls.register_default_endpoints()
    browser = Client()

    # given: an Express account onboarded through the hosted page
    account = stripe_client.v1.accounts.create(
        params={
            "type": "express",
            "country": "US",
            "email": "coach@example.com",
            "capabilities": {
                "card_payments": {"requested": True},
                "transfers": {"requested": True},
            },
        },
        options={"idempotency_key": "account-1-create"},
    )
    link = stripe_client.v1.account_links.create(
        params={
            "account": account.id,
            "type": "account_onboarding",
            "refresh_url": "http://127.0.0.1:8000/coaches/payouts/refresh/",
            "return_url": "http://127.0.0.1:8000/coaches/payouts/return/",
        }
    )
    page = browser.get(link.url)
    assert page.status_code == 200
    assert b"Test mode" in page.content
    session_token = re.search(rb'name="session" value="([^"]+)"', page.content).group(1).decode()
    done = browser.post(
        link.url,
        {
            "session": session_token,
            "first_name": "Ada",
            "last_name": "Lovelace",
            "date_of_birth": "1990-01-01",
            "phone": "0000000000",
            "address_line1": "address_full_match",
            "city": "Schenectady",
            "state": "NY",
            "postal_code": "12345",
            "ssn_last_4": "0000",
            "routing_number": "110000000",
            "account_number": "000123456789",
            "outcome": "complete",
        },
    )
    assert done.status_code == 302
    assert done["Location"] == "http://127.0.0.1:8000/coaches/payouts/return/"
    # A used link sends the browser to refresh_url, as Stripe does.
    again = browser.get(link.url)
    assert again["Location"] == "http://127.0.0.1:8000/coaches/payouts/refresh/"
    account = stripe_client.v1.accounts.retrieve(account.id)
    assert account.charges_enabled and account.payouts_enabled and account.details_submitted
    assert account.requirements.currently_due == []
    connect_events = [i["event"] for i in received if i["endpoint"] == "connect"]
    assert "account.updated" in [e["type"] for e in connect_events]
    assert all(e["account"] == account.id for e in connect_events)

    # when: a client pays a Checkout Session with a destination charge and an application fee
    session = stripe_client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {
                        "currency": "usd",
                        "unit_amount": 10000,
                        "product_data": {"name": "60-minute coaching session"},
                    },
                    "quantity": 1,
                }
            ],
            "payment_intent_data": {
                "application_fee_amount": 1500,
                "transfer_data": {"destination": account.id},
                "metadata": {"booking_id": "42"},
            },
            "client_reference_id": "booking-42",
            "customer_email": "client@example.com",
            "success_url": "http://127.0.0.1:8000/bookings/42/paid?session={CHECKOUT_SESSION_ID}",
            "cancel_url": "http://127.0.0.1:8000/bookings/42/",
        },
        options={"idempotency_key": "booking-42-checkout"},
    )
    assert session.id.startswith("cs_test_")
    assert session.status == "open"
    assert session.payment_intent is None
    checkout_page = browser.get(session.url)
    assert b"Pay $100.00" in checkout_page.content
    paid = browser.post(
        session.url,
        {
            "email": "client@example.com",
            "card_number": "4242 4242 4242 4242",
            "expiry": "12 / 34",
            "cvc": "123",
            "name": "Client",
        },
    )
    assert paid.status_code == 302
    assert paid["Location"] == (f"http://127.0.0.1:8000/bookings/42/paid?session={session.id}")

    # then: the events arrived, signed, at the platform endpoint
    platform_types = _types(received, "platform")
    for expected in (
        "payment_intent.created",
        "charge.succeeded",
        "transfer.created",
        "application_fee.created",
        "payment_intent.succeeded",
        "checkout.session.completed",
    ):
        assert expected in platform_types
    completed = next(
        i["event"] for i in received if i["event"]["type"] == "checkout.session.completed"
    )
    assert completed["data"]["object"]["id"] == session.id
    assert completed["data"]["object"]["client_reference_id"] == "booking-42"

    session = stripe_client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["payment_intent.latest_charge"]}
    )
    assert session.payment_status == "paid"
    intent = session.payment_intent
    charge = intent.latest_charge
    assert intent.status == "succeeded"
    assert intent.metadata["booking_id"] == "42"
    assert charge.amount == 10000 and charge.paid
    fee = stripe_client.v1.application_fees.retrieve(charge.application_fee)
    assert fee.amount == 1500
    assert fee.account == account.id
    transfer = stripe_client.v1.transfers.retrieve(charge.transfer)
    assert transfer.destination == account.id
    assert transfer.amount == 10000
    assert transfer.source_transaction == charge.id

    # when: part of it is refunded, reversing the transfer and the fee in proportion
    refund = stripe_client.v1.refunds.create(
        params={
            "payment_intent": intent.id,
            "amount": 4000,
            "reverse_transfer": True,
            "refund_application_fee": True,
        },
        options={"idempotency_key": "booking-42-refund-1"},
    )
    assert refund.status == "succeeded"
    assert refund.transfer_reversal.startswith("trr_")
    assert "charge.refunded" in _types(received, "platform")
    assert "transfer.reversed" in _types(received, "platform")

    # then: both balances add up to the cent
    stripe_fee = 290 + 30
    platform_expected = 10000 - stripe_fee - 10000 + 1500 - 4000 + 4000 - 600
    connected_expected = 10000 - 1500 - 4000 + 600
    platform = stripe_client.v1.balance.retrieve()
    connected = stripe_client.v1.balance.retrieve(options={"stripe_account": account.id})
    assert platform.pending[0].amount + platform.available[0].amount == platform_expected == 580
    assert connected.pending[0].amount + connected.available[0].amount == connected_expected
    assert connected_expected == 5100
    # Refunds and reversals take effect at once; the charge's funds are still pending.
    assert platform.pending[0].amount == 10000 - stripe_fee - 10000 + 1500
    assert platform.available[0].amount == -4000 + 4000 - 600
    assert _sum_balance_transactions(stripe_client) == {
        "pending": platform.pending[0].amount,
        "available": platform.available[0].amount,
    }
    assert sum(_sum_balance_transactions(stripe_client, account.id).values()) == 5100

    # when: time passes, funds become available and the daily payout arrives
    controls.advance_clock(4 * 86400)
    connected = stripe_client.v1.balance.retrieve(options={"stripe_account": account.id})
    assert connected.available[0].amount == 0
    assert connected.pending[0].amount == 0
    payouts = stripe_client.v1.payouts.list(options={"stripe_account": account.id})
    assert [p.amount for p in payouts.data] == [5100]
    assert payouts.data[0].status == "paid"
    paid_events = [i for i in received if i["event"]["type"] == "payout.paid"]
    assert paid_events and paid_events[0]["endpoint"] == "connect"
    assert paid_events[0]["event"]["account"] == account.id
    platform = stripe_client.v1.balance.retrieve()
    assert platform.available[0].amount == 580
