"""Races as races: balance-changing requests at the same instant on separate connections."""

from __future__ import annotations

import threading

import pytest
import stripe
from django.db import connection

from payments.gateway import stripe_client
from payments.sandbox import controls


def _in_threads(count: int, work) -> tuple[list, list]:
    barrier = threading.Barrier(count)
    results: list = []
    failures: list = []

    def run():
        try:
            barrier.wait(5)
            results.append(work())
        except stripe.StripeError as exc:
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results, failures


@pytest.mark.django_db(transaction=True)
def test_two_transfers_cannot_both_spend_the_same_available_balance():
    # given: 100.00 gross available on the platform, an account to pay
    client = stripe_client()
    account = client.v1.accounts.create(
        params={"type": "express", "capabilities": {"transfers": {"requested": True}}}
    )
    controls.complete_onboarding(account.id)
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {
                        "currency": "usd",
                        "unit_amount": 10000,
                        "product_data": {"name": "Top-up"},
                    },
                    "quantity": 1,
                }
            ],
        }
    )
    controls.pay_checkout_session(session.id, card="4000000000000077")
    available = controls.balance()["usd"]["available"]
    assert available == 10000 - 320
    # when: two transfers of 60.00 at once
    results, failures = _in_threads(
        2,
        lambda: client.v1.transfers.create(
            params={"amount": 6000, "currency": "usd", "destination": account.id}
        ),
    )
    # then: exactly one went through; the balance never went below zero
    assert len(results) == 1 and len(failures) == 1
    assert failures[0].code == "balance_insufficient"
    assert controls.balance()["usd"]["available"] == available - 6000
    assert controls.balance(account.id)["usd"]["available"] == 6000


@pytest.mark.django_db(transaction=True)
def test_two_refunds_at_once_never_refund_more_than_was_charged():
    client = stripe_client()
    account = client.v1.accounts.create(
        params={"type": "express", "capabilities": {"transfers": {"requested": True}}}
    )
    controls.complete_onboarding(account.id)
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {
                        "currency": "usd",
                        "unit_amount": 10000,
                        "product_data": {"name": "Session"},
                    },
                    "quantity": 1,
                }
            ],
            "payment_intent_data": {
                "application_fee_amount": 1000,
                "transfer_data": {"destination": account.id},
            },
        }
    )
    paid = controls.pay_checkout_session(session.id)
    results, failures = _in_threads(
        3,
        lambda: client.v1.refunds.create(
            params={
                "payment_intent": paid["payment_intent"],
                "amount": 6000,
                "reverse_transfer": True,
            }
        ),
    )
    assert len(results) == 1 and len(failures) == 2
    assert {f.code for f in failures} == {"amount_too_large"}
    intent = client.v1.payment_intents.retrieve(
        paid["payment_intent"], params={"expand": ["latest_charge"]}
    )
    assert intent.latest_charge.amount_refunded == 6000
    transfer = client.v1.transfers.retrieve(intent.latest_charge.transfer)
    assert transfer.amount_reversed == 6000
