"""The coach's insights, the client's dashboard and the staff operations page in Chromium,
on a desktop and on a 375 x 812 phone: each renders its figures and charts, axe-core finds
no serious or critical violation, nothing is wider than the screen, and screenshots are saved under
``.artifacts/screenshots/`` for a person to look at."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone

from bookings.models import Booking, BookingStatus, SessionNote
from coaches.models import Review
from payments.models import PaymentStatus
from tests.bookings.factories import BookingFactory, paid_package, weekly_hours
from tests.bookings.test_insights import pay
from tests.coaches.factories import CoachProfileFactory, SessionTypeFactory
from tests.e2e.test_account_experience import DEVICES, sign_in
from tests.e2e.test_pages_audit import SCREENSHOTS
from tests.factories import UserFactory
from tests.marketplace.test_operations import operations_scenario
from tests.mfa import give_totp

pytestmark = pytest.mark.browser

AXE = Axe()


@pytest.fixture
def year_of_coaching(db, live_server, settings):
    """A coach in Berlin with a year of sessions, reviews and payments in euros and pounds,
    and one of their clients with sessions ahead and behind, notes and a package."""
    settings.SITE_URL = live_server.url
    coach = CoachProfileFactory(
        time_zone="Europe/Berlin", user__time_zone="Europe/Berlin", user__first_name="Clara"
    )
    weekly_hours(coach, time(9), time(13))
    euros = SessionTypeFactory(coach=coach, currency="eur", price=9500, name="Career session")
    nina = UserFactory(time_zone="America/New_York", first_name="Nina", last_name="Client")
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    for index in range(24):
        client = nina if index % 3 == 0 else UserFactory()
        starts = now - timedelta(days=15 * index + 2)
        booking = BookingFactory(
            session_type=euros,
            client=client,
            starts_at=starts,
            ends_at=starts + timedelta(hours=1),
            status=BookingStatus.NO_SHOW if index % 7 == 6 else BookingStatus.COMPLETED,
        )
        Booking.objects.filter(pk=booking.pk).update(created_at=starts - timedelta(days=5))
        currency = "gbp" if index % 4 == 0 else "eur"
        pay(coach, client, 9500, 1425, currency, starts - timedelta(days=5), booking=booking)
        review = Review.objects.create(
            booking=booking, coach=coach, client=client, rating=4 + index % 2
        )
        Review.objects.filter(pk=review.pk).update(created_at=starts + timedelta(hours=3))
        if client == nina and index < 10:
            SessionNote.objects.create(booking=booking, text="Keep the weekly review going.")
    pay(
        coach,
        nina,
        9500,
        1425,
        "eur",
        now,
        status=PaymentStatus.PARTIALLY_REFUNDED,
        refunded_amount=4750,
    )
    upcoming = BookingFactory(
        session_type=euros,
        client=nina,
        starts_at=now + timedelta(days=2, hours=3),
        meeting_url="https://meet.example.test/coach-connect-1",
    )
    paid_package(client=nina, session_type=euros, sessions=5)
    return {"coach": coach, "client": nina, "upcoming": upcoming}


def _check(page, problems: list[str], label: str) -> None:
    page.wait_for_load_state("load")
    for violation in AXE.run(page).response["violations"]:
        if violation["impact"] in ("serious", "critical"):
            targets = [", ".join(node["target"]) for node in violation["nodes"][:3]]
            problems.append(f"{label}: {violation['id']} ({violation['impact']}) {targets}")
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    if overflow > 1:
        wide = page.evaluate(
            """() => [...document.querySelectorAll("body *")]
                .filter((element) => element.getBoundingClientRect().right
                    > document.documentElement.clientWidth + 1)
                .slice(-3).map((element) => element.tagName + "." + element.className)"""
        )
        problems.append(f"{label}: the page is {overflow}px wider than the screen: {wide}")


def test_the_coach_and_client_dashboards_on_a_desktop_and_a_phone(
    browser, live_server, year_of_coaching
):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    for device in DEVICES:
        _dashboards_on(device, browser, live_server, year_of_coaching, problems)
    assert not problems, "\n".join(problems)


def _dashboards_on(device, browser, live_server, year_of_coaching, problems) -> None:
    context = browser.new_context(
        base_url=live_server.url, timezone_id="Europe/Berlin", **DEVICES[device]
    )
    context.set_default_timeout(15_000)
    page = context.new_page()

    # the coach's insights, over a year: figures, charts with their table, CSV links
    sign_in(page, year_of_coaching["coach"].user)
    page.goto("/bookings/insights/?range=12m")
    assert page.get_by_role("link", name="Insights").get_attribute("aria-current") == "page"
    assert page.get_by_test_id("stat-completed").locator(".stat-value").inner_text() != "0"
    chart = page.get_by_test_id("chart-revenue-eur")
    assert chart.get_by_role("img").get_attribute("aria-labelledby")
    chart.get_by_text("The figures as a table").click()
    assert chart.get_by_role("table").is_visible()
    assert page.get_by_test_id("chart-rating").is_visible()
    assert page.get_by_role("link", name="Download CSV of revenue").is_visible()
    _check(page, problems, f"insights 12 months ({device})")
    page.screenshot(path=SCREENSHOTS / f"insights-{device}.png", full_page=True)
    page.get_by_role("link", name="This month").click()
    page.wait_for_url("**/bookings/insights/?range=month")
    _check(page, problems, f"insights this month ({device})")
    page.goto("/coaches/dashboard/")
    page.get_by_role("link", name="Insights").click()
    page.wait_for_url("**/bookings/insights/")
    context.clear_cookies()

    # the client's dashboard: join link, countdown, notes, coaches, package, spending
    sign_in(page, year_of_coaching["client"])
    page.goto("/bookings/")
    upcoming = page.get_by_test_id("upcoming-row").first
    assert upcoming.get_by_test_id("join-link").get_attribute("href").startswith("https://meet.")
    assert "in 2 days" in upcoming.get_by_test_id("starts-in").inner_text()
    assert page.get_by_test_id("coach-booked").get_by_role("link", name="Book again").is_visible()
    assert "5 of 5 sessions left" in page.get_by_test_id("sessions-left").inner_text()
    assert page.get_by_test_id("session-note").first.is_visible()
    assert "Keep the weekly review going." in page.get_by_test_id("session-note").first.inner_text()
    _check(page, problems, f"client dashboard ({device})")
    page.screenshot(path=SCREENSHOTS / f"client-dashboard-{device}.png", full_page=True)
    context.close()


def test_the_staff_operations_page_on_a_desktop_and_a_phone(browser, live_server, db):
    """The operations page of the scenario of ``tests/marketplace/test_operations.py``."""
    operations_scenario()
    staff = UserFactory(is_staff=True, is_superuser=True, time_zone="Europe/Zurich")
    give_totp(staff)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    # a TOTP code is accepted once per account and period: one sign-in, its cookies shared
    contexts = {
        device: browser.new_context(
            base_url=live_server.url, timezone_id="Europe/Zurich", **options
        )
        for device, options in DEVICES.items()
    }
    sign_in(contexts["desktop"].new_page(), staff, totp=True)
    contexts["phone"].add_cookies(contexts["desktop"].cookies())
    for device, context in contexts.items():
        context.set_default_timeout(15_000)
        page = context.new_page()
        page.goto("/admin/")
        page.get_by_test_id("operations-link").click()
        page.wait_for_url("**/admin/operations/")
        assert page.get_by_test_id("ops-stuck").inner_text() == "1"
        assert page.get_by_test_id("ops-webhook-backlog").inner_text() == "2"
        _check(page, problems, f"operations ({device})")
        page.screenshot(path=SCREENSHOTS / f"operations-{device}.png", full_page=True)
        page.get_by_test_id("ops-refunds-failed").click()
        page.wait_for_url("**/admin/payments/refund/?status__exact=failed")
        context.close()
    assert not problems, "\n".join(problems)
