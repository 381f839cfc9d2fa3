"""Saved cards on the local Stripe through the real library: the mirror of a client's cards
and default, making a card the default, removing one (refused while a running plan needs
it, unless confirmed), and the customer portal."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from marketplace.errors import Conflict, NotFound
from payments import gateway
from payments.errors import PaymentProviderError
from payments.models import Customer, SavedCard, SubscriptionStatus
from payments.services import cards
from tests.factories import UserFactory
from tests.payments.cards import attach, client_customer, running_plan


@pytest.fixture
def stripe(stripe_local):
    return gateway.stripe_client()


def _mirrored(customer: Customer) -> tuple[set[tuple[str, str, str]], str]:
    customer.refresh_from_db()
    rows = {(c.stripe_payment_method_id, c.brand, c.last4) for c in customer.cards.all()}
    return rows, customer.default_payment_method_id


def test_the_mirror_follows_the_customers_cards_and_default(stripe):
    # given: two cards saved at Stripe, the Mastercard the default
    customer = client_customer()
    visa, mastercard = attach(customer), attach(customer, "pm_card_mastercard")
    stripe.v1.customers.update(
        customer.stripe_customer_id,
        params={"invoice_settings": {"default_payment_method": mastercard.id}},
    )
    # when
    cards.customer_cards_sync(customer=customer)
    # then
    assert _mirrored(customer) == (
        {(visa.id, "visa", "4242"), (mastercard.id, "mastercard", "4444")},
        mastercard.id,
    )
    row = SavedCard.objects.get(stripe_payment_method_id=mastercard.id)
    assert (row.exp_month, row.exp_year) == (mastercard.card.exp_month, mastercard.card.exp_year)
    assert row.is_default
    # when: the default is removed at Stripe (in the portal, say), and the mirror runs twice
    stripe.v1.payment_methods.detach(mastercard.id)
    cards.customer_cards_sync(customer=customer)
    cards.customer_cards_sync(customer=customer)
    # then: Stripe cleared the default with it
    assert _mirrored(customer) == ({(visa.id, "visa", "4242")}, "")


def test_a_read_that_started_before_the_mirrored_one_changes_nothing(stripe):
    # given: the mirror holds a read that started after this one will
    customer = client_customer()
    attach(customer)
    Customer.objects.filter(pk=customer.pk).update(
        cards_read_at=timezone.now() + timedelta(seconds=5)
    )
    # when
    cards.customer_cards_sync(customer=customer)
    # then: the later read's state (no card) stays
    assert _mirrored(customer) == (set(), "")


def test_a_deleted_customer_has_no_cards(stripe):
    customer = client_customer()
    attach(customer)
    cards.customer_cards_sync(customer=customer)
    stripe.v1.customers.delete(customer.stripe_customer_id)
    cards.customer_cards_sync(customer=customer)
    assert _mirrored(customer) == (set(), "")


def test_the_client_makes_a_card_the_default_at_stripe(stripe):
    # given
    customer = client_customer()
    visa, mastercard = attach(customer), attach(customer, "pm_card_mastercard")
    cards.customer_cards_sync(customer=customer)
    row = SavedCard.objects.get(stripe_payment_method_id=mastercard.id)
    # when
    cards.saved_card_make_default(user=customer.user, card_id=row.pk)
    # then: Stripe charges it for renewals, and the mirror says so
    stripe_customer = stripe.v1.customers.retrieve(customer.stripe_customer_id)
    assert stripe_customer.invoice_settings.default_payment_method == mastercard.id
    assert _mirrored(customer)[1] == mastercard.id
    # when: back to the Visa, and then the Mastercard again
    cards.saved_card_make_default(
        user=customer.user, card_id=SavedCard.objects.get(stripe_payment_method_id=visa.id).pk
    )
    assert _mirrored(customer)[1] == visa.id
    cards.saved_card_make_default(user=customer.user, card_id=row.pk)
    assert _mirrored(customer)[1] == mastercard.id


def test_another_clients_card_is_not_found(stripe):
    customer = client_customer()
    attach(customer)
    cards.customer_cards_sync(customer=customer)
    row = customer.cards.get()
    stranger = UserFactory()
    with pytest.raises(NotFound):
        cards.saved_card_make_default(user=stranger, card_id=row.pk)
    with pytest.raises(NotFound):
        cards.saved_card_remove(user=stranger, card_id=row.pk)
    assert stripe.v1.payment_methods.retrieve(row.stripe_payment_method_id).customer == (
        customer.stripe_customer_id
    )


def test_a_card_removed_in_the_portal_meanwhile_is_told_and_dropped(stripe):
    customer = client_customer()
    visa = attach(customer)
    cards.customer_cards_sync(customer=customer)
    stripe.v1.payment_methods.detach(visa.id)
    with pytest.raises(NotFound) as gone:
        cards.saved_card_make_default(user=customer.user, card_id=customer.cards.get().pk)
    assert gone.value.code == "card_gone"
    assert not customer.cards.exists()


def test_removing_a_card_detaches_it_at_stripe(stripe):
    # given
    customer = client_customer()
    visa, mastercard = attach(customer), attach(customer, "pm_card_mastercard")
    cards.customer_cards_sync(customer=customer)
    # when
    removed = cards.saved_card_remove(
        user=customer.user,
        card_id=SavedCard.objects.get(stripe_payment_method_id=visa.id).pk,
    )
    # then
    assert (removed.brand, removed.last4, removed.warning) == ("visa", "4242", "")
    assert stripe.v1.payment_methods.retrieve(visa.id).customer is None
    assert _mirrored(customer)[0] == {(mastercard.id, "mastercard", "4444")}


def test_removing_a_card_already_removed_at_stripe_just_mirrors_it(stripe):
    customer = client_customer()
    visa = attach(customer)
    cards.customer_cards_sync(customer=customer)
    stripe.v1.payment_methods.detach(visa.id)
    removed = cards.saved_card_remove(user=customer.user, card_id=customer.cards.get().pk)
    assert removed.last4 == "4242"
    assert not customer.cards.exists()


def test_the_only_card_of_a_running_plan_is_kept_unless_the_client_confirms(stripe):
    # given: a running coaching plan and a single saved card
    customer = client_customer()
    visa = attach(customer)
    cards.customer_cards_sync(customer=customer)
    running_plan(customer.user)
    row = customer.cards.get()
    # when / then: refused, and nothing changed at Stripe
    with pytest.raises(Conflict) as refused:
        cards.saved_card_remove(user=customer.user, card_id=row.pk)
    assert refused.value.code == "card_needed_for_renewal"
    assert refused.value.status_code == 409
    assert "only saved card" in refused.value.message
    assert "coaching plan" in refused.value.message
    assert stripe.v1.payment_methods.retrieve(visa.id).customer == customer.stripe_customer_id
    # when: the client confirms
    removed = cards.saved_card_remove(
        user=customer.user, card_id=row.pk, confirm_renewal_may_fail=True
    )
    # then: removed, and warned that the next renewal will fail
    assert "next renewal will fail" in removed.warning
    assert stripe.v1.payment_methods.retrieve(visa.id).customer is None
    assert not customer.cards.exists()


@pytest.mark.parametrize(
    "plan",
    [
        {"status": SubscriptionStatus.ACTIVE, "cancel_at_period_end": True},
        {"status": SubscriptionStatus.CANCELED},
        {"status": SubscriptionStatus.CHECKOUT},
        {"status": SubscriptionStatus.INCOMPLETE_EXPIRED},
    ],
    ids=["ending", "canceled", "not-started", "expired"],
)
def test_a_plan_that_does_not_renew_needs_no_card(stripe, plan):
    customer = client_customer()
    attach(customer)
    cards.customer_cards_sync(customer=customer)
    running_plan(customer.user, **plan)
    removed = cards.saved_card_remove(user=customer.user, card_id=customer.cards.get().pk)
    assert removed.warning == ""


def test_a_running_plan_with_another_saved_card_needs_no_confirmation(stripe):
    customer = client_customer()
    attach(customer)
    attach(customer, "pm_card_mastercard")
    cards.customer_cards_sync(customer=customer)
    running_plan(customer.user, status=SubscriptionStatus.PAST_DUE)
    removed = cards.saved_card_remove(user=customer.user, card_id=customer.cards.first().pk)
    assert removed.warning == ""
    assert customer.cards.count() == 1
    # the last one is needed now
    with pytest.raises(Conflict):
        cards.saved_card_remove(user=customer.user, card_id=customer.cards.get().pk)


def test_the_portal_opens_for_the_clients_customer_and_returns_to_billing(
    stripe, stripe_local, client
):
    # given: the platform saved its portal settings (once, in Stripe's Dashboard)
    customer = client_customer()
    attach(customer)
    stripe_local.save_portal_settings()
    # when
    url = cards.customer_portal_url(user=customer.user, return_url="http://testserver/billing/")
    # then: the hosted portal lists the client's card and returns to Billing
    page = client.get(urlsplit(url).path)
    assert page.status_code == 200
    assert b"Visa \xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2 4242" in page.content
    assert b'href="http://testserver/billing/"' in page.content


def test_without_the_platforms_portal_settings_the_portal_is_unavailable(stripe):
    customer = client_customer()
    with pytest.raises(PaymentProviderError) as unavailable:
        cards.customer_portal_url(user=customer.user, return_url="http://testserver/billing/")
    assert (unavailable.value.code, unavailable.value.status_code) == ("portal_unavailable", 503)


def test_a_client_with_no_customer_yet_has_no_portal(stripe):
    with pytest.raises(Conflict) as refused:
        cards.customer_portal_url(user=UserFactory(), return_url="http://testserver/billing/")
    assert refused.value.code == "no_customer"


@pytest.mark.django_db(transaction=True)
def test_two_mirrors_at_once_leave_one_row_per_card(stripe_local):
    # given: three cards at Stripe, none mirrored yet
    import threading

    from django.db import connection

    customer = client_customer()
    ids = {attach(customer, pm).id for pm in ("pm_card_visa", "pm_card_mastercard", "pm_card_amex")}
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def mirror() -> None:
        try:
            start.wait(timeout=10)
            cards.customer_cards_sync(customer=Customer.objects.get(pk=customer.pk))
        except BaseException as error:
            failures.append(error)
        finally:
            connection.close()

    # when: two webhooks' mirrors run at the same moment
    threads = [threading.Thread(target=mirror) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    # then: both finished, and each card is one row
    assert failures == []
    assert set(customer.cards.values_list("stripe_payment_method_id", flat=True)) == ids
    assert customer.cards.count() == 3
