"""Connected accounts, account links and login links through the real ``stripe`` library."""

from __future__ import annotations

import pytest
import stripe

pytestmark = pytest.mark.django_db


def test_create_express_account_by_type_then_retrieve_and_update(stripe_client):
    # given
    account = stripe_client.v1.accounts.create(
        params={
            "type": "express",
            "country": "US",
            "email": "coach@example.com",
            "capabilities": {
                "card_payments": {"requested": True},
                "transfers": {"requested": True},
            },
            "metadata": {"coach_id": "7"},
        }
    )
    # then
    assert account.id.startswith("acct_")
    assert account.type == "express"
    assert account.charges_enabled is False
    assert account.details_submitted is False
    assert "external_account" in account.requirements.currently_due
    assert account.requirements.disabled_reason == "requirements.past_due"
    assert account.capabilities.to_dict() == {"card_payments": "inactive", "transfers": "inactive"}
    # when
    updated = stripe_client.v1.accounts.update(
        account.id,
        params={
            "business_profile": {"name": "Ada Coaching", "url": "https://ada.example"},
            "settings": {
                "payouts": {"schedule": {"interval": "weekly", "weekly_anchor": "friday"}}
            },
            "metadata": {"coach_id": "", "extra": "x"},
        },
    )
    # then
    assert updated.business_profile.name == "Ada Coaching"
    assert updated.settings.payouts.schedule.interval == "weekly"
    assert updated.settings.payouts.schedule.weekly_anchor == "friday"
    assert updated.metadata.to_dict() == {"extra": "x"}
    again = stripe_client.v1.accounts.retrieve(account.id)
    assert again.business_profile.name == "Ada Coaching"


def test_create_by_controller_form(stripe_client):
    account = stripe_client.v1.accounts.create(
        params={
            "controller": {
                "fees": {"payer": "application"},
                "losses": {"payments": "application"},
                "stripe_dashboard": {"type": "express"},
            },
            "country": "US",
        }
    )
    assert account.type == "express"
    assert account.controller.stripe_dashboard.type == "express"


def test_unknown_account_is_resource_missing(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.accounts.retrieve("acct_doesnotexist")
    assert caught.value.http_status == 404
    assert caught.value.code == "resource_missing"


def test_account_link_and_login_link(stripe_client, sandbox):
    account = stripe_client.v1.accounts.create(params={"type": "express"})
    link = stripe_client.v1.account_links.create(
        params={
            "account": account.id,
            "type": "account_onboarding",
            "refresh_url": "http://127.0.0.1:8000/refresh",
            "return_url": "http://127.0.0.1:8000/return",
        }
    )
    assert link.object == "account_link"
    assert link.url.startswith("http")
    assert link.expires_at - link.created == 300
    # A login link needs finished onboarding, as on Stripe.
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.accounts.login_links.create(account.id)
    sandbox.complete_onboarding(account.id)
    login = stripe_client.v1.accounts.login_links.create(account.id)
    assert login.object == "login_link"
    assert "/_stripe/express/" in login.url


def test_list_and_delete(stripe_client):
    first = stripe_client.v1.accounts.create(params={"type": "express"})
    second = stripe_client.v1.accounts.create(params={"type": "express"})
    page = stripe_client.v1.accounts.list(params={"limit": 1})
    assert [a.id for a in page.data] == [second.id]
    assert page.has_more is True
    rest = stripe_client.v1.accounts.list(params={"limit": 10, "starting_after": second.id})
    assert [a.id for a in rest.data] == [first.id]
    deleted = stripe_client.v1.accounts.delete(first.id)
    assert deleted.deleted is True
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.accounts.retrieve(first.id)


def test_holder_only_fields_cannot_be_updated_by_the_platform(stripe_client):
    account = stripe_client.v1.accounts.create(params={"type": "express"})
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.accounts.update(account.id, params={"individual": {"first_name": "Eve"}})
    assert caught.value.param == "individual"


def test_events_name_the_request_that_caused_them(stripe_client):
    from payments.sandbox import controls

    account = stripe_client.v1.accounts.create(params={"type": "express"})
    updated = stripe_client.v1.accounts.update(
        account.id, params={"metadata": {"a": "1"}}, options={"idempotency_key": "upd-1"}
    )
    (event,) = controls.events_of_type("account.updated")
    assert event["request"]["idempotency_key"] == "upd-1"
    assert event["request"]["id"] == updated.last_response.request_id
    controls.complete_onboarding(account.id)
    assert controls.events_of_type("account.updated")[-1]["request"]["id"] is None
