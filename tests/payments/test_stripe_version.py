"""The pinned API version is the one the installed ``stripe`` package is generated for, and the
local Stripe answers in it (the ``Stripe-Version`` header, events' ``api_version``)."""

from __future__ import annotations

import pytest
import stripe
from django.conf import settings

from payments.gateway import stripe_client
from payments.sandbox import controls


def test_the_pinned_api_version_is_the_one_the_stripe_package_is_generated_for():
    # ``stripe.api_version`` is the package's public name for ``_ApiVersion.CURRENT``.
    assert stripe.api_version == settings.STRIPE_API_VERSION
    assert stripe.VERSION.split(".")[0] == "16"


@pytest.mark.django_db
def test_the_local_stripe_answers_in_the_pinned_version(stripe_local):
    # when: the product's own client makes a request that records an event
    account = stripe_client().v1.accounts.create(
        params={"type": "express", "capabilities": {"transfers": {"requested": True}}}
    )
    controls.complete_onboarding(account.id)
    # then: the answer says which version it speaks, and the events are rendered in it
    assert account.last_response.headers["stripe-version"] == settings.STRIPE_API_VERSION
    updates = controls.events_of_type("account.updated")
    assert updates
    assert {event["api_version"] for event in updates} == {settings.STRIPE_API_VERSION}
