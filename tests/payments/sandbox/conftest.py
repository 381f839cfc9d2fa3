"""Fixtures for the local Stripe's tests: the product's own Stripe client (in-process)."""

from __future__ import annotations

import pytest


@pytest.fixture
def stripe_client():
    from payments.gateway import stripe_client

    return stripe_client()


@pytest.fixture
def sandbox(db):
    from payments.sandbox import controls

    controls.reset()
    controls.register_default_endpoints()
    return controls


@pytest.fixture
def received():
    """Events the test receivers got (use with ``@pytest.mark.urls(RECEIVER_URLS)``)."""
    from tests.payments.sandbox import receiver_urls

    receiver_urls.RECEIVED.clear()
    receiver_urls.FAIL_NEXT.clear()
    yield receiver_urls.RECEIVED
    receiver_urls.RECEIVED.clear()
    receiver_urls.FAIL_NEXT.clear()
