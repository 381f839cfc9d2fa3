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
