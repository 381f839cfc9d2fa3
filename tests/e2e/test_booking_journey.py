"""The client's booking journey in Chromium on the local Stripe: sign up, search, pick a slot
in their time zone, a declined card keeps the hold, pay with 4242, "confirmed" without a
reload, e-mails with the .ics, the coach's agenda, a cancellation with a full refund and the
reversal on the coach's earnings."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from playwright.sync_api import expect

from bookings.models import Booking, BookingStatus
from payments.models import Payment
from payments.sandbox import controls
from tests.bookings.conftest import stripe_coach
from tests.conftest import wait_for

pytestmark = pytest.mark.browser

PASSWORD = "a-Strong-pass-91"


def sign_in(page, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()


def test_client_books_pays_and_cancels_in_the_browser(page, browser, live_server, settings):
    # given: a bookable coach on the local Stripe, in New York
    settings.SITE_URL = live_server.url
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    controls.reset()
    controls.register_default_endpoints(live_server.url)
    coach, _session_type = stripe_coach(time_zone="America/New_York")
    coach.minimum_notice_minutes = 2 * 24 * 60  # so the first slot is days away
    coach.save()
    coach.user.first_name, coach.user.last_name = "Cora", "Coach"
    coach.user.save()

    # a new client signs up and verifies their address (the browser is in Europe/Zurich)
    page.goto("/accounts/signup/")
    page.get_by_label("First name").fill("Nina")
    page.get_by_label("Last name").fill("Client")
    page.get_by_label("Email").fill("nina@example.test")
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    page.wait_for_url("**/accounts/confirm-email/")
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+", mail.outbox[-1].body).group(0)
    page.goto(link.replace("http://testserver", live_server.url))
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url("**/accounts/login/")
    sign_in(page, "nina@example.test")
    page.wait_for_url(live_server.url + "/")

    # searches and opens the coach's profile
    page.goto("/coaches/")
    page.get_by_role("link", name="Cora Coach").first.click()
    page.wait_for_url(f"**/coaches/{coach.slug}/")
    # picks the first slot shown in their own time zone
    expect(page.locator("[data-shown-zone]").first).to_have_text("Europe/Zurich")
    slot = page.locator("a.slot").first
    slot_start = slot.get_attribute("data-start")
    slot.click()
    page.wait_for_url("**/bookings/new/**tz=**")
    assert "(Europe/Zurich)" in page.get_by_test_id("client-time").inner_text()
    assert "(America/New_York)" in page.get_by_test_id("coach-time").inner_text()
    page.get_by_label("What would you like to work on?").fill("Preparing a salary talk")
    page.get_by_role("button", name="Continue to review").click()
    page.wait_for_url("**/bookings/review/")
    assert page.get_by_test_id("price").inner_text() == "$120.00"
    assert page.get_by_text("Free cancellation up to 24 hours before the start.").is_visible()
    page.get_by_role("button", name="Pay $120.00").click()

    # on Checkout: a declined card keeps the hold and says why
    page.wait_for_url("**/_stripe/**")
    booking = Booking.objects.get(client__email="nina@example.test")
    assert booking.status == BookingStatus.HELD
    assert booking.starts_at.isoformat().replace("+00:00", "Z") == slot_start
    page.get_by_label("Card number").fill("4000 0000 0000 0002")
    page.get_by_role("button", name="Pay $120.00").click()
    assert "declined" in page.locator("#card-error").inner_text().lower()
    booking.refresh_from_db()
    assert booking.status == BookingStatus.HELD
    # going back returns to the review with the hold alive, and on to pay again
    page.get_by_role("link", name="Cancel and return").click()
    page.wait_for_url(f"**/bookings/{booking.pk}/pay/")
    assert "We are holding this time for you" in page.get_by_test_id("hold-notice").inner_text()
    page.get_by_role("link", name="Continue to payment").click()
    page.wait_for_url("**/_stripe/**")
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Pay $120.00").click()

    # the success page turns to "confirmed" by itself
    page.wait_for_url(f"**/bookings/{booking.pk}/paid/**")
    status = page.get_by_test_id("booking-status")
    status.get_by_text("Confirmed.").wait_for(timeout=20_000)
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    confirmations = wait_for(
        lambda: (
            len([m for m in mail.outbox if "Confirmed" in m.subject]) == 2
            and [m for m in mail.outbox if "Confirmed" in m.subject]
        )
    )
    assert {m.to[0] for m in confirmations} == {"nina@example.test", coach.user.email}
    assert all(m.attachments[0][0] == "session.ics" for m in confirmations)

    # in My sessions
    page.get_by_role("link", name="My sessions").first.click()
    assert page.get_by_test_id("upcoming-row").count() == 1

    # the coach sees it in the agenda
    coach_context = browser.new_context(base_url=live_server.url, timezone_id="America/New_York")
    coach_page = coach_context.new_page()
    sign_in(coach_page, coach.user.email)
    coach_page.wait_for_url(live_server.url + "/")
    coach_page.goto("/bookings/agenda/")
    agenda = coach_page.get_by_test_id("agenda-upcoming").or_(
        coach_page.get_by_test_id("agenda-today")
    )
    assert "Nina Client" in agenda.first.inner_text()

    # the client cancels more than 24 hours ahead: full refund
    assert booking.starts_at - timedelta(hours=24) > booking.created_at
    page.goto(f"/bookings/{booking.pk}/")
    assert "Full refund" in page.get_by_test_id("refund-terms").inner_text()
    page.get_by_role("link", name="Cancel the session…").click()
    page.wait_for_url(f"**/bookings/{booking.pk}/cancel/")
    assert page.get_by_test_id("refund-amount").inner_text() == "$120.00"
    page.get_by_role("button", name="Yes, cancel the session").click()
    page.wait_for_url(f"**/bookings/{booking.pk}/")
    assert page.get_by_test_id("booking-status-badge").inner_text() == "Cancelled by client"
    payment = Payment.objects.get(booking=booking)
    wait_for(lambda: Payment.objects.get(pk=payment.pk).status == "refunded")

    # the coach's earnings show the reversal
    coach_page.goto("/payments/earnings/")
    row = coach_page.locator(
        f"#transfers tr[data-id='{Payment.objects.get(pk=payment.pk).stripe_transfer_id}']"
    )
    assert row.get_attribute("data-reversed") == "12000"
    assert "Reversed" in row.inner_text()
    coach_context.close()
