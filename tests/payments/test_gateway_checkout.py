"""The Checkout Session awaited on the event loop (``gateway.checkout_session_create_async``)
against the local Stripe through the real ``stripe`` library: the session it reads from
Stripe's answer, the idempotency key, and Stripe's refusal of an ``expires_at``."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from payments import gateway


def _run(coroutine):
    """``asyncio.run`` on a thread of its own: a test before this one may have left this
    thread's event loop running (a browser test's)."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


def _fields(account, *, expires_in: timedelta) -> dict:
    expires_at = (datetime.now(tz=UTC) + expires_in).replace(microsecond=0)
    return {
        "amount": 5000,
        "currency": "usd",
        "product_name": "Coaching session with Ada",
        "customer_email": "client@example.com",
        "success_url": "http://testserver/paid/?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://testserver/pay/",
        "expires_at": expires_at,
        "metadata": {"payment_id": "41", "booking_id": "7"},
        "application_fee_amount": 500,
        "destination": account.stripe_account_id,
    }


def test_the_async_session_is_the_one_stripe_made(transactional_db, active_account):
    # given
    fields = _fields(active_account, expires_in=timedelta(minutes=33))
    # when
    session = _run(
        gateway.checkout_session_create_async(idempotency_key="payment-41-checkout", **fields)
    )
    # then: what the product reads of the answer is what Stripe keeps
    assert session.id.startswith("cs_test_")
    assert session.url and session.status == "open" and session.payment_status == "unpaid"
    assert session.expires_at == fields["expires_at"]
    assert session.created is not None
    assert session.metadata == {"payment_id": "41", "booking_id": "7"}
    assert gateway.checkout_session_retrieve(session.id) == session


def test_the_same_key_gets_the_same_session_back(transactional_db, active_account):
    fields = _fields(active_account, expires_in=timedelta(minutes=33))

    async def twice():
        first = await gateway.checkout_session_create_async(idempotency_key="k-1", **fields)
        again = await gateway.checkout_session_create_async(idempotency_key="k-1", **fields)
        return first, again

    first, again = _run(twice())
    assert first.id == again.id


def test_a_refused_expires_at_is_a_gateway_error_on_that_parameter(
    transactional_db, active_account
):
    fields = _fields(active_account, expires_in=timedelta(minutes=5))
    with pytest.raises(gateway.GatewayError) as refused:
        _run(gateway.checkout_session_create_async(idempotency_key="k-2", **fields))
    assert refused.value.param == "expires_at"
    assert refused.value.http_status == 400
