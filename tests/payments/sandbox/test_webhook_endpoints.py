"""The local Stripe's ``/v1/webhook_endpoints``, through the stripe library."""

from __future__ import annotations

import pytest
import stripe
from django.conf import settings

from payments.sandbox import controls
from payments.sandbox.models import WebhookDelivery

pytestmark = pytest.mark.django_db


def test_create_retrieve_update_list_and_delete(stripe_client, sandbox):
    # when: a Connect endpoint is created
    created = stripe_client.v1.webhook_endpoints.create(
        params={
            "url": "https://coach.example.com/payments/webhooks/stripe/connect/",
            "enabled_events": ["account.updated", "payout.paid"],
            "connect": True,
            "metadata": {"coach_connect_endpoint": "connect"},
        }
    )
    # then: Stripe's shape; the secret only in this answer; events in the pinned version
    assert created.id.startswith("we_") and created.object == "webhook_endpoint"
    assert created.secret.startswith("whsec_")
    assert created.status == "enabled" and created.livemode is False
    assert created.api_version == settings.STRIPE_API_VERSION
    fetched = stripe_client.v1.webhook_endpoints.retrieve(created.id)
    assert "secret" not in fetched
    assert fetched.enabled_events == ["account.updated", "payout.paid"]
    # when: disabled and given other types
    updated = stripe_client.v1.webhook_endpoints.update(
        created.id, params={"enabled_events": ["account.updated"], "disabled": True}
    )
    assert updated.status == "disabled" and updated.enabled_events == ["account.updated"]
    listed = stripe_client.v1.webhook_endpoints.list(params={"limit": 100})
    assert created.id in [endpoint.id for endpoint in listed.data]
    # then: a disabled endpoint gets nothing
    account = stripe_client.v1.accounts.create(params={"type": "express"})
    controls.complete_onboarding(account.id)
    assert not WebhookDelivery.objects.filter(endpoint__stripe_id=created.id).exists()
    # when: deleted
    deleted = stripe_client.v1.webhook_endpoints.delete(created.id)
    assert deleted.deleted is True
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe_client.v1.webhook_endpoints.retrieve(created.id)
    assert missing.value.code == "resource_missing"


@pytest.mark.stripe_wrong_requests
def test_enabled_events_are_the_types_stripe_knows(stripe_client, sandbox):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.webhook_endpoints.create(
            params={"url": "https://coach.example.com/hooks/", "enabled_events": ["payout.arrived"]}  # type: ignore[list-item]
        )
    assert caught.value.param == "enabled_events[0]"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.webhook_endpoints.create(
            params={"url": "not a url", "enabled_events": ["*"]}
        )
    assert caught.value.param == "url"


def test_an_endpoint_receives_only_its_enabled_types(stripe_client, sandbox):
    endpoint = stripe_client.v1.webhook_endpoints.create(
        params={
            "url": "https://coach.example.com/payments/webhooks/stripe/connect/",
            "enabled_events": ["capability.updated"],
            "connect": True,
        }
    )
    account = stripe_client.v1.accounts.create(
        params={"type": "express", "capabilities": {"transfers": {"requested": True}}}
    )
    controls.complete_onboarding(account.id)
    types = set(
        WebhookDelivery.objects.filter(endpoint__stripe_id=endpoint.id).values_list(
            "event_type", flat=True
        )
    )
    assert types == {"capability.updated"}
