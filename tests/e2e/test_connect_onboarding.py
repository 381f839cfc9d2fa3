"""A coach sets up payouts on the local Stripe's hosted onboarding, in Chromium."""

from __future__ import annotations

import pytest

from coaches.models import CoachProfile
from payments.models import AccountState, ConnectedAccount
from payments.sandbox import controls
from tests.coaches.factories import CoachProfileFactory

pytestmark = pytest.mark.browser

PASSWORD = "a-Strong-pass-91"


@pytest.fixture
def coach_page(page, live_server, settings):
    """An approved coach, signed in, with the local Stripe on the live server."""
    settings.SITE_URL = live_server.url
    controls.reset()
    controls.register_default_endpoints(live_server.url)
    profile = CoachProfileFactory(is_approved=True, can_take_charges=False)
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(profile.user.email)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(live_server.url + "/")
    page.coach = profile.user
    return page


def _start(page) -> None:
    page.goto("/payments/setup/")
    page.get_by_label("Country you live and bank in").select_option("US")
    page.get_by_role("button", name="Set up payouts with Stripe").click()
    page.wait_for_url("**/_stripe/connect/onboarding/**")
    assert page.get_by_role("heading", name="Set up payouts").is_visible()


def _submit_onboarding(page, outcome_label: str) -> None:
    page.get_by_label(outcome_label).check()
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url("**/payments/setup/")


def _bookable(coach) -> bool:
    return CoachProfile.objects.get(user=coach).is_bookable


def test_approved_coach_completes_onboarding_and_becomes_bookable(coach_page):
    page, coach = coach_page, coach_page.coach
    assert not _bookable(coach)
    # when
    _start(page)
    _submit_onboarding(page, "Finish: submit everything")
    # then: back on the site, the state was re-read from Stripe
    assert page.locator("#connect-state").get_attribute("data-state") == "active"
    assert page.get_by_text("Your Stripe account is active").is_visible()
    assert page.get_by_role("button", name="Open Stripe dashboard").is_visible()
    assert not page.get_by_role("button", name="Continue setup").is_visible()
    assert _bookable(coach)
    assert ConnectedAccount.objects.get(coach=coach).state == AccountState.ACTIVE
    # the Express dashboard opens through a login link
    page.get_by_role("button", name="Open Stripe dashboard").click()
    page.wait_for_url("**/_stripe/express/**")
    # and the nav leads coaches to their earnings
    page.goto("/payments/setup/")
    page.get_by_role("link", name="Earnings").first.click()
    page.wait_for_url("**/payments/earnings/")
    assert page.get_by_role("heading", name="Earnings", exact=True).is_visible()


def test_requirements_left_due_are_listed_and_continue_setup_works(coach_page):
    page, coach = coach_page, coach_page.coach
    _start(page)
    _submit_onboarding(page, "Leave a requirement due")
    # then: exactly what Stripe still needs, in plain words
    assert page.locator("#requirements-due li").all_inner_texts() == ["A photo of your ID document"]
    assert page.locator("#connect-state").get_attribute("data-state") == "onboarding"
    assert not _bookable(coach)
    # when: "Continue setup" leads back to Stripe with a fresh link, and the coach finishes
    page.get_by_role("button", name="Continue setup").click()
    page.wait_for_url("**/_stripe/connect/onboarding/**")
    _submit_onboarding(page, "Finish: submit everything")
    assert page.locator("#connect-state").get_attribute("data-state") == "active"
    assert page.locator("#requirements-due").count() == 0
    assert _bookable(coach)


def test_an_expired_link_leads_to_a_fresh_link_not_to_done(coach_page):
    page, coach = coach_page, coach_page.coach
    _start(page)
    first_link = page.url
    # given: the coach leaves the page open until the link has expired
    controls.advance_clock(15 * 60)
    # when: they come back to it
    page.goto(first_link)
    # then: Stripe sends them to our refresh URL, which makes a fresh link
    page.wait_for_url("**/_stripe/connect/onboarding/**")
    assert page.url != first_link
    assert page.get_by_role("heading", name="Set up payouts").is_visible()
    account = ConnectedAccount.objects.get(coach=coach)
    assert account.state == AccountState.ONBOARDING
    assert not account.details_submitted
    assert not _bookable(coach)
    # and the fresh link works to the end
    _submit_onboarding(page, "Finish: submit everything")
    assert page.locator("#connect-state").get_attribute("data-state") == "active"
    assert _bookable(coach)


def test_the_country_comes_from_the_browsers_time_zone_and_is_fixed_once_the_account_exists(
    coach_page,
):
    # given: the browser is in Europe/Zurich (the page fixture's time zone), the coach's saved
    # time zone is UTC, and the platform is in the US
    page, coach = coach_page, coach_page.coach
    page.goto("/payments/setup/")
    country = page.get_by_label("Country you live and bank in")
    # then: Switzerland is chosen, and only its note says what it allows
    assert country.input_value() == "CH"
    visible = page.locator("#country-notes [data-country]:visible")
    assert visible.count() == 1 and visible.get_attribute("data-country") == "CH"
    assert "across the border" in visible.inner_text()
    # and another country's note shows when the coach picks it
    country.select_option("AU")
    assert "whole package" in page.locator("#country-notes div:visible").inner_text()
    country.select_option("CH")
    # when: the coach starts and finishes onboarding
    page.get_by_role("button", name="Set up payouts with Stripe").click()
    page.wait_for_url("**/_stripe/connect/onboarding/**")
    _submit_onboarding(page, "Finish: submit everything")
    # then: the account is Swiss, under the recipient agreement, and the country cannot change
    account = ConnectedAccount.objects.get(coach=coach)
    assert (account.country, account.service_agreement) == ("CH", "recipient")
    assert "Switzerland" in page.locator("#connect-country").inner_text()
    assert page.get_by_label("Country you live and bank in").count() == 0
