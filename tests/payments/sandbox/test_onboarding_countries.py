"""The local Stripe's hosted onboarding asks what Stripe asks in the account's country: a
German individual gives an IBAN, an address without a state and a date of birth, never a
Social Security number or a routing number; a US one still gives those."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from payments.sandbox.forms import iban_is_valid

pytestmark = pytest.mark.django_db


def _onboarding_page(stripe_client, country: str):
    account = stripe_client.v1.accounts.create(
        params={
            "type": "express",
            "country": country,
            "capabilities": {
                "card_payments": {"requested": True},
                "transfers": {"requested": True},
            },
        },
        options={"idempotency_key": f"onboarding-{country}"},
    )
    link = stripe_client.v1.account_links.create(
        params={
            "account": account.id,
            "type": "account_onboarding",
            "refresh_url": "http://127.0.0.1:8000/refresh/",
            "return_url": "http://127.0.0.1:8000/return/",
        }
    )
    browser = Client()
    page = browser.get(link.url)
    assert page.status_code == 200
    return account, link, browser, page.content.decode()


def test_a_german_individual_is_asked_for_an_iban_address_and_date_of_birth(stripe_client):
    account, link, browser, html = _onboarding_page(stripe_client, "DE")
    assert 'name="iban"' in html and 'name="date_of_birth"' in html
    assert 'name="city"' in html and 'name="postal_code"' in html
    for asked_in_the_us_only in ("ssn_last_4", "routing_number", 'name="state"'):
        assert asked_in_the_us_only not in html
    assert "SSN" not in html and "Routing number" not in html
    session = re.search(r'name="session" value="([^"]+)"', html).group(1)
    form = {
        "session": session,
        "first_name": "Greta",
        "last_name": "Berger",
        "date_of_birth": "1985-04-02",
        "phone": "030 1234567",
        "address_line1": "address_full_match",
        "city": "Berlin",
        "postal_code": "10117",
        "outcome": "complete",
    }
    # a wrong IBAN is Stripe's form error, nothing is submitted
    refused = browser.post(link.url, {**form, "iban": "DE00370400440532013000"})
    assert refused.status_code == 200
    assert "The IBAN you entered is invalid." in refused.content.decode()
    done = browser.post(link.url, {**form, "iban": "DE89 3704 0044 0532 0130 00"})
    assert done.status_code == 302
    account = stripe_client.v1.accounts.retrieve(account.id)
    assert account.details_submitted and account.charges_enabled
    assert account.individual.address.state is None
    assert account.individual.address.city == "Berlin"
    assert account.individual.dob.year == 1985
    (bank,) = account.external_accounts.data
    assert bank.last4 == "3000"


def test_a_us_individual_still_gives_ssn_state_and_routing_number(stripe_client):
    _account, _link, _browser, html = _onboarding_page(stripe_client, "US")
    for field in ("ssn_last_4", "routing_number", 'name="state"', 'name="account_number"'):
        assert field in html
    assert 'name="iban"' not in html


def test_iban_check_digits():
    assert iban_is_valid("DE89370400440532013000")
    assert iban_is_valid("FR1420041010050500013M02606")
    assert not iban_is_valid("DE89370400440532013001")
    assert not iban_is_valid("not an iban")
