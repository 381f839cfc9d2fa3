"""/api/payment-methods/: the client's saved cards through the API on the local Stripe:
listing, making one the default, removing one (409 while a running plan needs it, unless
confirmed, and then warned); another client's card is a 404; the schema documents it."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from payments import gateway
from payments.services import cards
from tests.factories import UserFactory
from tests.payments.cards import attach, client_customer, running_plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(stripe_local):
    made = client_customer()
    visa = attach(made)
    attach(made, "pm_card_mastercard")
    gateway.stripe_client().v1.customers.update(
        made.stripe_customer_id, params={"invoice_settings": {"default_payment_method": visa.id}}
    )
    cards.customer_cards_sync(customer=made)
    return made


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_client_lists_their_cards(customer):
    body = _api(customer.user).get("/api/payment-methods/").json()
    assert [(c["brand"], c["brand_label"], c["last4"], c["is_default"]) for c in body] == [
        ("mastercard", "Mastercard", "4444", False),
        ("visa", "Visa", "4242", True),
    ]
    assert {"id", "stripe_payment_method_id", "exp_month", "exp_year"} <= set(body[0])


def test_anonymous_is_refused_and_a_new_client_has_none(stripe_local):
    assert APIClient().get("/api/payment-methods/").status_code in (401, 403)
    assert _api(UserFactory()).get("/api/payment-methods/").json() == []


def test_making_a_card_the_default(customer):
    mastercard = customer.cards.get(brand="mastercard")
    answer = _api(customer.user).post(f"/api/payment-methods/{mastercard.pk}/default/")
    assert answer.status_code == 200
    assert [c["last4"] for c in answer.json() if c["is_default"]] == ["4444"]
    stripe_customer = gateway.stripe_client().v1.customers.retrieve(customer.stripe_customer_id)
    assert (
        stripe_customer.invoice_settings.default_payment_method
        == mastercard.stripe_payment_method_id
    )


def test_removing_a_card(customer):
    visa = customer.cards.get(brand="visa")
    answer = _api(customer.user).delete(f"/api/payment-methods/{visa.pk}/")
    assert answer.status_code == 200
    assert answer.json() == {"id": visa.pk, "brand": "visa", "last4": "4242", "warning": ""}
    method = gateway.stripe_client().v1.payment_methods.retrieve(visa.stripe_payment_method_id)
    assert method.customer is None
    assert [c["last4"] for c in _api(customer.user).get("/api/payment-methods/").json()] == ["4444"]


def test_another_clients_card_is_404(customer):
    stranger = _api(UserFactory())
    visa = customer.cards.get(brand="visa")
    for answer in (
        stranger.delete(f"/api/payment-methods/{visa.pk}/"),
        stranger.post(f"/api/payment-methods/{visa.pk}/default/"),
        stranger.delete("/api/payment-methods/999999/"),
    ):
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "not_found"
    assert customer.cards.count() == 2


def test_the_card_a_running_plan_needs_is_409_unless_confirmed(stripe_local):
    # given: one card, a running plan
    customer = client_customer()
    visa = attach(customer)
    cards.customer_cards_sync(customer=customer)
    running_plan(customer.user)
    row = customer.cards.get()
    api = _api(customer.user)
    # when / then: refused with a code
    refused = api.delete(f"/api/payment-methods/{row.pk}/")
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "card_needed_for_renewal"
    assert "coaching plan renews with it" in error["message"]
    assert api.delete(f"/api/payment-methods/{row.pk}/?confirm_renewal_may_fail=maybe").status_code
    assert (
        gateway.stripe_client().v1.payment_methods.retrieve(visa.id).customer
        == customer.stripe_customer_id
    )
    # when: confirmed
    done = api.delete(f"/api/payment-methods/{row.pk}/?confirm_renewal_may_fail=true")
    # then: removed, the answer carries the warning
    assert done.status_code == 200
    assert "next renewal will fail" in done.json()["warning"]
    assert gateway.stripe_client().v1.payment_methods.retrieve(visa.id).customer is None


def test_the_schema_documents_the_operations(stripe_local):
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    assert "get" in paths["/api/payment-methods/"]
    detail = paths["/api/payment-methods/{id}/"]["delete"]
    assert {"200", "404", "409"} <= set(detail["responses"])
    assert any(p["name"] == "confirm_renewal_may_fail" for p in detail["parameters"])
    assert "post" in paths["/api/payment-methods/{id}/default/"]
