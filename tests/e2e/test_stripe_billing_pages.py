"""The local Stripe's billing pages in Chromium: the customer portal removes a card and
makes another the default; Checkout offers a customer's saved card and pays with it, and a
subscription's Checkout starts the subscription. Photographed at desktop and phone widths."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from payments.gateway import stripe_client
from payments.sandbox import controls

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture
def stripe(settings, live_server):
    settings.SITE_URL = live_server.url
    return stripe_client()


def _customer_with_cards(client):
    customer = client.v1.customers.create(params={"email": "maya@example.test"})
    visa = client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    mastercard = client.v1.payment_methods.attach(
        "pm_card_mastercard", params={"customer": customer.id}
    )
    return customer, visa, mastercard


@pytest.mark.parametrize("width", WIDTHS)
def test_the_portal_removes_a_card_and_sets_the_default(page, stripe, live_server, width, tmp_path):
    page.set_viewport_size(WIDTHS[width])
    customer, visa, mastercard = _customer_with_cards(stripe)
    controls.save_portal_settings()
    session = stripe.v1.billing_portal.sessions.create(
        params={"customer": customer.id, "return_url": live_server.url + "/healthz"}
    )
    page.goto(live_server.url + urlsplit(session.url).path)
    cards = page.locator("#portal-cards li")
    expect(cards).to_have_count(2)
    page.screenshot(path=str(tmp_path / f"portal-{width}.png"), full_page=True)
    page.locator(f'li[data-payment-method="{mastercard.id}"]').get_by_role(
        "button", name="Remove"
    ).click()
    expect(cards).to_have_count(1)
    assert stripe.v1.payment_methods.retrieve(mastercard.id).customer is None
    page.get_by_role("button", name="Make default").click()
    expect(page.locator(f'li[data-payment-method="{visa.id}"]')).to_contain_text("Default")
    assert (
        stripe.v1.customers.retrieve(customer.id).invoice_settings.default_payment_method == visa.id
    )
    page.get_by_role("link", name="Return").click()
    page.wait_for_url("**/healthz")


@pytest.mark.parametrize("width", WIDTHS)
def test_checkout_pays_with_the_customers_saved_card(page, stripe, live_server, width, tmp_path):
    page.set_viewport_size(WIDTHS[width])
    customer, visa, _ = _customer_with_cards(stripe)
    for method in (visa,):
        stripe.v1.payment_methods.update(method.id, params={"allow_redisplay": "always"})
    session = stripe.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "customer": customer.id,
            "saved_payment_method_options": {"payment_method_save": "enabled"},
            "line_items": [
                {
                    "price_data": {
                        "currency": "usd",
                        "unit_amount": 9000,
                        "product_data": {"name": "Coaching session with Ana"},
                    },
                    "quantity": 1,
                }
            ],
            "success_url": live_server.url + "/healthz?paid={CHECKOUT_SESSION_ID}",
        }
    )
    page.goto(session.url)
    saved = page.locator("#saved-cards")
    expect(saved).to_contain_text("Visa •••• 4242")
    expect(saved).not_to_contain_text("Mastercard")  # saved without consent to show it again
    expect(page.get_by_label("Save my card for future payments with this business")).to_be_visible()
    page.screenshot(path=str(tmp_path / f"checkout-saved-{width}.png"), full_page=True)
    saved.get_by_role("button", name="Pay $90.00 with this card").click()
    page.wait_for_url(f"**/healthz?paid={session.id}")
    done = stripe.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["payment_intent.latest_charge"]}
    )
    assert done.status == "complete"
    assert done.payment_intent.latest_charge.payment_method == visa.id


def test_a_subscription_checkout_starts_the_subscription(page, stripe, live_server, tmp_path):
    price = stripe.v1.prices.create(
        params={
            "currency": "usd",
            "unit_amount": 24000,
            "recurring": {"interval": "month"},
            "product_data": {"name": "4 sessions a month with Ana"},
        }
    )
    session = stripe.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "line_items": [{"price": price.id, "quantity": 1}],
            "customer_email": "maya@example.test",
            "success_url": live_server.url + "/healthz?paid={CHECKOUT_SESSION_ID}",
        }
    )
    page.goto(session.url)
    expect(page.get_by_role("heading", name="Subscribe: $240.00 a month")).to_be_visible()
    expect(page.get_by_text("Your card is saved to pay each renewal.")).to_be_visible()
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry (MM / YY)").fill("12 / 34")
    page.get_by_label("CVC").fill("123")
    page.screenshot(path=str(tmp_path / "checkout-subscription-desktop.png"), full_page=True)
    page.get_by_role("button", name="Subscribe").click()
    page.wait_for_url(f"**/healthz?paid={session.id}")
    done = stripe.v1.checkout.sessions.retrieve(session.id)
    subscription = stripe.v1.subscriptions.retrieve(done.subscription)
    assert subscription.status == "active" and subscription.customer == done.customer
