"""Acceptance 4 and event delivery: signatures as Stripe signs, routing to the platform and
Connect endpoints, retries with backoff, pausing, ordering and duplicates, a real worker."""

from __future__ import annotations

import json
import time
from datetime import datetime

import pytest
import stripe
from django.conf import settings

from payments.sandbox import controls, events
from payments.sandbox.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from tests.conftest import wait_for

RECEIVER_URLS = "tests.payments.sandbox.receiver_urls"


def _onboarded_account(stripe_client):
    account = stripe_client.v1.accounts.create(
        params={
            "type": "express",
            "capabilities": {
                "card_payments": {"requested": True},
                "transfers": {"requested": True},
            },
        }
    )
    controls.complete_onboarding(account.id)
    return account


def _pending_delivery_payload(stripe_client) -> tuple[str, str]:
    """Make an event and return (body, Stripe-Signature) exactly as the endpoint received
    them: delivered through the test receiver, which verified them with the official library."""
    from tests.payments.sandbox import receiver_urls

    controls.pause_deliveries()
    account = stripe_client.v1.accounts.create(params={"type": "express"})
    controls.update_account(account.id, past_due=["external_account"])
    assert controls.deliver_pending_events() == [200]
    delivered = receiver_urls.RECEIVED[-1]
    assert delivered["endpoint"] == "connect"
    return delivered["body"], delivered["signature"]


# --- signatures ----------------------------------------------------------------------------


@pytest.mark.urls(RECEIVER_URLS)
@pytest.mark.django_db
def test_the_official_library_accepts_the_signature(stripe_client, sandbox, received):
    payload, header = _pending_delivery_payload(stripe_client)
    event = stripe.Webhook.construct_event(
        payload, header, settings.STRIPE_CONNECT_WEBHOOK_SECRETS[0]
    )
    assert event.type == "account.updated"
    assert header.startswith("t=") and ",v1=" in header


@pytest.mark.urls(RECEIVER_URLS)
@pytest.mark.django_db
def test_a_tampered_body_is_rejected(stripe_client, sandbox, received):
    payload, header = _pending_delivery_payload(stripe_client)
    tampered = payload.replace('"livemode": false', '"livemode": true')
    assert tampered != payload
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(tampered, header, settings.STRIPE_CONNECT_WEBHOOK_SECRETS[0])


@pytest.mark.urls(RECEIVER_URLS)
@pytest.mark.django_db
def test_a_wrong_secret_is_rejected(stripe_client, sandbox, received):
    payload, header = _pending_delivery_payload(stripe_client)
    # The platform secret does not verify a delivery to the Connect endpoint.
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, header, settings.STRIPE_WEBHOOK_SECRETS[0])


@pytest.mark.urls(RECEIVER_URLS)
@pytest.mark.django_db
def test_a_timestamp_older_than_five_minutes_is_rejected(
    stripe_client, sandbox, received, monkeypatch
):
    payload, header = _pending_delivery_payload(stripe_client)
    secret = settings.STRIPE_CONNECT_WEBHOOK_SECRETS[0]
    signed_at = int(header.split(",")[0].removeprefix("t="))
    # The delivered request, replayed 301 seconds later, is refused ...
    monkeypatch.setattr("stripe._webhook.time.time", lambda: signed_at + 301)
    with pytest.raises(stripe.SignatureVerificationError, match="tolerance"):
        stripe.Webhook.construct_event(payload, header, secret)
    # ... while 299 seconds later it is still accepted.
    monkeypatch.setattr("stripe._webhook.time.time", lambda: signed_at + 299)
    assert stripe.Webhook.construct_event(payload, header, secret).type == "account.updated"
    # A signature made with an old timestamp fails the same way.
    monkeypatch.undo()
    stale = events.sign(payload, secret, int(time.time()) - 301)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, stale, secret)


# --- routing and delivery ------------------------------------------------------------------


@pytest.mark.urls(RECEIVER_URLS)
@pytest.mark.django_db
def test_connect_events_go_to_the_connect_endpoint_with_account_set(
    stripe_client, sandbox, received, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        account = _onboarded_account(stripe_client)
    assert {item["endpoint"] for item in received} == {"connect"}
    types = [item["event"]["type"] for item in received]
    assert "account.updated" in types and "capability.updated" in types
    assert all(item["event"]["account"] == account.id for item in received)
    updated = next(i["event"] for i in received if i["event"]["type"] == "account.updated")
    assert updated["data"]["previous_attributes"]["charges_enabled"] is False
    assert updated["data"]["object"]["charges_enabled"] is True
    assert updated["api_version"] == settings.STRIPE_API_VERSION
    # Every delivery is logged with its answer.
    for delivery in controls.deliveries():
        assert delivery.status == DeliveryStatus.SUCCEEDED
        assert delivery.log[-1]["status"] == 200


@pytest.mark.urls(RECEIVER_URLS)
@pytest.mark.django_db
def test_events_are_readable_through_the_api(stripe_client, sandbox):
    account = _onboarded_account(stripe_client)
    listed = stripe_client.v1.events.list(
        params={"type": "account.updated"}, options={"stripe_account": account.id}
    )
    assert listed.data and all(e.type == "account.updated" for e in listed.data)
    again = stripe_client.v1.events.retrieve(
        listed.data[0].id, options={"stripe_account": account.id}
    )
    assert again.data.object.id == account.id
    # Platform requests do not see a connected account's events, as on Stripe.
    assert stripe_client.v1.events.list(params={"type": "account.updated"}).data == []


@pytest.mark.urls(RECEIVER_URLS)
@pytest.mark.django_db
def test_a_failed_delivery_is_retried_with_backoff(stripe_client, sandbox, received):
    # given: the endpoint answers 500 once
    from tests.payments.sandbox import receiver_urls

    controls.pause_deliveries()
    account = stripe_client.v1.accounts.create(params={"type": "express"})
    controls.update_account(account.id, past_due=["individual.dob.day"])
    receiver_urls.FAIL_NEXT.append(500)
    # when
    assert controls.deliver_pending_events() == [500]
    delivery = WebhookDelivery.objects.get()
    # then: marked failed with the next attempt scheduled after the first backoff step
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == 1
    attempted_at = datetime.fromisoformat(delivery.log[0]["at"])
    wait = (delivery.next_attempt_at - attempted_at).total_seconds()
    assert events.BACKOFF_SECONDS[0] - 1 <= wait <= events.BACKOFF_SECONDS[0] + 1
    assert [e["id"] for e in controls.pending_events()] == [delivery.event_id]
    # when: retried
    assert controls.deliver_pending_events() == [200]
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert [entry["status"] for entry in delivery.log] == [500, 200]
    assert controls.pending_events() == []
    event = stripe_client.v1.events.retrieve(
        delivery.event_id, options={"stripe_account": account.id}
    )
    assert event.pending_webhooks == 0


@pytest.mark.urls(RECEIVER_URLS)
@pytest.mark.django_db
def test_gives_up_after_the_last_attempt(stripe_client, sandbox, received):
    from tests.payments.sandbox import receiver_urls

    controls.pause_deliveries()
    account = stripe_client.v1.accounts.create(params={"type": "express"})
    controls.update_account(account.id, past_due=["individual.dob.day"])
    receiver_urls.FAIL_NEXT.extend([503] * events.MAX_ATTEMPTS)
    for _ in range(events.MAX_ATTEMPTS):
        controls.deliver_pending_events()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.GAVE_UP
    assert delivery.attempts == events.MAX_ATTEMPTS
    assert received == []


@pytest.mark.urls(RECEIVER_URLS)
@pytest.mark.django_db
def test_paused_deliveries_go_out_in_any_order_and_can_be_duplicated(
    stripe_client, sandbox, received
):
    # given: two events held back
    with controls.deliveries_paused():
        account = stripe_client.v1.accounts.create(params={"type": "express"})
        controls.update_account(account.id, past_due=["individual.dob.day"])
        controls.update_account(account.id, disabled_reason="rejected.other")
        first, second = [e["id"] for e in controls.pending_events()]
        assert received == []
        # when: newest first, then the first one twice more
        statuses = controls.deliver_pending_events(order=[second, first, first])
    # then
    assert statuses == [200, 200, 200]
    assert [item["event"]["id"] for item in received] == [second, first, first]
    assert controls.pending_events() == []


@pytest.mark.django_db
def test_setup_command_registers_both_endpoints_idempotently(settings):
    from django.core.management import call_command

    controls.reset()
    call_command("stripe_sandbox_setup")
    call_command("stripe_sandbox_setup")
    endpoints = {(e.url, e.connect, e.secret) for e in WebhookEndpoint.objects.all()}
    assert endpoints == {
        (
            f"{settings.SITE_URL}/payments/webhooks/stripe/",
            False,
            settings.STRIPE_WEBHOOK_SECRETS[0],
        ),
        (
            f"{settings.SITE_URL}/payments/webhooks/stripe/connect/",
            True,
            settings.STRIPE_CONNECT_WEBHOOK_SECRETS[0],
        ),
    }
    # the customer portal's settings are saved once: one default configuration
    from payments.sandbox.models import StripeObject

    defaults = StripeObject.objects.filter(
        object_type="billing_portal.configuration", data__is_default=True
    )
    assert defaults.count() == 1
    assert defaults.get().data["features"]["payment_method_update"]["enabled"] is True


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_delivers_after_commit(stripe_client, celery_worker):
    # given: an endpoint the worker can reach in-process (the product's platform endpoint path)
    controls.register_default_endpoints()
    # when: a state change commits
    account = stripe_client.v1.accounts.create(params={"type": "express"})
    controls.update_account(account.id, past_due=["individual.dob.day"])
    # then: the worker made the attempt and logged the answer
    delivery = wait_for(
        lambda: WebhookDelivery.objects.filter(attempts__gte=1).first(),
        timeout=30,
        message="the worker never attempted the delivery:\n" + celery_worker.output(),
    )
    assert delivery.endpoint.connect is True
    assert delivery.log[0]["status"] == delivery.last_status_code
    assert delivery.last_status_code not in (None, 0)
    payload = json.loads(events.payload_for(delivery.event_id))
    assert payload["account"] == account.id


@pytest.mark.urls(RECEIVER_URLS)
@pytest.mark.django_db
def test_the_sweeper_sends_due_retries_and_lost_deliveries(stripe_client, sandbox, received):
    from datetime import timedelta

    from django.utils import timezone

    from payments.sandbox.tasks import sweep_deliveries
    from tests.payments.sandbox import receiver_urls

    # given: one delivery failed (retry not yet due), one whose queue message was lost
    controls.pause_deliveries()
    account = stripe_client.v1.accounts.create(params={"type": "express"})
    controls.update_account(account.id, past_due=["individual.dob.day"])
    controls.update_account(account.id, disabled_reason="rejected.other")
    failed, lost = WebhookDelivery.objects.order_by("id")
    receiver_urls.FAIL_NEXT.append(500)
    events.deliver(failed.pk, schedule_retry=False)
    WebhookDelivery.objects.filter(pk=lost.pk).update(
        created_at=timezone.now() - timedelta(minutes=6)
    )
    assert sweep_deliveries() == 0  # paused: nothing goes out
    controls.resume_deliveries()
    # when / then: only the lost one is due
    assert sweep_deliveries() == 1
    assert [item["event"]["id"] for item in received] == [lost.event_id]
    # when the failed one's retry is due, it goes too
    WebhookDelivery.objects.filter(pk=failed.pk).update(next_attempt_at=timezone.now())
    assert sweep_deliveries() == 1
    assert [item["event"]["id"] for item in received] == [lost.event_id, failed.event_id]
    assert sweep_deliveries() == 0
