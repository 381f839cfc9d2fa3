"""Coaching plans on the local Stripe for tests: a coach's plan, a client on a test clock
with a card, subscribing through Checkout, and delivering what Stripe sends."""

from __future__ import annotations

import time

from bookings.models import CoachingPlan, PlanSubscription
from bookings.services import plans
from payments.gateway import stripe_client
from payments.models import WebhookEvent, WebhookEventStatus
from payments.sandbox import controls
from payments.services import charges, customers, webhooks
from tests.factories import UserFactory

URLS = charges.CheckoutUrls(
    success_url="http://testserver/billing/?subscribed=1", cancel_url="http://testserver/billing/"
)
# The test clocks start at the present hour: the first period's credits are current on the
# product's own clock; later periods are read with ``now=`` set to the test clock's time.
START = int(time.time()) // 3600 * 3600
DAY = 86400


def plan_of(coach, session_type, **terms) -> CoachingPlan:
    defaults = {
        "name": "Monthly focus",
        "session_type": session_type,
        "sessions_per_period": 4,
        "interval": "month",
        "price": 40000,
    }
    return plans.coaching_plan_create(coach=coach, terms=plans.PlanTerms(**{**defaults, **terms}))


def deliver(capture) -> None:
    """Deliver every pending event and process what the inbox received, until none is left
    (what the dispatcher and its retries do)."""
    for _ in range(20):
        with capture(execute=True):
            sent = controls.deliver_pending_events()
        waiting = list(
            WebhookEvent.objects.filter(
                status__in=[WebhookEventStatus.RECEIVED, WebhookEventStatus.RETRYING]
            ).values_list("pk", flat=True)
        )
        for event_id in waiting:
            with capture(execute=True):
                webhooks.webhook_event_process(event_id=event_id)
        if not sent and not waiting:
            return
    raise AssertionError("deliveries did not settle")


def clock_client(*, card: str = "pm_card_visa", frozen_time: int = START):
    """A client whose Stripe Customer lives on a new test clock and has ``card`` as its
    default card; returns (user, clock id)."""
    client = stripe_client()
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": frozen_time})
    user = UserFactory()
    customer = client.v1.customers.create(params={"email": user.email, "test_clock": clock.id})
    method = client.v1.payment_methods.attach(card, params={"customer": customer.id})
    client.v1.customers.update(
        customer.id, params={"invoice_settings": {"default_payment_method": method.id}}
    )
    customers.customer_record(user=user, stripe_customer_id=customer.id)
    return user, clock.id


def subscribe_and_pay(user, plan, capture, *, card: str = "4242424242424242") -> PlanSubscription:
    with capture(execute=True):
        plan_subscription = plans.plan_subscribe(client=user, plan=plan, urls=URLS)
    controls.pay_checkout_session(
        plan_subscription.subscription.stripe_checkout_session_id, card=card
    )
    deliver(capture)
    plan_subscription.refresh_from_db()
    return plan_subscription


def advance(clock_id: str, to: int, capture) -> None:
    stripe_client().v1.test_helpers.test_clocks.advance(clock_id, params={"frozen_time": to})
    deliver(capture)
