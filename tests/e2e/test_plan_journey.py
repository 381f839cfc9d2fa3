"""A coaching plan in Chromium on the local Stripe: a client subscribes to a coach's
4-sessions-a-month plan with 4242, sees 4 sessions in Billing, books a session with one,
cancels it within the policy and gets the session back; the coach sees the plan and its
subscriber, the session in the agenda and the plan's payment in the earnings. Billing and
the coach's plans page are photographed at desktop and phone widths."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from bookings.models import Booking, BookingStatus, PlanSubscription, PlanSubscriptionStatus
from payments.models import Payment, PaymentKind
from payments.sandbox import controls
from tests.bookings.conftest import stripe_coach
from tests.bookings.plan_setup import plan_of
from tests.conftest import wait_for
from tests.e2e.test_booking_journey import sign_in
from tests.factories import UserFactory

pytestmark = pytest.mark.browser


def _photograph(page, name: str, tmp_path) -> None:
    for label, size in (("desktop", (1280, 900)), ("phone", (390, 844))):
        page.set_viewport_size({"width": size[0], "height": size[1]})
        page.screenshot(path=str(tmp_path / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_a_client_subscribes_books_with_a_credit_and_gets_it_back(
    page, browser, live_server, settings, tmp_path
):
    # given: a bookable coach with a plan of 4 sessions a month
    settings.SITE_URL = live_server.url
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    controls.reset()
    controls.register_default_endpoints(live_server.url)
    coach, session_type = stripe_coach(time_zone="Europe/Berlin")
    coach.minimum_notice_minutes = 2 * 24 * 60  # the first slot is days away
    coach.save()
    coach.user.first_name, coach.user.last_name = "Cora", "Coach"
    coach.user.save()
    plan = plan_of(coach, session_type, name="Monthly focus")
    client = UserFactory(first_name="Nina", last_name="Client", email="nina@example.test")

    # when: the client subscribes from the coach's profile and pays with 4242
    sign_in(page, client.email)
    page.wait_for_url(live_server.url + "/")
    page.goto(coach.get_absolute_url())
    page.get_by_role("button", name="Subscribe to “Monthly focus”").click()
    page.wait_for_url("**/_stripe/**")
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Subscribe", exact=True).click()

    # then: Billing shows the plan with its 4 sessions
    page.wait_for_url("**/billing/**")
    plan_subscription = wait_for(
        lambda: PlanSubscription.objects.filter(
            client=client, status=PlanSubscriptionStatus.ACTIVE
        ).first()
    )
    wait_for(lambda: plan_subscription.credits.exists(), message="the period's credit")
    page.reload()
    credits = page.get_by_test_id("plan-credits")
    expect(credits).to_contain_text("4 sessions left to book")
    expect(page.get_by_test_id("plan-status")).to_have_text("Active")
    _photograph(page, "billing", tmp_path)

    # the client books a slot with the plan
    page.goto(coach.get_absolute_url())
    page.locator("a.slot").first.click()
    page.wait_for_url("**/bookings/new/**")
    page.get_by_role("button", name="Continue to review").click()
    page.wait_for_url("**/bookings/review/")
    page.get_by_role("button", name="Book with my plan").click()
    booking = wait_for(lambda: Booking.objects.filter(client=client).first())
    page.wait_for_url(f"**/bookings/{booking.pk}/")
    assert booking.status == BookingStatus.CONFIRMED
    assert booking.plan_credit is not None
    page.goto("/billing/")
    expect(page.get_by_test_id("plan-credits")).to_contain_text("3 sessions left to book")

    # the coach sees the plan, the subscriber, the session and the plan's payment
    coach_context = browser.new_context(base_url=live_server.url, timezone_id="Europe/Berlin")
    coach_page = coach_context.new_page()
    sign_in(coach_page, coach.user.email)
    coach_page.wait_for_url(live_server.url + "/")
    coach_page.goto("/bookings/plans/")
    expect(coach_page.get_by_test_id("coach-plans")).to_contain_text("Monthly focus")
    expect(coach_page.get_by_test_id("coach-plan-subscribers")).to_contain_text("Nina Client")
    _photograph(coach_page, "coach-plans", tmp_path)
    coach_page.goto("/bookings/agenda/")
    agenda = coach_page.get_by_test_id("agenda-upcoming").or_(
        coach_page.get_by_test_id("agenda-today")
    )
    assert "Nina Client" in agenda.first.inner_text()
    payment = Payment.objects.get(kind=PaymentKind.PLAN, client=client)
    assert payment.amount == plan.price
    coach_page.goto("/payments/earnings/")
    row = coach_page.locator(f"#transfers tr[data-id='{payment.stripe_transfer_id}']")
    expect(row).to_have_count(1)

    # the client cancels more than 24 hours ahead: the session goes back to the plan
    page.goto(f"/bookings/{booking.pk}/")
    page.get_by_role("link", name="Cancel the session…").click()
    expect(page.get_by_test_id("credit-back")).to_contain_text("goes back to the plan")
    page.get_by_role("button", name="Yes, cancel the session").click()
    page.wait_for_url(f"**/bookings/{booking.pk}/")
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED_BY_CLIENT
    page.goto("/billing/")
    expect(page.get_by_test_id("plan-credits")).to_contain_text("4 sessions left to book")
    coach_context.close()
    assert plan == plan_subscription.plan
