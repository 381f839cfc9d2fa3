"""The client's side of the marketplace in Chromium, on a desktop and on a 375 x 812 phone:
the booking calendar in the visitor's zone from the first paint, week by week to the
coach's horizon; search's time window and its link to the searched day;
a held booking's next actions; status badges coloured by meaning;
cancelling with the refund shown before and after; the phone's search
filters, "Times shown in" control and reschedule calendar; and the clicks from
a new client's sign-in to a confirmed booking (at most 8).

One browser for the module (the session's), a few page loads per test; bookings are made
through the services against the local Stripe in-process, except in the click count, which
pays on the local Stripe's hosted Checkout like a client."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from bookings.models import Booking, BookingStatus
from bookings.services import cancellation
from coaches.services import availability, search_index
from payments.sandbox import controls
from tests.bookings.conftest import stripe_coach
from tests.bookings.services.test_checkout import book
from tests.coaches.factories import weekly_hours
from tests.factories import UserFactory

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
VIEWPORTS = [pytest.param(DESKTOP, id="desktop"), pytest.param(PHONE, id="phone")]
NEW_YORK = "America/New_York"


@pytest.fixture
def berlin_coach(live_server, settings):
    """A bookable Berlin coach working 09:00-18:00 every day, 30 days ahead, hour-long
    sessions at $120.00, on the local Stripe (webhooks delivered in-process)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.SITE_URL = "http://testserver"
    controls.reset()
    controls.register_default_endpoints("http://testserver")
    coach, session_type = stripe_coach(time_zone="Europe/Berlin")
    coach.availability_rules.all().delete()
    weekly_hours(coach, time(9), time(18))
    coach.booking_horizon_days = 30
    coach.minimum_notice_minutes = 0
    coach.save()
    coach.user.first_name, coach.user.last_name = "Bea", "Berlin"
    coach.user.save()
    search_index.availability_index_refresh(coach_ids=[coach.pk])
    return coach, session_type


@pytest.fixture
def open_page(browser, live_server):
    """Opens fresh browser contexts (no cookies) in a zone, signed in as a user if given;
    they are closed when the test ends, before its database goes."""
    contexts = []

    def open_(viewport, *, user=None, zone=NEW_YORK):
        context = browser.new_context(base_url=live_server.url, viewport=viewport, timezone_id=zone)
        contexts.append(context)
        context.set_default_timeout(15_000)
        if user is not None:
            client = Client()
            client.force_login(user)
            name = django_settings.SESSION_COOKIE_NAME
            value = client.cookies[name].value
            context.add_cookies([{"name": name, "value": value, "url": live_server.url}])
        return context.new_page()

    yield open_
    for context in contexts:
        context.close()


def no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def confirmed_booking(client, session_type, *, days: int = 3) -> Booking:
    booking, payment = book(client, session_type, starts_at=next_berlin_hour(days))
    controls.pay_checkout_session(payment.stripe_checkout_session_id)
    controls.deliver_pending_events()
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    return booking


def next_berlin_hour(days: int):
    """10:00 in Berlin ``days`` from now (inside the coach's hours)."""
    berlin = ZoneInfo("Europe/Berlin")
    day = (timezone.now() + timedelta(days=days)).astimezone(berlin).date()
    return datetime.combine(day, time(10), tzinfo=berlin)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_profile_calendar_is_in_the_visitors_zone_from_the_first_paint_week_by_week(
    open_page, berlin_coach, viewport
):
    coach, _ = berlin_coach
    page = open_page(viewport)

    # the first answer draws no time at all (it cannot know the zone yet): nothing in UTC
    response = page.goto(f"/coaches/{coach.slug}/")
    assert 'class="slot"' not in response.text()
    calendar = page.get_by_test_id("calendar")
    expect(calendar).to_have_attribute("data-zone", NEW_YORK)

    # a later page is drawn in the visitor's zone by the server itself
    later = page.goto(f"/coaches/{coach.slug}/")
    assert f'data-zone="{NEW_YORK}"' in later.text() and 'class="slot"' in later.text()

    # next week: every day, every slot: Berlin's 09:00-17:00 starts are 03:00-11:00 in New York
    page.get_by_test_id("next-week").click()
    expect(page.get_by_test_id("week-label")).not_to_have_text(re.compile("^$"))
    page.wait_for_url("**week=**")
    days = page.get_by_test_id("calendar-day")
    expect(days).to_have_count(7)
    first_day = days.first
    times = first_day.locator("a.slot").all_inner_texts()
    assert [text.split()[-1] for text in times][:1] == ["03:00"]
    assert len(times) == 17 and times[-1].endswith("11:00")
    assert first_day.locator("[data-part=morning] h4").inner_text().lower() == "morning"

    # on up to the coach's horizon, and no further
    weeks = 1
    while page.get_by_test_id("next-week").count():
        label = page.get_by_test_id("week-label").inner_text()
        page.get_by_test_id("next-week").click()
        expect(page.get_by_test_id("week-label")).not_to_have_text(label)
        weeks += 1
    assert 4 <= weeks <= 6
    horizon = (timezone.now() + timedelta(days=30)).astimezone(ZoneInfo(NEW_YORK)).date()
    assert page.locator(f"[data-day='{horizon.isoformat()}']").count() == 1

    if viewport is PHONE:
        # the days stack in one column and nothing scrolls sideways
        first, second = (days.nth(index).bounding_box() for index in (0, 1))
        assert second["y"] > first["y"] and abs(second["x"] - first["x"]) < 2
        no_sideways_scroll(page)


def test_search_for_a_time_lists_only_coaches_offering_it_and_links_to_that_day(
    open_page, berlin_coach
):
    # given: a second coach with the same hours who is away that day
    away, _ = stripe_coach(time_zone="Europe/Berlin")
    away.user.first_name, away.user.last_name = "Away", "Coach"
    away.user.save()
    day = next_berlin_hour(9).date()
    berlin = ZoneInfo("Europe/Berlin")
    availability.time_off_add(
        coach=away,
        starts_at=datetime.combine(day, time(0), tzinfo=berlin),
        ends_at=datetime.combine(day + timedelta(days=1), time(0), tzinfo=berlin),
    )
    page = open_page(DESKTOP)

    # when: a visitor searches that day, 10:00-12:00 Berlin time
    page.goto(f"/coaches/?day={day.isoformat()}&from_time=10:00&to_time=12:00&tz=Europe/Berlin")
    # then: only the coach whose calendar has a slot then
    cards = page.locator(".coach-card")
    expect(cards).to_have_count(1)
    assert "Bea Berlin" in cards.first.inner_text()
    # and the card leads straight to that day on the profile, selected, with its slots
    cards.first.get_by_test_id("times-on-day").click()
    selected = page.locator(".calendar-day.is-selected")
    expect(selected).to_have_attribute("data-day", day.isoformat())
    assert {"10:00", "10:30", "11:00"} <= {
        text.split()[-1] for text in selected.locator("a.slot").all_inner_texts()
    }


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_next_actions_badges_and_cancelling_with_the_refund_shown_before_and_after(
    open_page, berlin_coach, viewport
):
    # given: a client with a held (unpaid) booking, a confirmed one and a cancelled one
    _coach, session_type = berlin_coach
    client = UserFactory(time_zone=NEW_YORK, first_name="Nina", last_name="Client")
    held, held_payment = book(client, session_type, starts_at=next_berlin_hour(5))
    confirmed = confirmed_booking(client, session_type, days=3)
    cancelled = confirmed_booking(client, session_type, days=4)
    cancellation.booking_cancel(booking=cancelled, by=client)
    page = open_page(viewport, user=client)

    # My sessions: the held booking can be paid or released, with the hold's time left
    page.goto("/bookings/")
    row = page.get_by_test_id("upcoming-row").filter(has=page.locator("[data-status=held]"))
    expect(row.get_by_role("link", name="Continue to payment")).to_have_attribute(
        "href", f"/bookings/{held.pk}/pay/"
    )
    expect(row).to_contain_text("minutes left")
    # each status's badge has the colour of its meaning, not one red for all
    badges = {
        status: page.locator(f".status-badge[data-status={status}]").first
        for status in ("held", "confirmed", "cancelled_by_client")
    }
    tones = {status: badge.get_attribute("data-tone") for status, badge in badges.items()}
    assert tones == {"held": "pending", "confirmed": "success", "cancelled_by_client": "neutral"}
    colours = {
        badge.evaluate("element => getComputedStyle(element).backgroundColor")
        for badge in badges.values()
    }
    assert len(colours) == 3
    if viewport is PHONE:
        no_sideways_scroll(page)

    # the pay page continues to Stripe's Checkout; releasing gives the time back
    row.get_by_role("link", name="Continue to payment").click()
    expect(page.get_by_role("link", name="Continue to payment")).to_have_attribute(
        "href", held_payment.checkout_url
    )
    page.get_by_role("button", name="Release this time").click()
    expect(page.get_by_text("The time is released")).to_be_visible()
    held.refresh_from_db()
    assert held.status == BookingStatus.EXPIRED

    # cancelling asks first and shows the exact refund, then the booking states it
    page.goto(f"/bookings/{confirmed.pk}/")
    page.get_by_role("link", name="Cancel the session…").click()
    expect(page.get_by_test_id("refund-amount")).to_have_text("$120.00")
    confirmed.refresh_from_db()
    assert confirmed.status == BookingStatus.CONFIRMED
    page.get_by_role("button", name="Yes, cancel the session").click()
    expect(page.get_by_test_id("booking-status-badge")).to_have_text("Cancelled by client")
    expect(page.get_by_test_id("refund-after")).to_contain_text("$120.00 back to the card")
    if viewport is PHONE:
        no_sideways_scroll(page)


def test_on_a_phone_filters_fold_away_the_zone_control_is_usable_and_rescheduling_is_a_calendar(
    open_page, berlin_coach
):
    coach, session_type = berlin_coach
    client = UserFactory(time_zone=NEW_YORK)
    booking = confirmed_booking(client, session_type, days=3)
    page = open_page(PHONE, user=client)

    # search: the filters wait in a closed panel and the first coach shows above the fold
    page.goto("/coaches/")
    panel = page.locator("[data-filters-panel]")
    assert panel.get_attribute("open") is None
    assert not page.get_by_label("Specialisation", exact=True).is_visible()
    assert page.locator(".coach-card").first.bounding_box()["y"] < PHONE["height"]
    panel.locator("summary").click()
    expect(page.get_by_label("Specialisation", exact=True)).to_be_visible()
    no_sideways_scroll(page)

    # the profile's "Times shown in" is a full-width, finger-sized control
    page.goto(f"/coaches/{coach.slug}/")
    zone = page.get_by_label("Times shown in").bounding_box()
    assert zone["height"] >= 40 and zone["width"] >= 250

    # reschedule: a calendar of time buttons, not a column of bare radio buttons
    page.goto(f"/bookings/{booking.pk}/reschedule/")
    choices = page.locator(".slot-choice label")
    assert choices.count() > 20
    first = choices.first.bounding_box()
    assert first["height"] >= 36 and first["width"] >= 56
    assert page.locator("input[name=starts_at]").first.bounding_box()["width"] <= 1
    no_sideways_scroll(page)
    target = choices.nth(5)
    new_start = target.get_attribute("data-start")
    target.click()
    page.get_by_role("button", name="Move the session").click()
    expect(page.get_by_text("The session is moved.")).to_be_visible()
    moved = Booking.objects.get(rescheduled_from=booking)
    assert moved.starts_at.isoformat().replace("+00:00", "Z") == new_start


def test_a_new_client_books_in_at_most_eight_clicks_after_signing_in(
    open_page, live_server, settings
):
    # given: the local Stripe sends its webhooks to this server, and a bookable coach
    settings.SITE_URL = live_server.url
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    controls.reset()
    controls.register_default_endpoints(live_server.url)
    coach, _ = stripe_coach(time_zone="Europe/Berlin")
    coach.minimum_notice_minutes = 24 * 60
    coach.save()
    coach.user.first_name, coach.user.last_name = "Cora", "Coach"
    coach.user.save()
    page = open_page(DESKTOP, zone="Europe/Zurich")

    # a new client signs up and confirms the address (before signing in: not counted)
    page.goto("/accounts/signup/")
    page.get_by_label("First name").fill("Nina")
    page.get_by_label("Last name").fill("New")
    page.get_by_label("Email").fill("nina.new@example.test")
    page.locator("#id_password1").fill("a-Strong-pass-91")
    page.locator("#id_password2").fill("a-Strong-pass-91")
    page.get_by_role("button", name="Sign Up").click()
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+", mail.outbox[-1].body).group(0)
    page.goto(link.replace("http://testserver", live_server.url))
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url("**/accounts/login/")
    page.get_by_label("Email").fill("nina.new@example.test")
    page.locator("#id_password").fill("a-Strong-pass-91")
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(live_server.url + "/")

    clicks = 0

    def click(locator) -> None:
        nonlocal clicks
        clicks += 1
        locator.click()

    # when: from the home page, the featured coach, a time, the topic, review, Checkout
    click(page.locator(f"[data-coach='{coach.slug}'] a").first)
    click(page.locator("a.slot").first)
    page.get_by_label("What would you like to work on?").fill("A salary talk")
    click(page.get_by_role("button", name="Continue to review"))
    click(page.get_by_role("button", name=re.compile(r"^Pay ")))
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    click(page.get_by_role("button", name=re.compile(r"^Pay ")))

    # then: confirmed, with the session in both zones and a way into a calendar
    status = page.get_by_test_id("booking-status")
    status.get_by_text("Confirmed.").wait_for(timeout=20_000)
    assert clicks <= 8, clicks
    assert "(Europe/Zurich)" in status.get_by_test_id("client-time").inner_text()
    assert "(Europe/Berlin)" in status.get_by_test_id("coach-time").inner_text()
    expect(status.get_by_role("link", name="Add to calendar (.ics)")).to_be_visible()
    assert Booking.objects.get(client__email="nina.new@example.test").status == "confirmed"
