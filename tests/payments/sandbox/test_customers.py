"""Customers, saved cards and the customer portal on the local Stripe, through the real
library: Stripe's shapes, its rules on attaching and detaching, and the portal's page."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import stripe

from payments.sandbox import billing_portal, controls, customers


def customer(stripe_client, email="maya@example.test"):
    return stripe_client.v1.customers.create(params={"email": email, "name": "Maya Brooks"})


def card(stripe_client, customer_id, test_method="pm_card_visa"):
    return stripe_client.v1.payment_methods.attach(test_method, params={"customer": customer_id})


def test_a_customer_has_stripes_shape_and_is_announced(stripe_client, sandbox):
    created = customer(stripe_client)
    assert created.id.startswith("cus_") and created.object == "customer"
    assert created.email == "maya@example.test" and created.name == "Maya Brooks"
    assert created.invoice_settings.default_payment_method is None
    assert created.delinquent is False and created.balance == 0
    assert stripe_client.v1.customers.retrieve(created.id).email == "maya@example.test"
    assert [e["data"]["object"]["id"] for e in controls.events_of_type("customer.created")] == [
        created.id
    ]
    listed = stripe_client.v1.customers.list(params={"email": "maya@example.test"})
    assert [c.id for c in listed.data] == [created.id]


def test_a_test_payment_method_attaches_as_a_new_card(stripe_client, sandbox):
    owner = customer(stripe_client)
    first = card(stripe_client, owner.id)
    second = card(stripe_client, owner.id, "pm_card_mastercard")
    assert first.id.startswith("pm_") and first.id != "pm_card_visa"
    assert first.customer == owner.id and first.type == "card"
    assert (first.card.brand, first.card.last4) == ("visa", "4242")
    assert (second.card.brand, second.card.last4) == ("mastercard", "4444")
    assert first.card.exp_year > 2026 and first.card.fingerprint
    listed = stripe_client.v1.customers.payment_methods.list(owner.id, params={"type": "card"})
    assert {m.id for m in listed.data} == {first.id, second.id}
    assert len(controls.events_of_type("payment_method.attached")) == 2
    # the number is kept for later charges, never shown
    assert "number" not in str(stripe_client.v1.payment_methods.retrieve(first.id))


def test_a_card_belongs_to_one_customer(stripe_client, sandbox):
    maya, lee = customer(stripe_client), customer(stripe_client, "lee@example.test")
    method = card(stripe_client, maya.id)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.payment_methods.attach(method.id, params={"customer": lee.id})
    assert refused.value.user_message == customers.ALREADY_ATTACHED
    assert refused.value.param == "payment_method"
    # attaching again to its own customer changes nothing
    again = stripe_client.v1.payment_methods.attach(method.id, params={"customer": maya.id})
    assert again.customer == maya.id


def test_the_default_card_must_be_the_customers_own_and_detaching_clears_it(stripe_client, sandbox):
    maya, lee = customer(stripe_client), customer(stripe_client, "lee@example.test")
    mine, theirs = card(stripe_client, maya.id), card(stripe_client, lee.id)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.customers.update(
            maya.id, params={"invoice_settings": {"default_payment_method": theirs.id}}
        )
    assert refused.value.param == "invoice_settings[default_payment_method]"
    assert f"does not have a payment method with the ID {theirs.id}" in str(refused.value)
    updated = stripe_client.v1.customers.update(
        maya.id, params={"invoice_settings": {"default_payment_method": mine.id}}
    )
    assert updated.invoice_settings.default_payment_method == mine.id
    [changed] = controls.events_of_type("customer.updated")
    assert (
        changed["data"]["previous_attributes"]["invoice_settings"]["default_payment_method"] is None
    )

    detached = stripe_client.v1.payment_methods.detach(mine.id)
    assert detached.customer is None
    assert (
        stripe_client.v1.customers.retrieve(maya.id).invoice_settings.default_payment_method is None
    )
    [gone] = controls.events_of_type("payment_method.detached")
    assert gone["data"]["previous_attributes"] == {"customer": maya.id}
    # a detached card may not be used again, nor detached twice
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.payment_methods.attach(mine.id, params={"customer": maya.id})
    assert refused.value.user_message == customers.USED_AND_SPENT
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.payment_methods.detach(mine.id)
    assert refused.value.user_message == customers.NOT_ATTACHED


def test_a_deleted_customer_answers_deleted_and_its_cards_are_detached(stripe_client, sandbox):
    maya = customer(stripe_client)
    method = card(stripe_client, maya.id)
    deleted = stripe_client.v1.customers.delete(maya.id)
    assert deleted.deleted is True
    assert stripe_client.v1.customers.retrieve(maya.id).deleted is True
    assert stripe_client.v1.payment_methods.retrieve(method.id).customer is None
    assert stripe_client.v1.customers.list().data == []
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.customers.update(maya.id, params={"name": "Again"})
    assert controls.events_of_type("customer.deleted")


def test_unknown_customers_and_cards_are_stripes_404(stripe_client, sandbox):
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe_client.v1.customers.retrieve("cus_missing")
    assert missing.value.http_status == 404 and missing.value.code == "resource_missing"
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe_client.v1.payment_methods.attach("pm_missing", params={"customer": "cus_missing"})
    assert missing.value.param == "customer"


# --- the customer portal -----------------------------------------------------------------


def test_a_portal_session_needs_a_configuration(stripe_client, sandbox):
    maya = customer(stripe_client)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.billing_portal.sessions.create(params={"customer": maya.id})
    assert refused.value.user_message == billing_portal.NO_DEFAULT_CONFIGURATION
    made = stripe_client.v1.billing_portal.configurations.create(
        params={"features": {"payment_method_update": {"enabled": True}}}
    )
    assert made.is_default is False and made.features.payment_method_update.enabled is True
    session = stripe_client.v1.billing_portal.sessions.create(
        params={"customer": maya.id, "configuration": made.id, "return_url": "https://x.test/b"}
    )
    assert session.id.startswith("bps_") and session.configuration == made.id
    assert session.return_url == "https://x.test/b"
    controls.save_portal_settings()
    assert stripe_client.v1.billing_portal.sessions.create(params={"customer": maya.id}).url


def test_the_portal_page_lists_the_cards_and_removes_one_on_stripe(stripe_client, sandbox, client):
    maya = customer(stripe_client)
    kept, removed = card(stripe_client, maya.id), card(stripe_client, maya.id, "pm_card_mastercard")
    controls.save_portal_settings()
    session = stripe_client.v1.billing_portal.sessions.create(
        params={"customer": maya.id, "return_url": "https://x.test/billing"}
    )
    page = urlsplit(session.url).path
    shown = client.get(page)
    assert shown.status_code == 200
    assert b"Visa \xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2 4242" in shown.content
    assert b"Mastercard" in shown.content and b"https://x.test/billing" in shown.content
    answer = client.post(page, {"action": "remove", "payment_method": removed.id})
    assert answer.status_code == 302
    assert stripe_client.v1.payment_methods.retrieve(removed.id).customer is None
    client.post(page, {"action": "default", "payment_method": kept.id})
    assert stripe_client.v1.customers.retrieve(maya.id).invoice_settings.default_payment_method == (
        kept.id
    )
    # another customer's card is refused by name, and nothing changes
    lee = customer(stripe_client, "lee@example.test")
    theirs = card(stripe_client, lee.id)
    refused = client.post(page, {"action": "remove", "payment_method": theirs.id})
    assert b"That card is not one of yours." in refused.content
    assert stripe_client.v1.payment_methods.retrieve(theirs.id).customer == lee.id
    added = client.post(
        page,
        {"action": "add", "card_number": "5555 5555 5555 4444", "expiry": "12 / 34", "cvc": "123"},
    )
    assert added.status_code == 302
    listed = stripe_client.v1.customers.payment_methods.list(maya.id)
    assert sorted(m.card.last4 for m in listed.data) == ["4242", "4444"]


def test_a_portal_link_not_visited_in_time_expires(stripe_client, sandbox, client):
    maya = customer(stripe_client)
    controls.save_portal_settings()
    late = stripe_client.v1.billing_portal.sessions.create(params={"customer": maya.id})
    visited = stripe_client.v1.billing_portal.sessions.create(params={"customer": maya.id})
    assert client.get(urlsplit(visited.url).path).status_code == 200
    controls.advance_clock(billing_portal.SESSION_VISIT_SECONDS + 60)
    assert client.get(urlsplit(late.url).path).status_code == 410
    assert client.get(urlsplit(visited.url).path).status_code == 200
    controls.advance_clock(billing_portal.SESSION_LIFETIME_SECONDS)
    assert client.get(urlsplit(visited.url).path).status_code == 410
    assert client.get("/_stripe/billing_portal/session/unknown/").status_code == 404
