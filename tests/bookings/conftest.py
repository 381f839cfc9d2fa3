"""Fixtures for bookings tests: the local Stripe and a coach who can take charges there."""

from __future__ import annotations

import pytest

from coaches.models import CoachProfile, SessionType
from payments.models import AccountState
from payments.sandbox import controls
from tests.bookings.factories import open_coach


@pytest.fixture
def sandbox(db, settings):
    """The local Stripe, clean, with the product's two webhook endpoints (in-process)."""
    settings.SITE_URL = "http://testserver"
    controls.reset()
    controls.register_default_endpoints("http://testserver")
    return controls


def stripe_coach(**profile_fields) -> tuple[CoachProfile, SessionType]:
    """A bookable coach whose Express account exists and is active on the local Stripe."""
    from payments.services import accounts as connect

    coach, session_type = open_coach(**profile_fields)
    coach.user.connected_account.delete()
    account = connect.connected_account_create(coach=coach.user, country=coach.country)
    controls.complete_onboarding(account.stripe_account_id, "complete")
    connect.connected_account_refresh(account=account)
    account.refresh_from_db()
    assert account.state == AccountState.ACTIVE, account.state
    coach.refresh_from_db()
    return coach, session_type


@pytest.fixture
def paid_coach(sandbox, django_capture_on_commit_callbacks) -> tuple[CoachProfile, SessionType]:
    with django_capture_on_commit_callbacks(execute=True):
        return stripe_coach()
