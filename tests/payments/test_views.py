"""The payment setup wizard, earnings pages and their permissions."""

from __future__ import annotations

import pytest
from django.urls import reverse

from payments.models import AccountState, ConnectedAccount, PayoutInterval
from tests.factories import UserFactory
from tests.payments.conftest import make_account


@pytest.fixture
def coach_client(client, connect_coach):
    client.force_login(connect_coach)
    return client


def test_pages_need_a_signed_in_coach(client, stripe_local):
    for name in ["payments:connect_setup", "payments:earnings", "payments:earnings_csv"]:
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]
    client.force_login(UserFactory())
    for name in ["payments:connect_setup", "payments:earnings"]:
        assert client.get(reverse(name)).status_code == 403
    assert client.post(reverse("payments:connect_start"), {"country": "US"}).status_code == 403
    assert not ConnectedAccount.objects.exists()


def test_wizard_start_creates_the_account_once_and_goes_to_stripe(
    coach_client, connect_coach, stripe_local
):
    page = coach_client.get(reverse("payments:connect_setup"))
    assert page.status_code == 200
    assert b"Set up payouts with Stripe" in page.content
    # when: the start button is pressed twice
    first = coach_client.post(reverse("payments:connect_start"), {"country": "US"})
    second = coach_client.post(reverse("payments:connect_start"), {"country": "US"})
    # then: both go to a (fresh) Stripe onboarding link for the one account
    assert first.status_code == 303 and second.status_code == 303
    assert "/_stripe/connect/onboarding/" in first["Location"]
    assert first["Location"] != second["Location"]
    account = ConnectedAccount.objects.get(coach=connect_coach)
    assert account.state == AccountState.ONBOARDING


def test_refresh_url_makes_a_fresh_link_and_never_completes(
    coach_client, connect_coach, stripe_local
):
    make_account(connect_coach)
    response = coach_client.get(reverse("payments:connect_refresh"))
    assert response.status_code == 303
    assert "/_stripe/connect/onboarding/" in response["Location"]
    assert ConnectedAccount.objects.get(coach=connect_coach).state == AccountState.ONBOARDING


def test_return_url_rereads_the_account_and_shows_what_is_due(
    coach_client, connect_coach, stripe_local
):
    account = make_account(connect_coach)
    stripe_local.pause_deliveries()  # the webhook is late: only the return re-read tells
    stripe_local.complete_onboarding(account.stripe_account_id, "leave_due")
    response = coach_client.get(reverse("payments:connect_return"), follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "A photo of your ID document" in html
    assert "Continue setup" in html
    assert "Stripe still needs a few things from you" in html
    account.refresh_from_db()
    assert account.state == AccountState.ONBOARDING


def test_return_after_completing_shows_active(coach_client, connect_coach, stripe_local):
    account = make_account(connect_coach)
    stripe_local.pause_deliveries()
    stripe_local.complete_onboarding(account.stripe_account_id, "complete")
    response = coach_client.get(reverse("payments:connect_return"), follow=True)
    html = response.content.decode()
    assert 'data-state="active"' in html
    assert "Open Stripe dashboard" in html
    dashboard = coach_client.post(reverse("payments:connect_dashboard"))
    assert dashboard.status_code == 303
    assert "/_stripe/express/" in dashboard["Location"]


def test_payout_schedule_and_business_profile_forms(coach_client, active_account):
    response = coach_client.post(
        reverse("payments:payout_schedule"),
        {"interval": "monthly", "monthly_anchor": "10", "minimum_amount": "25.50"},
        follow=True,
    )
    assert b"Payout schedule saved at Stripe." in response.content
    active_account.refresh_from_db()
    assert active_account.payout_interval == PayoutInterval.MONTHLY
    assert active_account.payout_monthly_anchor == 10
    assert active_account.payout_minimum_amount == 2550
    assert b"$25.50" in response.content
    # a weekly schedule without a weekday is a form error, not a 500
    response = coach_client.post(
        reverse("payments:payout_schedule"), {"interval": "weekly"}, follow=True
    )
    assert b"Choose the weekday" in response.content
    response = coach_client.post(
        reverse("payments:business_profile"),
        {"url": "https://example.test/me", "product_description": "Career coaching"},
        follow=True,
    )
    assert b"Business profile saved at Stripe." in response.content
    active_account.refresh_from_db()
    assert active_account.business_product_description == "Career coaching"
    response = coach_client.post(
        reverse("payments:business_profile"), {"url": "not a url"}, follow=True
    )
    assert b"Fix the business profile" in response.content


def test_earnings_without_an_account_is_a_helpful_empty_state(coach_client, stripe_local):
    response = coach_client.get(reverse("payments:earnings"))
    assert response.status_code == 200
    assert b"Set up payouts" in response.content


def test_earnings_of_a_new_active_coach_is_empty_not_an_error(coach_client, active_account):
    response = coach_client.get(reverse("payments:earnings"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "No transfers yet." in html
    assert "No payouts yet." in html
    assert "<svg" in html
    csv_response = coach_client.get(reverse("payments:earnings_csv"))
    assert csv_response["Content-Type"].startswith("text/csv")
    assert csv_response.content.decode().splitlines()[0].startswith("kind,id,date_utc")


def test_nav_shows_earnings_to_coaches(coach_client, stripe_local):
    response = coach_client.get(reverse("payments:connect_setup"))
    assert reverse("payments:earnings").encode() in response.content


def test_requirements_due_later_are_listed_with_their_deadline_in_the_coach_time_zone(
    coach_client, connect_coach, active_account, stripe_local
):
    import datetime as dt

    connect_coach.time_zone = "Europe/Zurich"
    connect_coach.save(update_fields=["time_zone"])
    deadline = dt.datetime(2031, 3, 4, 12, 0, tzinfo=dt.UTC)
    stripe_local.update_account(
        active_account.stripe_account_id,
        currently_due=["individual.id_number"],
        current_deadline=int(deadline.timestamp()),
    )
    from payments.services import accounts as services

    services.connected_account_refresh(account=active_account)
    html = coach_client.get(reverse("payments:connect_setup")).content.decode()
    # still active (the deadline is ahead), but told what and by when, with a way to do it
    assert 'data-state="active"' in html
    assert "Your government ID number" in html
    assert "4 Mar 2031, 13:00 CET" in html
    assert "Continue setup" in html
