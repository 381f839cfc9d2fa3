"""A winner who is not a coach is paid a prize, in Chromium against the live server and the
local Stripe: staff invite them, they onboard on Stripe's hosted page, one staff member asks
for a 500.00 prize (above the two-person threshold), a second approves it, the winner sees it
received, and the local Stripe's Express dashboard shows the transfer less the 3% fee."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from payments.models import PayoutRequest, PayoutRequestStatus
from payments.sandbox import controls
from tests.conftest import wait_for
from tests.factories import UserFactory
from tests.mfa import give_totp, pass_totp_step
from tests.payments.payouts import fund_platform, stripe_transfers

pytestmark = pytest.mark.browser
PASSWORD = "a-Strong-pass-91"


@pytest.fixture
def new_page(browser, live_server, settings):
    """A fresh browser context per person (each signs in once, in their own session)."""
    settings.SITE_URL = live_server.url
    # Signing in four times stays quick on a busy machine.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.PAYOUT_PRIZE_FEE_BPS = 300
    settings.PAYOUT_TWO_PERSON_THRESHOLD = 250
    controls.reset()
    controls.register_default_endpoints(live_server.url)
    contexts = []

    def make():
        context = browser.new_context(base_url=live_server.url, timezone_id="Europe/Zurich")
        context.set_default_timeout(30_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def sign_in(page, email: str, *, staff: bool = False) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    if staff:
        # staff: the code from their authenticator app comes next
        pass_totp_step(page)
    page.wait_for_url("**/")


def test_a_winner_is_invited_onboards_and_receives_a_prize_approved_by_a_second_person(
    new_page, live_server
):
    # given: two staff members and a winner who is a client of the platform, not a coach
    for email in ("ada@staff.test", "grace@staff.test"):
        give_totp(UserFactory(email=email, is_staff=True, is_superuser=True))
    winner = UserFactory(email="wanda@example.test", first_name="Wanda", last_name="Winner")
    fund_platform(100_000)

    # when: staff invite the winner from the admin
    ada = new_page()
    sign_in(ada, "ada@staff.test", staff=True)
    ada.goto("/admin/payments/payeeinvitation/add/")
    ada.get_by_label("E-mail address").fill(winner.email)
    ada.get_by_label("What the payouts are for").fill("Winner of the spring challenge")
    ada.get_by_role("button", name="Send the invitation").click()
    expect(ada.get_by_text("Invitation e-mailed to wanda@example.test")).to_be_visible()
    invitation = wait_for(
        lambda: [m for m in mail.outbox if m.to == [winner.email] and "payment" in m.subject]
    )[0]
    link = re.search(r"(http://\S+/payments/payee/\S+/)", invitation.body).group(1)

    # and the winner opens the link, signs in and onboards on the local Stripe
    wanda = new_page()
    wanda.goto(link)
    wanda.wait_for_url("**/accounts/login/**")
    wanda.get_by_label("Email").fill(winner.email)
    wanda.locator("#id_password").fill(PASSWORD)
    wanda.get_by_role("button", name="Sign In").click()
    wanda.wait_for_url("**/payments/setup/")
    expect(wanda.get_by_text("You can now set up your Stripe account")).to_be_visible()
    wanda.get_by_label("Country you live and bank in").select_option("US")
    wanda.get_by_role("button", name="Set up payouts with Stripe").click()
    wanda.wait_for_url("**/_stripe/connect/onboarding/**")
    wanda.get_by_label("Finish: submit everything").check()
    wanda.get_by_role("button", name="Submit").click()
    wanda.wait_for_url("**/payments/setup/")
    expect(wanda.locator("#connect-state")).to_have_attribute("data-state", "active")
    active = wanda.get_by_text("Your Stripe account is active: you can be paid.")
    expect(active.first).to_be_visible()

    # when: one staff member asks for a 500.00 prize for the winner
    ada.goto("/admin/payments/payoutrequest/add/")
    ada.get_by_label("Recipient's e-mail address").fill(winner.email)
    ada.get_by_label("Amount").fill("500.00")
    ada.get_by_label("Currency").fill("usd")
    ada.get_by_label("Reason").select_option("prize")
    ada.get_by_label("Note").fill("Spring challenge, first place")
    ada.get_by_role("button", name="Request payout").click()
    # then: the fee and what will be transferred are shown before approval
    expect(ada.locator("#content")).to_contain_text(
        "$500.00 awarded, $15.00 platform fee (3%) kept, $485.00 transferred"
    )
    expect(ada.locator("#own-request")).to_be_visible()
    # and the requester cannot approve it
    ada.get_by_role("button", name="Approve and send").click()
    expect(ada.locator(".messagelist")).to_contain_text("another staff member must approve it")
    request = PayoutRequest.objects.get()
    assert request.status == PayoutRequestStatus.REQUESTED

    # when: a second staff member approves it
    grace = new_page()
    sign_in(grace, "grace@staff.test", staff=True)
    grace.goto(f"/admin/payments/payoutrequest/{request.pk}/change/")
    expect(grace.locator("#platform-available")).to_contain_text("$")
    grace.get_by_role("button", name="Approve and send").click()
    expect(grace.locator(".messagelist")).to_contain_text("approved: its transfer is on its way")
    wait_for(lambda: PayoutRequest.objects.get(pk=request.pk).status == PayoutRequestStatus.PAID)

    # then: the winner sees it received, with their balance
    wanda.goto("/payments/received/")
    row = wanda.locator(f'#payments-received tr[data-payout="{request.pk}"]')
    expect(row).to_contain_text("Prize")
    expect(row).to_contain_text("$485.00")
    expect(row).to_contain_text("$500.00 less $15.00 fee")
    expect(row.locator(".status")).to_have_text("Paid")
    expect(wanda.locator("#balance-available, #balance-pending")).to_contain_text(["$485.00"])
    # and the local Stripe shows the transfer, less the prize fee, in their Express dashboard
    wanda.get_by_role("button", name="Open Stripe dashboard").click()
    wanda.wait_for_url("**/_stripe/express/**")
    (transfer,) = stripe_transfers(request)
    payment = wanda.locator(f'#express-payments tr[data-transfer="{transfer.id}"]')
    expect(payment.locator(".amount")).to_have_text("$485.00")
    expect(payment).to_contain_text("Prize from Coach Connect: Spring challenge, first place")
    assert transfer.amount == 48500
    # and the e-mail said the money is on its way
    assert any("$485.00 is on its way" in m.subject for m in mail.outbox if m.to == [winner.email])
