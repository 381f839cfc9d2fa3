"""Acceptance 6: pay on the local Stripe's hosted Checkout in Chromium with each test card
and see the outcome Stripe documents; onboarding and the Express dashboard in the browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from payments.gateway import stripe_client
from payments.sandbox import controls
from payments.sandbox.models import StripeObject

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def hosted(settings, live_server):
    """Hosted pages' URLs on the live server; a coach account that can receive transfers."""
    settings.SITE_URL = live_server.url
    client = stripe_client()
    account = client.v1.accounts.create(
        params={"type": "express", "capabilities": {"transfers": {"requested": True}}}
    )
    controls.complete_onboarding(account.id)

    def new_session():
        return client.v1.checkout.sessions.create(
            params={
                "mode": "payment",
                "line_items": [
                    {
                        "price_data": {
                            "currency": "usd",
                            "unit_amount": 12000,
                            "product_data": {"name": "90-minute coaching session"},
                        },
                        "quantity": 1,
                    }
                ],
                "payment_intent_data": {
                    "application_fee_amount": 1800,
                    "transfer_data": {"destination": account.id},
                },
                "success_url": live_server.url + "/healthz?paid={CHECKOUT_SESSION_ID}",
                "cancel_url": live_server.url + "/healthz?cancelled=1",
            }
        )

    return client, account, new_session


def _fill_card(page, number: str) -> None:
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiry (MM / YY)").fill("12 / 34")
    page.get_by_label("CVC").fill("123")
    page.get_by_role("button", name="Pay $120.00").click()


def _intent(client, session_id: str):
    session = client.v1.checkout.sessions.retrieve(
        session_id, params={"expand": ["payment_intent.latest_charge"]}
    )
    return session, session.payment_intent


def test_4242_succeeds_and_returns_to_success_url(page, hosted):
    client, _, new_session = hosted
    session = new_session()
    page.goto(session.url)
    expect(page.get_by_text("Test mode — local Stripe")).to_be_visible()
    _fill_card(page, "4242 4242 4242 4242")
    page.wait_for_url(f"**/healthz?paid={session.id}")
    session, intent = _intent(client, session.id)
    assert session.status == "complete" and intent.status == "succeeded"


def test_0002_is_declined(page, hosted):
    client, _, new_session = hosted
    session = new_session()
    page.goto(session.url)
    _fill_card(page, "4000 0000 0000 0002")
    expect(page.get_by_role("alert").filter(has_text="Your card was declined.")).to_be_visible()
    session, intent = _intent(client, session.id)
    assert session.status == "open"
    assert intent.last_payment_error.decline_code == "generic_decline"


def test_9995_has_insufficient_funds(page, hosted):
    client, _, new_session = hosted
    session = new_session()
    page.goto(session.url)
    _fill_card(page, "4000 0000 0000 9995")
    expect(page.get_by_text("Your card has insufficient funds.")).to_be_visible()
    _, intent = _intent(client, session.id)
    assert intent.latest_charge.outcome.reason == "insufficient_funds"


def test_3155_asks_for_authentication_which_can_fail_or_complete(page, hosted):
    client, _, new_session = hosted
    session = new_session()
    page.goto(session.url)
    _fill_card(page, "4000 0025 0000 3155")
    page.get_by_role("button", name="Fail authentication").click()
    expect(page.get_by_text("We are unable to authenticate your payment method.")).to_be_visible()
    _, intent = _intent(client, session.id)
    assert intent.status == "requires_payment_method"
    _fill_card(page, "4000 0025 0000 3155")
    page.get_by_role("button", name="Complete authentication").click()
    page.wait_for_url(f"**/healthz?paid={session.id}")
    _, intent = _intent(client, session.id)
    assert intent.status == "succeeded"


def test_0259_succeeds_then_is_disputed(page, hosted):
    client, _, new_session = hosted
    session = new_session()
    page.goto(session.url)
    _fill_card(page, "4000 0000 0000 0259")
    page.wait_for_url(f"**/healthz?paid={session.id}")
    _, intent = _intent(client, session.id)
    assert intent.status == "succeeded"
    assert intent.latest_charge.disputed is True
    assert StripeObject.objects.filter(
        object_type="event", data__type="charge.dispute.created"
    ).exists()


def test_cancel_returns_to_cancel_url(page, hosted):
    _, _, new_session = hosted
    session = new_session()
    page.goto(session.url)
    page.get_by_role("link", name="Cancel and return").click()
    page.wait_for_url("**/healthz?cancelled=1")


def test_onboarding_then_express_dashboard(page, hosted, live_server):
    client, _, _ = hosted
    account = client.v1.accounts.create(params={"type": "express"})
    link = client.v1.account_links.create(
        params={
            "account": account.id,
            "type": "account_onboarding",
            "refresh_url": live_server.url + "/healthz?refresh=1",
            "return_url": live_server.url + "/healthz?return=1",
        }
    )
    page.goto(link.url)
    expect(page.get_by_role("heading", name="Set up payouts")).to_be_visible()
    page.get_by_label("First name").fill("Grace")
    page.get_by_label("Submit, verification pending").check()
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url("**/healthz?return=1")
    account = client.v1.accounts.retrieve(account.id)
    assert account.individual.first_name == "Grace"
    assert account.requirements.disabled_reason == "requirements.pending_verification"
    page.goto(link.url)  # used once: back to refresh_url
    page.wait_for_url("**/healthz?refresh=1")
    login = client.v1.accounts.login_links.create(account.id)
    page.goto(login.url)
    expect(page.get_by_role("heading", name="Express dashboard")).to_be_visible()
    expect(page.get_by_text("No payouts yet.")).to_be_visible()
