"""A coach who earns in euros sees euros: a chart, totals and transfers per currency earned,
and the line that explains why a transfer is more than what the coach keeps."""

from __future__ import annotations

import re

from django.urls import reverse

from payments import selectors
from payments.gateway import stripe_client
from payments.sandbox import controls


def _pay(destination: str, amount: int, fee: int, currency: str) -> dict:
    session = stripe_client().v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {
                        "currency": currency,
                        "unit_amount": amount,
                        "product_data": {"name": "Coaching session"},
                    },
                    "quantity": 1,
                }
            ],
            "payment_intent_data": {
                "application_fee_amount": fee,
                "transfer_data": {"destination": destination},
            },
            "success_url": "http://testserver/ok",
            "cancel_url": "http://testserver/cancel",
        },
        options={"idempotency_key": f"test-eur-{destination}-{amount}-{currency}"},
    )
    return controls.pay_checkout_session(session.id)


def test_euro_earnings_have_their_own_chart_totals_and_transfers(
    active_account, connect_coach, client, django_capture_on_commit_callbacks
):
    # given: an account whose default currency is the platform's (USD), paid in euros only
    destination = active_account.stripe_account_id
    with django_capture_on_commit_callbacks(execute=True):
        _pay(destination, 9500, 1425, "eur")
    # when
    earnings = selectors.coach_earnings(connect_coach)
    client.force_login(connect_coach)
    page = client.get(reverse("payments:earnings")).content.decode()
    # then: the main currency is the one earned, with its months
    assert earnings.currency == "eur"
    assert list(earnings.months_by_currency) == ["eur"]
    assert sum(month.amount for month in earnings.by_month) == 8075
    charts = re.findall(r'data-testid="earnings-chart" data-currency="(\w+)"', page)
    assert charts == ["eur"]
    assert 'data-amount="€80.75"' in page
    assert "amounts in USD" not in page
    assert '<tr data-currency="eur">' in page and "€95.00" in page
    assert "platform fee is then taken from it" in page


def test_two_currencies_get_two_charts(
    active_account, connect_coach, client, django_capture_on_commit_callbacks
):
    destination = active_account.stripe_account_id
    with django_capture_on_commit_callbacks(execute=True):
        _pay(destination, 9500, 1425, "eur")
        _pay(destination, 20000, 3000, "usd")
        _pay(destination, 10000, 1500, "usd")
    client.force_login(connect_coach)
    page = client.get(reverse("payments:earnings")).content.decode()
    charts = re.findall(r'data-testid="earnings-chart" data-currency="(\w+)"', page)
    assert charts == ["usd", "eur"]
    assert 'data-amount="$255.00"' in page and 'data-amount="€80.75"' in page
