"""Fixtures for payments (Connect) tests: the local Stripe, clean, with the product's two
endpoints. Names avoid the sandbox tests' own fixtures."""

from __future__ import annotations

import pytest

from payments.models import AccountState, ConnectedAccount
from payments.sandbox import controls
from tests.coaches.factories import CoachProfileFactory


@pytest.fixture
def stripe_local(db, settings):
    """The local Stripe with both webhook endpoints registered on SITE_URL (in-process)."""
    settings.SITE_URL = "http://testserver"
    controls.reset()
    controls.register_default_endpoints("http://testserver")
    return controls


@pytest.fixture
def connect_coach_profile(db):
    """An approved coach who cannot take charges yet (no Stripe account)."""
    return CoachProfileFactory(is_approved=True, can_take_charges=False)


@pytest.fixture
def connect_coach(connect_coach_profile):
    return connect_coach_profile.user


def make_account(coach, *, outcome: str | None = None) -> ConnectedAccount:
    """Create the coach's Stripe account through the services, optionally finish onboarding
    on the local Stripe (webhooks delivered in-process) and return the fresh row."""
    from payments.services import accounts as services

    account = services.connected_account_create(coach=coach)
    services.connected_account_onboarding_link(
        coach=coach,
        refresh_url="http://testserver/payments/setup/refresh/",
        return_url="http://testserver/payments/setup/return/",
    )
    if outcome:
        controls.complete_onboarding(account.stripe_account_id, outcome)
    account.refresh_from_db()
    return account


@pytest.fixture
def active_account(
    stripe_local, connect_coach, django_capture_on_commit_callbacks
) -> ConnectedAccount:
    with django_capture_on_commit_callbacks(execute=True):
        account = make_account(connect_coach, outcome="complete")
    account.refresh_from_db()
    assert account.state == AccountState.ACTIVE
    return account
