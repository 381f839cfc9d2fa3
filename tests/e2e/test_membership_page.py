"""A coach's Membership page in Chromium at desktop and phone widths: the fee now and the plans
offered, subscribing through the local Stripe's Checkout, the membership active with the
member's fee, cancelling at period end and keeping it. Photographed at each step."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from coaches.models import CoachMembership, MembershipPlan, MembershipStatus
from coaches.services import memberships
from payments.sandbox import controls
from tests.bookings.plan_setup import deliver
from tests.coaches.factories import CoachProfileFactory

# the device and local Stripe fixtures of the account journeys
from tests.e2e.test_account_experience import DEVICES, sign_in
from tests.e2e.test_account_experience import device as device
from tests.e2e.test_account_experience import local_stripe as local_stripe
from tests.e2e.test_pages_audit import _audit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class _NoCapture:
    """In a transactional test every commit runs its callbacks: nothing to capture."""

    def __call__(self, execute: bool = True) -> _NoCapture:
        return self

    def __enter__(self) -> list:
        return []

    def __exit__(self, *exc: object) -> None:
        return None


def _shot(page, tmp_path: Path, name: str) -> None:
    folder = Path(os.environ.get("SCREENSHOT_DIR", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"membership-{name}-{page.device_name}.png"), full_page=True)


def _no_sideways_scroll(page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the page scrolls sideways by {overflow}px"


def test_a_coach_subscribes_cancels_and_keeps_a_membership(
    device, live_server, local_stripe, tmp_path, settings
):
    settings.PLATFORM_FEE_BPS = 1500
    for name, price, fee_bps, description in (
        ("Pro", 2900, 500, "For coaches with a full week: keep more of every session."),
        ("Studio", 29000, 300, "Billed yearly, the lowest fee."),
    ):
        memberships.membership_plan_save(
            plan=MembershipPlan(
                name=name,
                price=price,
                fee_bps=fee_bps,
                interval="year" if name == "Studio" else "month",
                description=description,
            )
        )
    coach = CoachProfileFactory().user
    sign_in(device, coach)

    # the coach finds the page in their menu
    device.goto("/coaches/membership/")
    expect(device.get_by_role("heading", name="Membership", exact=True)).to_be_visible()
    expect(device.get_by_test_id("fee-rate")).to_have_text("15%")
    expect(device.get_by_test_id("membership-plan")).to_have_count(2)
    _no_sideways_scroll(device)
    problems: list[str] = []
    _audit(device, "coach", problems)
    _shot(device, tmp_path, "plans")

    # subscribing goes to Stripe's Checkout and back
    device.get_by_role("button", name="Subscribe to Pro").click()
    expect(device.get_by_role("heading", name="Subscribe: $29.00 a month")).to_be_visible()
    device.get_by_label("Card number").fill("4242 4242 4242 4242")
    device.get_by_label("Expiry (MM / YY)").fill("12 / 34")
    device.get_by_label("CVC").fill("123")
    device.get_by_role("button", name="Subscribe").click()
    device.wait_for_url("**/coaches/membership/?checkout=done")
    deliver(_NoCapture())
    membership = CoachMembership.objects.get(coach__user=coach)
    assert membership.status == MembershipStatus.ACTIVE

    device.goto("/coaches/membership/")
    expect(device.get_by_test_id("membership-status")).to_have_text("Active")
    expect(device.get_by_test_id("fee-rate")).to_have_text("5%")
    expect(device.get_by_role("button", name="Subscribe to Studio")).to_have_count(0)
    _no_sideways_scroll(device)
    _audit(device, "member", problems)
    assert problems == []
    _shot(device, tmp_path, "member")

    # cancel at period end, then keep it
    device.get_by_role("button", name="Cancel at the end of the period").click()
    ending = device.get_by_text("Your membership will end when the paid period does.")
    expect(ending).to_be_visible()
    expect(device.get_by_test_id("membership-current")).to_contain_text("Ends on")
    _shot(device, tmp_path, "cancelled")
    device.get_by_role("button", name="Keep my membership").click()
    expect(device.get_by_text("Your membership renews again.")).to_be_visible()
    expect(device.get_by_test_id("membership-current")).to_contain_text("Renews on")
    controls.deliver_pending_events()


def test_the_phone_layout_keeps_the_plans_in_one_column(browser, live_server, local_stripe):
    memberships.membership_plan_save(plan=MembershipPlan(name="Pro", price=2900, fee_bps=500))
    memberships.membership_plan_save(plan=MembershipPlan(name="Team", price=9900, fee_bps=200))
    context = browser.new_context(base_url=live_server.url, **DEVICES["phone"])
    page = context.new_page()
    try:
        sign_in(page, CoachProfileFactory().user)
        page.goto("/coaches/membership/")
        boxes = [card.bounding_box() for card in page.get_by_test_id("membership-plan").all()]
        assert len(boxes) == 2 and all(boxes)
        first, second = boxes
        assert second["y"] >= first["y"] + first["height"]  # stacked, not side by side
        assert first["width"] <= DEVICES["phone"]["viewport"]["width"]
    finally:
        context.close()
