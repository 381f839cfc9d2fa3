"""/api/connect/...: the coach's Stripe account through the API."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from payments.models import ConnectedAccount
from tests.factories import UserFactory
from tests.payments.conftest import make_account


@pytest.fixture
def api(connect_coach):
    client = APIClient()
    client.force_authenticate(connect_coach)
    return client


def test_anonymous_and_clients_are_refused(stripe_local):
    assert APIClient().get("/api/connect/status").status_code in (401, 403)
    client = APIClient()
    client.force_authenticate(UserFactory())
    response = client.get("/api/connect/status")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_status_before_anything(api, stripe_local):
    body = api.get("/api/connect/status").json()
    assert body["has_account"] is False
    assert body["can_continue_setup"] is True


def test_create_account_returns_an_onboarding_link_and_is_idempotent(
    api, connect_coach, stripe_local
):
    first = api.post("/api/connect/account", {"country": "US"}, format="json")
    second = api.post("/api/connect/account", {}, format="json")
    assert first.status_code == 201
    assert "/_stripe/connect/onboarding/" in first.json()["onboarding_url"]
    assert first.json()["stripe_account_id"] == second.json()["stripe_account_id"]
    assert first.json()["state"] == "onboarding"
    assert ConnectedAccount.objects.filter(coach=connect_coach).count() == 1
    bad = api.post("/api/connect/account", {"country": "ZZ"}, format="json")
    assert bad.status_code == 400
    assert "country" in bad.json()["error"]["fields"]


def test_status_lists_requirements_in_plain_words(api, connect_coach, stripe_local):
    account = make_account(connect_coach)
    stripe_local.complete_onboarding(account.stripe_account_id, "leave_due")
    from payments.services import accounts as services

    services.connected_account_refresh(account=account)
    body = api.get("/api/connect/status").json()
    assert body["state"] == "onboarding"
    assert body["requirements"] == ["A photo of your ID document"]


def test_update_profile_schedule_login_link_balance_payouts(api, active_account):
    response = api.put(
        "/api/connect/account",
        {"url": "https://example.test/coach", "product_description": "Life coaching"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["business_product_description"] == "Life coaching"
    response = api.post(
        "/api/connect/payout-schedule",
        {"interval": "weekly", "weekly_anchor": "tuesday", "minimum_amount": 1000},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["payout_interval"] == "weekly"
    assert response.json()["payout_weekly_anchor"] == "tuesday"
    bad = api.post("/api/connect/payout-schedule", {"interval": "hourly"}, format="json")
    assert bad.status_code == 400
    assert "interval" in bad.json()["error"]["fields"]
    missing = api.post("/api/connect/payout-schedule", {"interval": "weekly"}, format="json")
    assert missing.status_code == 400
    assert "weekly_anchor" in missing.json()["error"]["fields"]
    link = api.get("/api/connect/login-link")
    assert link.status_code == 200
    assert "/_stripe/express/" in link.json()["url"]
    balance = api.get("/api/connect/balance").json()
    assert {"available", "pending"} <= set(balance)
    payouts = api.get("/api/connect/payouts")
    assert payouts.status_code == 200
    assert payouts.json() == []


def test_money_endpoints_before_an_account_are_404(api, stripe_local):
    for path in ["/api/connect/balance", "/api/connect/payouts", "/api/connect/login-link"]:
        response = api.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
