"""Every page a visitor, a client, a coach and staff can reach, in one browser pass:
axe-core (bundled by axe-playwright-python, no CDN) finds no serious or critical
violation on any of them, and screenshots of the main pages are saved, on a desktop and on a
375 x 812 phone, under ``.artifacts/screenshots/`` (kept by the run, ignored by git) for a
person to look at."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone

from coaches.models import ApplicationStatus, CoachApplication
from coaches.services.profiles import coach_profile_start
from messaging.services import message_send, thread_open
from payments.sandbox import controls
from tests.e2e.test_account_experience import DEVICES, paid_booking, sign_in
from tests.factories import CoachUserFactory, UserFactory
from tests.mfa import give_totp
from tests.payments.conftest import make_account
from tests.payments.test_earnings_currency import _pay

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / ".artifacts" / "screenshots"
BLOCKING = ("serious", "critical")
AXE = Axe()


def _audit(page, label: str, problems: list[str]) -> None:
    page.wait_for_load_state("load")
    results = AXE.run(page)
    for violation in results.response["violations"]:
        if violation["impact"] in BLOCKING:
            targets = [", ".join(node["target"]) for node in violation["nodes"][:3]]
            problems.append(
                f"{label} {page.url}: {violation['id']} ({violation['impact']}) {targets}"
            )


def _shoot(context_pages: dict, path: str, name: str) -> None:
    for device, page in context_pages.items():
        page.goto(path)
        page.wait_for_load_state("load")
        page.screenshot(path=SCREENSHOTS / f"{name}-{device}.png", full_page=True)


@pytest.fixture
def people(live_server, settings):
    """A paid, confirmed booking between a client in New York and a coach in Berlin with a
    conversation, the coach's euro earnings, a held booking, staff with TOTP, an application
    waiting."""
    settings.SITE_URL = live_server.url
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    controls.reset()
    controls.register_default_endpoints(live_server.url)
    booking, payment = paid_booking(client_zone="America/New_York")
    coach = booking.coach
    thread = thread_open(by=booking.client, booking=booking)
    message_send(thread=thread, sender=booking.client, body="Hello! Looking forward to it.")
    message_send(thread=thread, sender=coach.user, body="Me too, see you then.")
    _pay(coach.user.connected_account.stripe_account_id, 9500, 1425, "eur")
    staff = UserFactory(is_staff=True, is_superuser=True, time_zone="Europe/Zurich")
    give_totp(staff)
    waiting = coach_profile_start(user=CoachUserFactory())
    CoachApplication.objects.filter(pk=waiting.pk).update(
        status=ApplicationStatus.SUBMITTED, submitted_at=timezone.now() - timedelta(days=1)
    )
    newcomer = CoachUserFactory()
    make_account(newcomer)
    return {
        "booking": booking,
        "payment": payment,
        "thread": thread,
        "staff": staff,
        "application": waiting,
    }


def test_every_page_passes_axe_and_the_main_pages_are_photographed(browser, live_server, people):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    booking, payment, thread = people["booking"], people["payment"], people["thread"]
    coach = booking.coach
    client = booking.client
    problems: list[str] = []

    def contexts():
        return {
            name: browser.new_context(
                base_url=live_server.url, timezone_id="America/New_York", **options
            )
            for name, options in DEVICES.items()
        }

    # --- a visitor ----------------------------------------------------------------------
    visitor = contexts()
    pages = {name: context.new_page() for name, context in visitor.items()}
    for path in (
        "/",
        "/coaches/",
        coach.get_absolute_url(),
        "/accounts/login/",
        "/accounts/signup/",
    ):
        pages["desktop"].goto(path)
        _audit(pages["desktop"], "visitor", problems)
    _shoot(pages, "/", "home")
    _shoot(pages, "/coaches/", "search")
    _shoot(pages, coach.get_absolute_url(), "profile")
    for context in visitor.values():
        context.close()

    # --- the client -----------------------------------------------------------------------
    clients = contexts()
    pages = {name: context.new_page() for name, context in clients.items()}
    for page in pages.values():
        sign_in(page, client)
    desktop = pages["desktop"]
    for path in (
        "/",
        "/bookings/",
        f"/bookings/{booking.pk}/",
        f"/bookings/{booking.pk}/cancel/",
        f"/bookings/{booking.pk}/reschedule/",
        f"/bookings/{booking.pk}/receipt/",
        f"/bookings/{booking.pk}/paid/",
        "/billing/",
        "/messages/",
        f"/messages/{thread.pk}/",
        "/accounts/settings/",
        "/accounts/email/",
        "/accounts/password/change/",
        "/accounts/2fa/",
    ):
        desktop.goto(path)
        _audit(desktop, "client", problems)
    # the booking journey up to the review, on each device
    for name, page in pages.items():
        page.goto(coach.get_absolute_url())
        page.locator("a.slot").first.click()
        page.wait_for_url("**/bookings/new/**")
        if name == "desktop":
            _audit(page, "client", problems)
        page.get_by_label("What would you like to work on?").fill("A salary talk")
        page.get_by_role("button", name="Continue to review").click()
        page.wait_for_url("**/bookings/review/")
        if name == "desktop":
            _audit(page, "client", problems)
        page.screenshot(path=SCREENSHOTS / f"booking-review-{name}.png", full_page=True)
    _shoot(pages, f"/bookings/{booking.pk}/paid/", "checkout-return")
    _shoot(pages, "/bookings/", "my-sessions")
    _shoot(pages, "/billing/", "billing")
    _shoot(pages, f"/bookings/{booking.pk}/", "booking")
    _shoot(pages, f"/messages/{thread.pk}/", "messages")
    _shoot(pages, "/accounts/settings/", "account")
    for context in clients.values():
        context.close()

    # --- the coach ------------------------------------------------------------------------
    coaches = contexts()
    pages = {name: context.new_page() for name, context in coaches.items()}
    for page in pages.values():
        sign_in(page, coach.user)
    desktop = pages["desktop"]
    for path in (
        "/coaches/dashboard/",
        "/coaches/availability/",
        "/bookings/agenda/",
        "/bookings/policy/",
        "/bookings/plans/",
        "/bookings/calendar/",
        f"/bookings/{booking.pk}/",
        "/payments/earnings/",
        "/payments/setup/",
        "/messages/",
        "/accounts/settings/",
    ):
        desktop.goto(path)
        _audit(desktop, "coach", problems)
    _shoot(pages, "/bookings/agenda/", "agenda")
    _shoot(pages, "/payments/earnings/", "earnings")
    _shoot(pages, "/bookings/plans/", "coach-plans")
    _shoot(pages, "/coaches/dashboard/", "coach-dashboard")
    _shoot(pages, "/payments/setup/", "payment-setup")
    for context in coaches.values():
        context.close()

    # --- staff ----------------------------------------------------------------------------
    staff_contexts = contexts()
    pages = {name: context.new_page() for name, context in staff_contexts.items()}
    # a TOTP code is accepted once per account and period: one sign-in, its cookies shared
    sign_in(pages["desktop"], people["staff"], totp=True)
    pages["phone"].context.add_cookies(pages["desktop"].context.cookies())
    desktop = pages["desktop"]
    application = people["application"]
    for path in (
        "/admin/",
        "/admin/bookings/booking/",
        f"/admin/bookings/booking/{booking.pk}/change/",
        "/admin/payments/payment/",
        f"/admin/payments/payment/{payment.pk}/change/",
        "/admin/payments/connectedaccount/",
        "/admin/coaches/coachapplication/",
        f"/admin/coaches/coachapplication/{application.pk}/change/",
    ):
        desktop.goto(path)
        assert not re.search(r"/accounts/", desktop.url), desktop.url
        _audit(desktop, "staff", problems)
    _shoot(pages, f"/admin/bookings/booking/{booking.pk}/change/", "admin-booking")
    _shoot(pages, f"/admin/payments/payment/{payment.pk}/change/", "admin-payment")
    for context in staff_contexts.values():
        context.close()

    assert not problems, "axe found serious or critical violations:\n" + "\n".join(problems)
    shots = sorted(path.name for path in SCREENSHOTS.glob("*.png"))
    for name in (
        "home",
        "search",
        "profile",
        "booking-review",
        "checkout-return",
        "my-sessions",
        "agenda",
        "earnings",
        "messages",
        "account",
        "admin-booking",
        "admin-payment",
    ):
        for device in DEVICES:
            assert f"{name}-{device}.png" in shots, (name, device)
