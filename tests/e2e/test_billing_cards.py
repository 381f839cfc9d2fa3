"""Saved cards in Chromium on the local Stripe: a client pays a first booking with 4242 and
ticks "save my card"; the second booking's Checkout offers the saved card and pays with it;
Billing lists the card (no serious accessibility problem), opens Stripe's portal and back,
and removes the card at Stripe. Billing photographed at desktop and phone widths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from bookings.models import Booking, BookingStatus
from payments.gateway import stripe_client
from payments.models import Customer
from payments.sandbox import controls
from payments.sandbox.models import StripeObject
from tests.bookings.conftest import stripe_coach
from tests.conftest import wait_for
from tests.e2e.test_booking_journey import sign_in
from tests.e2e.test_pages_audit import _audit
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def _book_and_reach_checkout(page, coach) -> Booking:
    page.goto(f"/coaches/{coach.slug}/")
    page.locator("a.slot").first.click()
    page.wait_for_url("**/bookings/new/**")
    page.get_by_label("What would you like to work on?").fill("Leading a new team")
    page.get_by_role("button", name="Continue to review").click()
    page.wait_for_url("**/bookings/review/")
    page.get_by_role("button", name="Pay $120.00").click()
    page.wait_for_url("**/_stripe/checkout/**")
    return Booking.objects.filter(client__email="rosa@example.test").latest("created_at")


def _confirmed(page, booking: Booking) -> None:
    page.wait_for_url(f"**/bookings/{booking.pk}/paid/**")
    page.get_by_test_id("booking-status").get_by_text("Confirmed.").wait_for(timeout=20_000)
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED


def test_a_card_saved_at_checkout_is_offered_again_and_managed_in_billing(
    page, live_server, settings, tmp_path
):
    # given: a bookable coach, a signed-in client who never paid, the portal configured
    settings.SITE_URL = live_server.url
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    controls.reset()
    controls.register_default_endpoints(live_server.url)
    controls.save_portal_settings()
    coach, _session_type = stripe_coach()
    coach.user.first_name, coach.user.last_name = "Cora", "Coach"
    coach.user.save()
    UserFactory(email="rosa@example.test", first_name="Rosa", last_name="Client")
    sign_in(page, "rosa@example.test")
    page.wait_for_url(live_server.url + "/")

    # when: the first booking is paid with 4242, "save my card" ticked
    first = _book_and_reach_checkout(page, coach)
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Save my card for future payments with this business").check()
    page.get_by_role("button", name="Pay $120.00").click()
    _confirmed(page, first)
    customer = wait_for(lambda: Customer.objects.filter(user__email="rosa@example.test").first())
    wait_for(lambda: customer.cards.exists(), message="the saved card was not mirrored")
    card = customer.cards.get()

    # then: the second booking's Checkout offers the saved card, and pays with it
    second = _book_and_reach_checkout(page, coach)
    saved = page.locator("#saved-cards")
    expect(saved).to_contain_text("Visa •••• 4242")
    saved.get_by_role("button", name="Pay $120.00 with this card").click()
    _confirmed(page, second)
    charge = stripe_client().v1.charges.retrieve(second.payments.get().stripe_charge_id)
    assert charge.payment_method == card.stripe_payment_method_id
    assert charge.customer == customer.stripe_customer_id

    # Billing lists the card (linked from the navigation)
    page.get_by_role("link", name="Billing").first.click()
    page.wait_for_url("**/billing/")
    rows = page.get_by_test_id("saved-card")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Visa •••• 4242")
    expect(rows.first).to_contain_text(f"Expires {card.expiry}")
    problems: list[str] = []
    _audit(page, "client", problems)
    assert problems == []
    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    for width, size in WIDTHS.items():
        page.set_viewport_size(size)
        page.screenshot(path=str(shots / f"billing-cards-{width}.png"), full_page=True)
    page.set_viewport_size(WIDTHS["desktop"])

    # the portal button opens Stripe's portal, which returns to Billing
    page.get_by_role("button", name="Manage in Stripe's portal").click()
    page.wait_for_url("**/_stripe/billing_portal/session/**")
    expect(page.locator("#portal-cards li")).to_have_count(1)
    page.get_by_role("link", name="Return").click()
    page.wait_for_url("**/billing/")

    # removing the card in Billing removes it at Stripe
    rows.first.get_by_role("button", name="Remove").click()
    page.wait_for_url("**/billing/")
    expect(page.get_by_text("Visa •••• 4242 is removed.")).to_be_visible()
    expect(page.get_by_test_id("saved-card")).to_have_count(0)
    assert (
        stripe_client().v1.payment_methods.retrieve(card.stripe_payment_method_id).customer is None
    )
    stored = StripeObject.objects.get(stripe_id=card.stripe_payment_method_id)
    assert stored.data["customer"] is None
    assert stripe_client().v1.customers.payment_methods.list(customer.stripe_customer_id).data == []
    page.screenshot(path=str(shots / "billing-cards-removed-desktop.png"), full_page=True)
