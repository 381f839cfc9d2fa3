"""The account, coach and staff journeys that used to end at a wall, in Chromium on a desktop
and on a 375 x 812 phone: a price too large, coaches finding their sessions, a disputed
booking's refund, earnings in euros, times in the viewer's zone, account settings, becoming
a coach, e-mails and the dev inbox, the German onboarding, and the admin."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from bookings.models import BookingStatus
from bookings.services import checkout
from coaches.models import ApplicationStatus, CoachApplication
from coaches.services.profiles import coach_profile_start
from marketplace.emails import send_templated_email
from marketplace.models import Role, SentMail
from messaging.services import thread_open
from payments.sandbox import controls
from tests.bookings.conftest import stripe_coach
from tests.bookings.services.test_checkout import URLS
from tests.coaches.factories import CoachProfileFactory
from tests.factories import CoachUserFactory, UserFactory
from tests.mfa import give_totp, pass_totp_step
from tests.payments.conftest import make_account
from tests.payments.test_earnings_currency import _pay

pytestmark = pytest.mark.browser

PASSWORD = "a-Strong-pass-91"
DEVICES = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True},
}


@pytest.fixture(params=list(DEVICES))
def device(request, browser, live_server, settings):
    """A fresh browser context of one device, in New York, on the live server."""
    settings.SITE_URL = live_server.url
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    context = browser.new_context(
        base_url=live_server.url, timezone_id="America/New_York", **DEVICES[request.param]
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.device_name = request.param
    yield page
    context.close()


@pytest.fixture
def local_stripe(live_server):
    controls.reset()
    controls.register_default_endpoints(live_server.url)
    return controls


def sign_in(page, user, *, totp: bool = False) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    if totp:
        # staff: the code from their authenticator app comes next
        pass_totp_step(page)
    page.wait_for_url(re.compile(r".*/(\?.*)?$"))


def nav_link(page, name: str):
    """A link of the main or the coach navigation (whatever the screen's width)."""
    return page.get_by_role("navigation").get_by_role("link", name=name, exact=True).first


def paid_booking(client_zone: str = "America/New_York"):
    """A confirmed booking paid on the local Stripe (webhooks delivered), three days ahead."""
    _coach, session_type = stripe_coach(time_zone="Europe/Berlin")
    client = UserFactory(time_zone=client_zone, first_name="Nina", last_name="Client")
    starts = (timezone.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    booking, payment = checkout.booking_book(
        client=client,
        session_type=session_type,
        starts_at=starts,
        topic="Negotiating a raise",
        client_time_zone=client_zone,
        urls_for=lambda booking: URLS,
    )
    controls.pay_checkout_session(payment.stripe_checkout_session_id)
    controls.deliver_pending_events()
    booking.refresh_from_db()
    payment.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    return booking, payment


# --- a price Stripe cannot charge is a form error ----------------------------------------


def test_a_price_of_99999999_is_a_clear_form_error(device, live_server):
    coach = CoachProfileFactory(is_approved=False).user
    sign_in(device, coach)
    device.goto("/coaches/dashboard/")
    form = device.locator("form.session-type-form")
    form.get_by_label("Session name").fill("Big session")
    price = form.get_by_label(re.compile(r"^Price"))
    price.fill("99999999")
    statuses: list[int] = []
    device.on("response", lambda response: statuses.append(response.status))
    # the browser says so before sending (the field's own maximum)
    form.get_by_role("button", name="Add session type").click()
    assert price.evaluate("input => input.validationMessage")
    assert device.url.endswith("/coaches/dashboard/")
    # and the server, asked anyway, answers with the form's error, not a 500
    form.evaluate("form => { form.noValidate = true; }")
    form.get_by_role("button", name="Add session type").click()
    toast = device.locator(".toast").first
    expect(toast).to_contain_text("The session type was not added.")
    expect(toast).to_contain_text("999,999.99")
    assert statuses and 500 not in statuses
    assert not coach.coach_profile.session_types.filter(name="Big session").exists()


# --- coaches find their sessions ---------------------------------------------------------


def test_a_coach_reaches_agenda_calendar_feed_and_policy(device, live_server):
    coach = CoachProfileFactory(is_approved=True).user
    sign_in(device, coach)
    coach_nav = device.get_by_test_id("coach-nav")
    for name in ("Agenda", "Calendar feed", "Cancellation policy"):
        expect(coach_nav.get_by_role("link", name=name)).to_be_visible()
    coach_nav.get_by_role("link", name="Agenda").click()
    device.wait_for_url("**/bookings/agenda/")
    headings = device.locator("main h2").all_inner_texts()
    assert headings[0] == "Today", headings
    expect(coach_nav.get_by_role("link", name="Agenda")).to_have_attribute("aria-current", "page")
    coach_nav.get_by_role("link", name="Calendar feed").click()
    expect(device.get_by_role("heading", name="Your calendar feed")).to_be_visible()
    coach_nav.get_by_role("link", name="Cancellation policy").click()
    expect(device.get_by_role("heading", name="Your cancellation policy")).to_be_visible()
    # the dashboard leads there too
    device.goto("/coaches/dashboard/")
    sessions = device.get_by_test_id("dashboard-sessions")
    sessions.get_by_role("link", name="Open your agenda").click()
    device.wait_for_url("**/bookings/agenda/")


# --- a disputed booking's refund is told truly -------------------------------------------


def test_a_disputed_booking_tells_the_true_refund_before_and_after(
    device, live_server, local_stripe
):
    booking, payment = paid_booking()
    controls.dispute_charge(payment.stripe_charge_id)
    controls.deliver_pending_events()
    sign_in(device, booking.client)
    device.goto(f"/bookings/{booking.pk}/")
    terms = device.get_by_test_id("refund-terms")
    expect(terms).to_contain_text("the payment is disputed with the card issuer")
    expect(terms).not_to_contain_text("Full refund")
    mail.outbox.clear()
    device.get_by_role("link", name=re.compile("Cancel the session")).click()
    # the confirmation's refund preview says the same
    expect(device.get_by_test_id("refund-preview")).to_contain_text("disputed with the card issuer")
    device.get_by_role("button", name="Yes, cancel the session").click()
    device.wait_for_url(re.compile(rf".*/bookings/{booking.pk}/(\?.*)?$"))
    # and so does the booking afterwards
    expect(device.get_by_test_id("refund-after")).to_contain_text("disputed with the card issuer")
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED_BY_CLIENT
    client_mail = next(m for m in mail.outbox if m.to == [booking.client.email])
    assert "the payment is disputed with the card issuer" in client_mail.body
    assert "No refund is due under the cancellation policy" not in client_mail.body


# --- earnings in the currency earned -----------------------------------------------------


def test_a_coach_paid_in_euros_sees_euros(device, live_server, local_stripe):
    profile = CoachProfileFactory(is_approved=True, can_take_charges=False, currency="eur")
    account = make_account(profile.user, outcome="complete")
    _pay(account.stripe_account_id, 9500, 1425, "eur")
    sign_in(device, profile.user)
    device.goto("/payments/earnings/")
    chart = device.get_by_test_id("earnings-chart")
    expect(chart).to_have_count(1)
    expect(chart).to_have_attribute("data-currency", "eur")
    expect(chart).to_contain_text("Amounts in EUR.")
    assert device.locator('rect.bar[data-amount="€80.75"]').count() == 1
    expect(device.locator("#lifetime tr[data-currency='eur'] .net")).to_have_text("€80.75")
    expect(device.locator("#transfers")).to_contain_text("€95.00")
    expect(device.get_by_test_id("transfer-explanation")).to_contain_text(
        "the platform fee is then taken from it"
    )
    expect(device.get_by_text("amounts in USD")).to_have_count(0)


# --- times in the viewer's zone, named ---------------------------------------------------


def test_receipt_and_messages_show_the_viewers_zone(device, live_server, local_stripe):
    booking, _payment = paid_booking(client_zone="America/New_York")
    thread = thread_open(by=booking.client, booking=booking)
    sign_in(device, booking.client)
    device.goto(f"/bookings/{booking.pk}/receipt/")
    expect(device.get_by_test_id("paid-at")).to_contain_text("(America/New_York)")
    expect(device.get_by_test_id("paid-at")).not_to_contain_text("UTC")
    device.goto(f"/messages/{thread.pk}/")
    expect(device.get_by_text("times in America/New_York")).to_be_visible()


# --- account settings in one place -------------------------------------------------------


def test_account_settings_gather_everything_about_the_person(device, live_server):
    user = UserFactory(first_name="Nina", last_name="Client", time_zone="UTC")
    sign_in(device, user)
    nav_link(device, "Account").click() if device.device_name == "desktop" else device.goto(
        "/accounts/settings/"
    )
    device.wait_for_url("**/accounts/settings/")
    expect(device.get_by_role("heading", name="Account settings")).to_be_visible()
    # the browser's zone is offered while the account has none of its own
    assert device.get_by_role("combobox", name="Time zone").input_value() == "America/New_York"
    device.get_by_label("First name").fill("Ana")
    device.get_by_role("button", name="Save name and time zone").click()
    expect(device.locator(".toast").first).to_contain_text("Your name and time zone are saved.")
    user.refresh_from_db()
    assert (user.first_name, user.time_zone) == ("Ana", "America/New_York")
    # optional e-mails
    device.get_by_label(re.compile("Reminders 24 hours")).uncheck()
    device.get_by_role("button", name="Save e-mail choices").click()
    expect(device.get_by_label(re.compile("Reminders 24 hours"))).not_to_be_checked()
    # allauth's pages, in the same navigation
    account_nav = device.get_by_role("navigation", name="Account")
    for link, heading in (
        ("E-mail addresses", re.compile("Email Address")),
        ("Password", re.compile("Change Password")),
        ("Two-factor sign-in", re.compile("Two-Factor Authentication")),
    ):
        account_nav.get_by_role("link", name=link).click()
        expect(device.get_by_role("heading", name=heading).first).to_be_visible()
        expect(device.get_by_role("navigation", name="Account")).to_be_visible()


def test_a_client_becomes_a_coach_and_lands_on_the_application(device, live_server):
    user = UserFactory()
    sign_in(device, user)
    device.goto("/payments/earnings/")
    expect(device.get_by_text("choose the coach role")).to_have_count(0)
    device.get_by_role("button", name="Become a coach").click()
    device.wait_for_url("**/coaches/apply/personal/")
    expect(device.get_by_role("heading", name=re.compile("Personal details"))).to_be_visible()
    user.refresh_from_db()
    assert user.role == Role.BOTH


# --- e-mails greet and sign off with the site's name; the dev inbox's .ics ---------------


def test_emails_name_the_site_and_the_ics_can_be_downloaded(device, live_server, settings):
    settings.DEV_MAIL_ENABLED = True
    settings.EMAIL_BACKEND = "marketplace.mail.DevInboxBackend"
    user = UserFactory(email="reset@example.test")
    # allauth's e-mail (a password reset) and a product e-mail with an .ics
    device.goto("/accounts/password/reset/")
    device.get_by_label("Email").fill(user.email)
    device.get_by_role("button", name="Reset My Password").click()
    device.wait_for_url("**/password/reset/done/")
    send_templated_email(
        to=user.email,
        subject="Confirmed",
        template="test_hello",
        attachments=[
            {
                "filename": "session.ics",
                "content": "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n",
                "mimetype": "text/calendar",
            }
        ],
    )
    reset = SentMail.objects.get(subject__icontains="Password Reset")
    device.goto(f"/dev/mail/{reset.pk}/")
    body = device.locator(".mail-body")
    expect(body).to_contain_text("Hello from Coach Connect!")
    expect(body).not_to_contain_text("Hello from 127.0.0.1")
    confirmed = SentMail.objects.get(subject="[Coach Connect] Confirmed")
    device.goto(f"/dev/mail/{confirmed.pk}/")
    expect(device.locator(".mail-body")).to_contain_text("The Coach Connect team")
    with device.expect_download() as download_info:
        device.get_by_role("link", name="Download session.ics").click()
    download = download_info.value
    assert download.suggested_filename == "session.ics"
    assert Path(download.path()).read_text().startswith("BEGIN:VCALENDAR")


# --- the German coach's onboarding, the fee and the minimum in euros ---------------------


def test_a_german_coach_is_told_the_fee_and_asked_what_stripe_asks_in_germany(
    device, live_server, local_stripe
):
    from payments.gateway import stripe_client

    profile = CoachProfileFactory(is_approved=True, can_take_charges=False, currency="eur")
    sign_in(device, profile.user)
    device.goto("/payments/setup/")
    fee = device.get_by_test_id("platform-fee")
    expect(fee).to_contain_text("15%")
    expect(fee).to_contain_text("On a €100.00 session the fee is €15.00 and you keep €85.00")
    # the local Stripe's hosted onboarding of a German account: from a US platform it takes
    # transfers only, under the recipient agreement, as the country rules require
    account = stripe_client().v1.accounts.create(
        params={
            "type": "express",
            "country": "DE",
            "capabilities": {"transfers": {"requested": True}},
            "tos_acceptance": {"service_agreement": "recipient"},
        }
    )
    link = stripe_client().v1.account_links.create(
        params={
            "account": account.id,
            "type": "account_onboarding",
            "refresh_url": f"{live_server.url}/payments/setup/refresh/",
            "return_url": f"{live_server.url}/payments/setup/",
        }
    )
    device.goto(link.url)
    expect(device.get_by_label("IBAN")).to_be_visible()
    expect(device.get_by_label("Date of birth")).to_be_visible()
    expect(device.get_by_label("Postal code")).to_be_visible()
    for asked_in_the_us in ("Last 4 of SSN", "State", "Routing number"):
        expect(device.get_by_label(asked_in_the_us, exact=True)).to_have_count(0)


def test_the_payout_minimum_is_in_the_coachs_currency(device, live_server, local_stripe):
    profile = CoachProfileFactory(is_approved=True, can_take_charges=False, currency="eur")
    make_account(profile.user, outcome="complete")
    sign_in(device, profile.user)
    device.goto("/payments/setup/")
    expect(device.get_by_label(re.compile("Minimum payout"))).to_be_visible()
    expect(device.get_by_text(re.compile(r"minimum €0\.00"))).to_be_visible()
    expect(device.get_by_text(re.compile(r"minimum \$"))).to_have_count(0)


# --- an admin staff can use --------------------------------------------------------------


def test_staff_read_bookings_and_payments_in_their_zone_and_currency(
    device, live_server, local_stripe
):
    booking, payment = paid_booking()
    staff = UserFactory(is_staff=True, is_superuser=True, time_zone="Asia/Tokyo")
    give_totp(staff)
    waiting = coach_profile_start(user=CoachUserFactory())
    CoachApplication.objects.filter(pk=waiting.pk).update(
        status=ApplicationStatus.SUBMITTED, submitted_at=timezone.now()
    )
    sign_in(device, staff, totp=True)
    device.goto("/admin/")
    expect(device.locator("#site-name")).to_have_text("Coach Connect staff")
    expect(device.get_by_test_id("admin-time-zone")).to_have_text("Times in Asia/Tokyo.")
    device.goto(f"/admin/bookings/booking/{booking.pk}/change/")
    for field in ("starts_at", "cancelled_at", "status"):
        expect(device.locator(f"[name='{field}']")).to_have_count(0)
    expect(device.get_by_role("link", name="Delete")).to_have_count(0)
    device.goto(f"/admin/payments/payment/{payment.pk}/change/")
    expect(device.locator("#content")).to_contain_text("$120.00")
    expect(device.get_by_role("link", name="Delete")).to_have_count(0)
    device.goto("/admin/coaches/coachapplication/")
    expect(device.locator("#changelist-filter")).to_contain_text("Submitted")
    expect(device.locator("#result_list tbody tr")).to_have_count(1)
