"""Billing fixtures made on the local Stripe through the real library: a client's recorded
Customer, cards attached to it (Stripe's test PaymentMethods), a running subscription row."""

from __future__ import annotations

from payments import gateway
from payments.models import Customer, Subscription, SubscriptionKind, SubscriptionStatus
from payments.services import customers
from tests.factories import UserFactory


def client_customer(user=None) -> Customer:
    """A client whose Stripe Customer exists and is recorded (as after a first payment)."""
    user = user or UserFactory()
    made = gateway.stripe_client().v1.customers.create(params={"email": user.email})
    return customers.customer_record(user=user, stripe_customer_id=made.id)


def attach(customer: Customer, test_payment_method: str = "pm_card_visa"):
    """Save a card to the Customer at Stripe (a new card each time, as in test mode)."""
    return gateway.stripe_client().v1.payment_methods.attach(
        test_payment_method, params={"customer": customer.stripe_customer_id}
    )


def running_plan(user, **fields) -> Subscription:
    """A coaching-plan subscription of the client's, as the mirror keeps it."""
    values = {
        "kind": SubscriptionKind.PLAN,
        "customer_user": user,
        "status": SubscriptionStatus.ACTIVE,
        "stripe_price_id": "price_plan",
        "amount": 24000,
        "currency": "usd",
        **fields,
    }
    return Subscription.objects.create(**values)
