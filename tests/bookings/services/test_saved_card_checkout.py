"""A client's one Stripe Customer and saved cards through booking and package Checkouts on the
local Stripe: the first payment makes the Customer (and offers to save the card), later ones
offer the saved cards; every one-off payment gets its Stripe invoice."""

from __future__ import annotations

import pytest

from bookings.models import BookingStatus
from bookings.services import packages
from payments import gateway
from payments.models import Customer, PaymentStatus
from payments.services import charges
from tests.bookings.factories import PackageFactory, next_hour
from tests.bookings.services.test_checkout import URLS, book
from tests.factories import UserFactory


@pytest.fixture
def stripe(sandbox):
    return gateway.stripe_client()


def _session(stripe, payment):
    return stripe.v1.checkout.sessions.retrieve(payment.stripe_checkout_session_id)


def test_the_first_booking_makes_the_customer_and_saves_the_card_the_second_offers_it(
    paid_coach, sandbox, stripe, django_capture_on_commit_callbacks
):
    # given: a client who has never paid
    _coach, session_type = paid_coach
    client = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        first_booking, first = book(client, session_type)
    # then: Checkout makes the Customer, offers to save the card, and will invoice
    session = _session(stripe, first)
    assert first.stripe_customer_id == ""
    assert session.customer is None and session.customer_creation == "always"
    assert session.customer_email == client.email
    assert session.saved_payment_method_options.payment_method_save == "enabled"
    assert session.invoice_creation.enabled
    assert session.invoice_creation.invoice_data.metadata.to_dict() == {
        "payment_id": str(first.pk),
        "booking_id": str(first_booking.pk),
    }
    # when: the client pays with 4242, ticking "save my card"
    with django_capture_on_commit_callbacks(execute=True):
        sandbox.pay_checkout_session(first.stripe_checkout_session_id, save_card=True)
        sandbox.deliver_pending_events()
    # then: the booking is confirmed, the Customer recorded with the card, an invoice made
    first_booking.refresh_from_db()
    assert first_booking.status == BookingStatus.CONFIRMED
    paid = _session(stripe, first)
    customer = Customer.objects.get(user=client)
    assert customer.stripe_customer_id == paid.customer
    [card] = customer.cards.all()
    assert (card.brand, card.last4) == ("visa", "4242")
    assert stripe.v1.invoices.retrieve(paid.invoice).status == "paid"

    # when: the client books again
    with django_capture_on_commit_callbacks(execute=True):
        second_booking, second = book(client, session_type, next_hour(days=4))
    # then: Checkout is for their Customer, offering the saved card
    session = _session(stripe, second)
    assert second.stripe_customer_id == customer.stripe_customer_id
    assert session.customer == customer.stripe_customer_id
    assert session.customer_email is None and session.customer_creation != "always"
    assert session.saved_payment_method_options.payment_method_save == "enabled"
    # when: paid with the saved card
    with django_capture_on_commit_callbacks(execute=True):
        sandbox.pay_checkout_session(
            second.stripe_checkout_session_id,
            card="",
            saved_payment_method=card.stripe_payment_method_id,
        )
        sandbox.deliver_pending_events()
    # then
    second_booking.refresh_from_db()
    second.refresh_from_db()
    assert second_booking.status == BookingStatus.CONFIRMED
    assert second.status == PaymentStatus.SUCCEEDED
    charge = stripe.v1.charges.retrieve(second.stripe_charge_id)
    assert charge.payment_method == card.stripe_payment_method_id
    assert charge.customer == customer.stripe_customer_id
    assert _session(stripe, second).invoice
    assert Customer.objects.filter(user=client).count() == 1
    assert customer.cards.count() == 1


def test_a_card_not_saved_still_makes_the_customer(
    paid_coach, sandbox, django_capture_on_commit_callbacks
):
    _coach, session_type = paid_coach
    client = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        _booking, payment = book(client, session_type)
        sandbox.pay_checkout_session(payment.stripe_checkout_session_id)
        sandbox.deliver_pending_events()
    customer = Customer.objects.get(user=client)
    assert customer.stripe_customer_id.startswith("cus_")
    assert not customer.cards.exists()


def test_a_package_checkout_makes_then_uses_the_customer(
    paid_coach, sandbox, stripe, django_capture_on_commit_callbacks
):
    _coach, session_type = paid_coach
    package = PackageFactory(session_type=session_type, session_count=3, price=30000)
    client = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        _purchase, first = packages.package_purchase_start(
            client=client, package=package, urls=URLS
        )
    session = _session(stripe, first)
    assert session.customer_creation == "always" and session.invoice_creation.enabled
    assert session.invoice_creation.invoice_data.metadata["package_purchase_id"]
    with django_capture_on_commit_callbacks(execute=True):
        sandbox.pay_checkout_session(first.stripe_checkout_session_id, save_card=True)
        sandbox.deliver_pending_events()
    customer = Customer.objects.get(user=client)
    assert customer.cards.count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        _purchase, second = packages.package_purchase_start(
            client=client, package=package, urls=URLS
        )
    assert _session(stripe, second).customer == customer.stripe_customer_id


def test_a_retried_checkout_sends_the_same_request_though_the_customer_came_meanwhile(
    paid_coach, sandbox, stripe, django_capture_on_commit_callbacks
):
    # given: a payment made before the client had a Customer, whose first session call
    # crashed before its answer was kept
    _coach, session_type = paid_coach
    client = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        _booking, payment = book(client, session_type)
    product = f"{session_type.name} with {session_type.coach.user.display_name}"
    request = charges.checkout_request(payment=payment, product_name=product, urls=URLS)
    # when: the client's Customer is recorded meanwhile (another payment completed)
    made = stripe.v1.customers.create(params={"email": client.email})
    Customer.objects.create(user=client, stripe_customer_id=made.id)
    payment.refresh_from_db()
    again = charges.checkout_request(payment=payment, product_name=product, urls=URLS)
    # then: the retry's parameters are the first request's (the same idempotency key)
    assert again.key == request.key
    assert again.fields(again.expires_at) == request.fields(request.expires_at)
    assert again.fields(again.expires_at)["customer"] is None
    session, _answered_at = again.create(again.key, again.expires_at)
    assert session.id == payment.stripe_checkout_session_id
