"""The client's Billing page at /billing/ on the local Stripe: its three sections, the saved
cards (brand, last four, expiry, default), making one the default, removing one (asked to
confirm when a running plan renews with it), Stripe's portal; only the client's own cards,
signed in, with CSRF."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from payments import gateway
from payments.models import SavedCard
from payments.services import cards
from tests.factories import UserFactory
from tests.payments.cards import attach, client_customer, running_plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(sandbox):
    """A signed-in client with a Visa and a Mastercard saved, the Visa the default."""
    made = client_customer()
    visa = attach(made)
    attach(made, "pm_card_mastercard")
    gateway.stripe_client().v1.customers.update(
        made.stripe_customer_id, params={"invoice_settings": {"default_payment_method": visa.id}}
    )
    cards.customer_cards_sync(customer=made)
    return made


def _card(customer, brand: str) -> SavedCard:
    return customer.cards.get(brand=brand)


def test_billing_is_at_its_own_address_and_needs_a_sign_in(client):
    assert reverse("bookings:billing") == "/billing/"
    answer = client.get("/billing/")
    assert answer.status_code == 302 and "/accounts/login/" in answer["Location"]


def test_billings_first_address_leads_here(client):
    answer = client.get("/bookings/billing/?subscribed=1")
    assert (answer.status_code, answer["Location"]) == (302, "/billing/?subscribed=1")


def test_a_new_client_sees_the_three_sections_empty(client):
    client.force_login(UserFactory())
    page = client.get("/billing/").content.decode()
    for heading in ("Coaching plans", "Saved cards", "Invoices"):
        assert f">{heading}</h2>" in page
    assert "No coaching plans yet" in page
    assert "No saved cards yet" in page
    assert "No invoices yet" in page
    assert "Manage in Stripe's portal" not in page  # no Customer yet: nothing to manage


def test_the_client_sees_their_cards_and_the_default(client, customer):
    client.force_login(customer.user)
    page = client.get("/billing/").content.decode()
    assert page.count('data-testid="saved-card"') == 2
    assert "Visa •••• 4242" in page and "Mastercard •••• 4444" in page
    assert f"Expires {_card(customer, 'visa').expiry}" in page
    assert page.count('data-testid="default-card"') == 1
    assert "Manage in Stripe's portal" in page
    # the navigation links to Billing
    assert 'href="/billing/">Billing</a>' in page


def test_making_a_card_the_default_changes_it_at_stripe(client, customer):
    client.force_login(customer.user)
    mastercard = _card(customer, "mastercard")
    answer = client.post(reverse("bookings:billing_card_default", args=[mastercard.pk]))
    assert answer.status_code == 302 and answer["Location"] == "/billing/"
    stripe_customer = gateway.stripe_client().v1.customers.retrieve(customer.stripe_customer_id)
    assert (
        stripe_customer.invoice_settings.default_payment_method
        == mastercard.stripe_payment_method_id
    )
    page = client.get("/billing/").content.decode()
    assert "Mastercard •••• 4444 is now your default card" in page


def test_removing_a_card_detaches_it_at_stripe(client, customer):
    client.force_login(customer.user)
    visa = _card(customer, "visa")
    answer = client.post(reverse("bookings:billing_card_remove", args=[visa.pk]), follow=True)
    assert "Visa •••• 4242 is removed." in answer.content.decode()
    method = gateway.stripe_client().v1.payment_methods.retrieve(visa.stripe_payment_method_id)
    assert method.customer is None
    assert list(customer.cards.values_list("brand", flat=True)) == ["mastercard"]


def test_the_only_card_of_a_running_plan_asks_first_then_warns(client, sandbox):
    # given: one saved card and a running coaching plan
    customer = client_customer()
    visa = attach(customer)
    cards.customer_cards_sync(customer=customer)
    running_plan(customer.user)
    client.force_login(customer.user)
    row = customer.cards.get()
    page = client.get("/billing/").content.decode()
    assert "Your coaching plan renews with this card." in page
    # when: the client removes it
    asked = client.post(reverse("bookings:billing_card_remove", args=[row.pk]))
    # then: refused with the reason and a button to confirm; nothing changed at Stripe
    assert asked.status_code == 409
    text = asked.content.decode()
    assert 'data-testid="confirm-removal"' in text
    assert "only saved card and your coaching plan renews with it" in text
    assert 'name="confirm_renewal_may_fail" value="1"' in text
    stripe = gateway.stripe_client()
    assert stripe.v1.payment_methods.retrieve(visa.id).customer == customer.stripe_customer_id
    # when: confirmed
    done = client.post(
        reverse("bookings:billing_card_remove", args=[row.pk]),
        {"confirm_renewal_may_fail": "1"},
        follow=True,
    )
    # then: removed, and warned that the next renewal will fail
    assert "next renewal will fail" in done.content.decode()
    assert stripe.v1.payment_methods.retrieve(visa.id).customer is None
    assert "No saved cards yet" in done.content.decode()


def test_another_clients_card_is_not_found_and_stays(client, customer):
    client.force_login(UserFactory())
    visa = _card(customer, "visa")
    assert client.post(reverse("bookings:billing_card_remove", args=[visa.pk])).status_code == 404
    assert client.post(reverse("bookings:billing_card_default", args=[visa.pk])).status_code == 404
    assert "Visa •••• 4242" not in client.get("/billing/").content.decode()
    method = gateway.stripe_client().v1.payment_methods.retrieve(visa.stripe_payment_method_id)
    assert method.customer == customer.stripe_customer_id


def test_the_actions_need_a_post_with_the_csrf_token(customer):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(customer.user)
    visa = _card(customer, "visa")
    url = reverse("bookings:billing_card_remove", args=[visa.pk])
    assert browser.get(url).status_code == 405
    assert browser.post(url).status_code == 403
    assert browser.post(reverse("bookings:billing_portal")).status_code == 403
    assert customer.cards.count() == 2


def test_the_portal_button_opens_stripes_portal_returning_to_billing(client, customer, sandbox):
    sandbox.save_portal_settings()
    client.force_login(customer.user)
    answer = client.post(reverse("bookings:billing_portal"))
    assert answer.status_code == 303
    assert "/_stripe/billing_portal/session/" in answer["Location"]
    portal = client.get(answer["Location"].replace("http://testserver", ""))
    assert b'href="http://testserver/billing/"' in portal.content


def test_without_the_platforms_portal_settings_the_client_is_told(client, customer):
    client.force_login(customer.user)
    answer = client.post(reverse("bookings:billing_portal"), follow=True)
    assert answer.redirect_chain[-1][0] == "/billing/"
    assert "portal for your cards is not available right now" in answer.content.decode()


def test_the_client_adds_a_card_on_stripes_page_and_billing_lists_it(
    client, customer, django_capture_on_commit_callbacks
):
    from payments.sandbox import controls
    from payments.sandbox.models import StripeObject
    from tests.bookings.plan_setup import deliver

    # given
    client.force_login(customer.user)

    # when: Add a card opens Checkout in setup mode, and the client saves a second Mastercard
    answer = client.post(reverse("bookings:billing_card_add"))
    assert answer.status_code == 303
    session = StripeObject.objects.get(object_type="checkout.session", data__mode="setup")
    assert answer["Location"] == session.data["url"]
    assert session.data["customer"] == customer.stripe_customer_id
    controls.pay_checkout_session(session.stripe_id, card="5555555555554444")
    deliver(django_capture_on_commit_callbacks)

    # then: the card is mirrored and listed, nothing was charged
    assert sorted(customer.cards.values_list("brand", flat=True)) == [
        "mastercard",
        "mastercard",
        "visa",
    ]
    page = client.get(reverse("bookings:billing") + "?card_added=1").content.decode()
    assert "Your card is saved" in page
    assert page.count('data-testid="saved-card"') == 3
    assert not StripeObject.objects.filter(object_type="charge").exists()


def test_adding_a_card_needs_a_first_payment(client, sandbox):
    client.force_login(UserFactory())

    answer = client.post(reverse("bookings:billing_card_add"), follow=True)

    assert "kept from your first payment" in answer.content.decode()
