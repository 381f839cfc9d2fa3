"""The developer page, the guard when real Stripe is configured, and webhook delivery over
real HTTP (as when the product runs)."""

from __future__ import annotations

import pytest
from django.test import Client

from payments.sandbox import controls
from payments.sandbox.models import DeliveryStatus, WebhookDelivery
from tests.factories import UserFactory
from tests.mfa import sign_in_with_totp

RECEIVER_URLS = "tests.payments.sandbox.receiver_urls"


@pytest.mark.django_db
def test_nothing_under_stripe_exists_with_real_stripe(settings, stripe_client, sandbox):
    session = stripe_client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {
                        "currency": "usd",
                        "unit_amount": 1000,
                        "product_data": {"name": "x"},
                    },
                    "quantity": 1,
                }
            ],
        }
    )
    settings.STRIPE_SANDBOX = False
    browser = Client()
    assert browser.get("/_stripe/").status_code == 404
    assert (
        browser.get(
            "/_stripe/v1/balance", HTTP_AUTHORIZATION="Bearer sk_test_local_sandbox"
        ).status_code
        == 404
    )
    assert browser.get(session.url).status_code == 404


@pytest.mark.django_db
def test_dashboard_shows_state_and_staff_controls_work(settings, stripe_client, sandbox):
    # given
    account = stripe_client.v1.accounts.create(params={"type": "express", "email": "c@x.test"})
    settings.DEBUG = False
    browser = Client()
    # when: anyone may look, only staff may act (outside DEBUG)
    page = browser.get("/_stripe/")
    assert page.status_code == 200
    assert account.id in page.content.decode()
    assert "Test mode — local Stripe" in page.content.decode()
    clock = controls.now()
    denied = browser.post("/_stripe/", {"action": "day"})
    assert denied.status_code == 403
    assert controls.now() < clock + 86400
    sign_in_with_totp(browser, UserFactory(is_staff=True))
    before = controls.now()
    browser.post("/_stripe/", {"action": "day"})
    assert controls.now() >= before + 86400
    browser.post("/_stripe/", {"action": "complete", "account": account.id})
    assert stripe_client.v1.accounts.retrieve(account.id).charges_enabled is True
    browser.post("/_stripe/", {"action": "deauthorize", "account": account.id})
    page = browser.get("/_stripe/")
    assert "deauthorized" in page.content.decode()
    assert "account.application.deauthorized" in page.content.decode()


@pytest.mark.django_db
def test_the_developer_page_pays_out_and_ends_payouts_as_chosen(settings, stripe_client, sandbox):
    # given: money available on a connected account and on the platform
    settings.DEBUG = True
    controls.set_available_delay(0)
    account = stripe_client.v1.accounts.create(
        params={"type": "express", "capabilities": {"transfers": {"requested": True}}}
    )
    controls.complete_onboarding(account.id)
    session = stripe_client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {
                        "currency": "usd",
                        "unit_amount": 10000,
                        "product_data": {"name": "Coaching"},
                    },
                    "quantity": 1,
                }
            ],
            "payment_intent_data": {
                "application_fee_amount": 1500,
                "transfer_data": {"destination": account.id},
            },
            "success_url": "http://testserver/ok",
        }
    )
    controls.pay_checkout_session(session.id)
    browser = Client()
    page = browser.get("/_stripe/").content.decode()
    assert "Platform payout" in page and "then cancel it" in page
    # when: the coach's balance is paid out and fails; the platform's is paid out and canceled
    browser.post("/_stripe/", {"action": "payout_failed", "account": account.id})
    browser.post("/_stripe/", {"action": "payout_canceled", "account": "platform"})
    (coach_payout,) = [
        e["data"]["object"] for e in controls.events_of_type("payout.created") if e.get("account")
    ]
    controls.payout_arrive(coach_payout["id"])
    # then
    assert [e["data"]["object"]["id"] for e in controls.events_of_type("payout.failed")] == [
        coach_payout["id"]
    ]
    (canceled,) = controls.events_of_type("payout.canceled")
    assert "account" not in canceled
    assert controls.balance(account.id)["usd"]["available"] == 8500
    assert controls.balance("")["usd"]["available"] == 1180


@pytest.mark.urls(RECEIVER_URLS)
@pytest.mark.django_db(transaction=True)
def test_deliveries_over_http_to_a_running_server(settings, live_server, stripe_client, received):
    # given: deliveries go over sockets, as when the product runs
    settings.STRIPE_SANDBOX_IN_PROCESS = False
    controls.register_default_endpoints(live_server.url)
    controls.pause_deliveries()
    account = stripe_client.v1.accounts.create(params={"type": "express"})
    controls.update_account(account.id, past_due=["individual.dob.day"])
    # when
    statuses = controls.deliver_pending_events()
    # then: the receiver verified the signature with the official library and got the event
    assert statuses == [200]
    assert received[0]["endpoint"] == "connect"
    assert received[0]["event"]["account"] == account.id
    assert WebhookDelivery.objects.get().status == DeliveryStatus.SUCCEEDED


@pytest.mark.django_db
def test_an_unreachable_endpoint_is_logged_and_retried(settings, stripe_client, sandbox):
    settings.STRIPE_SANDBOX_IN_PROCESS = False
    controls.reset()
    controls.register_endpoint(url="http://127.0.0.1:9/hooks/", secret="whsec_x", connect=True)
    controls.pause_deliveries()
    account = stripe_client.v1.accounts.create(params={"type": "express"})
    controls.update_account(account.id, past_due=["individual.dob.day"])
    assert controls.deliver_pending_events() == [0]
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.next_attempt_at is not None
    assert "connection error" in delivery.last_response


@pytest.mark.urls(RECEIVER_URLS)
@pytest.mark.django_db
def test_admin_lists_deliveries_and_delivers_again(client, stripe_client, received):
    admin_client = client
    sign_in_with_totp(admin_client, UserFactory(is_staff=True, is_superuser=True))
    controls.register_default_endpoints()
    controls.pause_deliveries()
    account = stripe_client.v1.accounts.create(params={"type": "express"})
    controls.update_account(account.id, past_due=["individual.dob.day"])
    delivery = WebhookDelivery.objects.get()
    page = admin_client.get("/admin/stripe_sandbox/webhookdelivery/")
    assert page.status_code == 200
    assert delivery.event_id in page.content.decode()
    admin_client.post(
        "/admin/stripe_sandbox/webhookdelivery/",
        {"action": "deliver_again", "_selected_action": [delivery.pk]},
    )
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert [item["event"]["id"] for item in received] == [delivery.event_id]
    detail = admin_client.get(f"/admin/stripe_sandbox/stripeobject/?q={account.id}")
    assert account.id in detail.content.decode()


@pytest.mark.django_db
def test_command_line_controls(stripe_client, sandbox):
    from io import StringIO

    from django.core.management import CommandError, call_command

    account = stripe_client.v1.accounts.create(params={"type": "express"})
    out = StringIO()
    call_command("stripe_sandbox", "onboard", account.id, "--outcome", "leave_due", stdout=out)
    assert "charges_enabled=False" in out.getvalue()
    before = controls.now()
    call_command("stripe_sandbox", "advance", "--days", "1", "--hours", "2", stdout=out)
    assert controls.now() >= before + 26 * 3600
    call_command("stripe_sandbox", "status", stdout=out)
    assert "sandbox clock" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("stripe_sandbox", "reset")
    call_command("stripe_sandbox", "reset", "--yes", stdout=out)
    assert controls.now() < before + 3600
    with pytest.raises(CommandError, match="No such account"):
        call_command("stripe_sandbox", "onboard", account.id)
