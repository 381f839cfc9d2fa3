"""The saved cards' webhooks on the local Stripe: ``payment_method.attached``/``detached`` and
``customer.updated``/``deleted`` re-read the Customer, so deliveries in any order, twice, or
before the Customer is known leave the mirror as Stripe has it."""

from __future__ import annotations

import pytest

from payments import gateway
from payments.models import WebhookEvent, WebhookEventStatus
from payments.sandbox import controls
from payments.services import cards, webhooks
from tests.payments.cards import attach, client_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def stripe(stripe_local):
    return gateway.stripe_client()


def _mirror(customer):
    customer.refresh_from_db()
    return (
        sorted(customer.cards.values_list("stripe_payment_method_id", flat=True)),
        customer.default_payment_method_id,
    )


def _stripe_state(stripe, customer):
    listed = stripe.v1.customers.payment_methods.list(customer.stripe_customer_id)
    default = stripe.v1.customers.retrieve(
        customer.stripe_customer_id
    ).invoice_settings.default_payment_method
    return sorted(method.id for method in listed.data), default or ""


def _card_event_ids() -> list[str]:
    types = ("payment_method.attached", "payment_method.detached", "customer.updated")
    return [event["id"] for kind in types for event in controls.events_of_type(kind)]


def test_a_card_saved_at_stripe_appears_in_the_mirror(stripe, django_capture_on_commit_callbacks):
    # given: a client whose Customer we know
    customer = client_customer()
    # when: a card is saved (Checkout, the portal) and Stripe's events arrive
    with django_capture_on_commit_callbacks(execute=True):
        visa = attach(customer)
        controls.deliver_pending_events()
    # then
    assert _mirror(customer) == ([visa.id], "")
    event = WebhookEvent.objects.get(type="payment_method.attached")
    assert event.status == WebhookEventStatus.SUCCEEDED


def test_events_in_any_order_and_twice_leave_stripes_state(
    stripe, django_capture_on_commit_callbacks
):
    # given: at Stripe, two cards saved, the Mastercard made the default, then the Visa
    # removed; none of the events delivered yet
    customer = client_customer()
    with controls.deliveries_paused():
        visa, mastercard = attach(customer), attach(customer, "pm_card_mastercard")
        stripe.v1.customers.update(
            customer.stripe_customer_id,
            params={"invoice_settings": {"default_payment_method": mastercard.id}},
        )
        stripe.v1.payment_methods.detach(visa.id)
    ids = _card_event_ids()
    assert len(ids) == 4
    # when: delivered newest first, each twice
    with django_capture_on_commit_callbacks(execute=True):
        controls.deliver_pending_events(order=[i for i in reversed(ids) for _ in (1, 2)])
    # then
    assert _mirror(customer) == _stripe_state(stripe, customer) == ([mastercard.id], mastercard.id)
    processed = WebhookEvent.objects.filter(stripe_event_id__in=ids)
    assert processed.count() == 4
    assert set(processed.values_list("status", flat=True)) == {WebhookEventStatus.SUCCEEDED}
    # when: staff replay every one of them, oldest first
    with django_capture_on_commit_callbacks(execute=True):
        for event in processed.order_by("id"):
            webhooks.webhook_event_replay(event=event)
    # then: nothing moves
    assert _mirror(customer) == ([mastercard.id], mastercard.id)


def test_a_card_announced_before_its_customer_is_recorded_is_retried(
    stripe, django_capture_on_commit_callbacks
):
    # given: a Customer Stripe has (Checkout made it) that we have not recorded yet
    from tests.factories import UserFactory

    user = UserFactory()
    made = stripe.v1.customers.create(params={"email": user.email})
    # when: its card's event arrives first
    with django_capture_on_commit_callbacks(execute=True):
        visa = stripe.v1.payment_methods.attach("pm_card_visa", params={"customer": made.id})
        controls.deliver_pending_events()
    # then: retried later, not dropped
    event = WebhookEvent.objects.get(type="payment_method.attached")
    assert event.status == WebhookEventStatus.RETRYING
    assert "no customer" in event.last_error
    # when: the completed Checkout names the Customer, and the event is tried again
    customer = cards.customer_checkout_completed(user=user, stripe_customer_id=made.id)
    assert _mirror(customer) == ([visa.id], "")
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.webhook_event_replay(event=event)
    event.refresh_from_db()
    assert event.status == WebhookEventStatus.SUCCEEDED
    assert _mirror(customer) == ([visa.id], "")


def test_the_default_chosen_in_the_portal_is_mirrored(stripe, django_capture_on_commit_callbacks):
    customer = client_customer()
    visa, mastercard = attach(customer), attach(customer, "pm_card_mastercard")
    cards.customer_cards_sync(customer=customer)
    with django_capture_on_commit_callbacks(execute=True):
        stripe.v1.customers.update(
            customer.stripe_customer_id,
            params={"invoice_settings": {"default_payment_method": visa.id}},
        )
        controls.deliver_pending_events()
    assert _mirror(customer) == (sorted([visa.id, mastercard.id]), visa.id)


def test_a_deleted_customer_loses_its_cards_and_an_unknown_one_is_not_ours(
    stripe, django_capture_on_commit_callbacks
):
    customer = client_customer()
    attach(customer)
    cards.customer_cards_sync(customer=customer)
    stranger = stripe.v1.customers.create(params={"email": "lee@example.test"})
    with django_capture_on_commit_callbacks(execute=True):
        stripe.v1.customers.delete(customer.stripe_customer_id)
        stripe.v1.customers.delete(stranger.id)
        controls.deliver_pending_events()
    assert _mirror(customer) == ([], "")
    deleted = WebhookEvent.objects.filter(type="customer.deleted")
    assert set(deleted.values_list("status", flat=True)) == {WebhookEventStatus.SUCCEEDED}
