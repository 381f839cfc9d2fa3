"""Coaching plans: what a coach may offer, subscribing on Checkout as a Connect subscription,
the credits each paid period grants and booking with them, renewals on a test clock
(rollover, a failing card, retries running out), and the subscriber's changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bookings.models import (
    CoachingPlan,
    PlanCredit,
    PlanSubscription,
    PlanSubscriptionStatus,
)
from bookings.selectors import plan_standings
from bookings.services import plans
from marketplace.errors import Conflict, DomainError
from payments.gateway import stripe_client
from payments.models import Invoice, Subscription, SubscriptionStatus
from payments.sandbox import billing, controls
from payments.sandbox.models import StripeObject
from tests.bookings import plan_setup
from tests.bookings.plan_setup import DAY, START, URLS, plan_of
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def _terms(session_type, **overrides):
    values = {
        "name": "Monthly focus",
        "session_type": session_type,
        "sessions_per_period": 4,
        "interval": "month",
        "price": 40000,
    }
    return plans.PlanTerms(**{**values, **overrides})


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"sessions_per_period": 0}, "sessions_per_period", "1 to 31 sessions"),
        ({"sessions_per_period": 32}, "sessions_per_period", "1 to 31 sessions"),
        ({"price": 49}, "price", "at least $0.50"),
        ({"price": 100_000_000}, "price", "at most"),
        ({"rollover": True, "rollover_cap": -1}, "rollover_cap", "below 0"),
        ({"minimum_periods": -2}, "minimum_periods", "below 0"),
        ({"name": "  "}, "name", "name"),
    ],
)
def test_a_plan_out_of_bounds_is_refused_by_field_and_nothing_is_stored(
    paid_coach, overrides, field, message
):
    coach, session_type = paid_coach

    with pytest.raises(DomainError) as refused:
        plans.coaching_plan_create(coach=coach, terms=_terms(session_type, **overrides))

    assert message in refused.value.fields[field][0]
    assert not CoachingPlan.objects.exists()
    assert not StripeObject.objects.filter(object_type="price").exists()


def test_a_plan_is_a_recurring_price_on_stripe(paid_coach):
    coach, session_type = paid_coach

    plan = plan_of(coach, session_type, interval="week", price=12500)

    price = StripeObject.objects.get(stripe_id=plan.stripe_price_id).data
    assert price["unit_amount"] == 12500
    assert price["recurring"]["interval"] == "week"
    assert price["product"] == plan.stripe_product_id


def test_subscribing_opens_checkout_for_a_connect_subscription_to_the_coach(
    paid_coach, django_capture_on_commit_callbacks, settings
):
    # given
    settings.PLATFORM_FEE_BPS = 1250
    coach, session_type = paid_coach
    plan = plan_of(coach, session_type)
    client = UserFactory()

    # when
    with django_capture_on_commit_callbacks(execute=True):
        plan_subscription = plans.plan_subscribe(client=client, plan=plan, urls=URLS)

    # then
    assert plan_subscription.status == PlanSubscriptionStatus.PENDING
    subscription = plan_subscription.subscription
    assert subscription.checkout_url
    session = StripeObject.objects.get(stripe_id=subscription.stripe_checkout_session_id)
    assert session.data["mode"] == "subscription"
    data = session.internal["subscription_data"]
    assert data["transfer_data"]["destination"] == coach.user.connected_account.stripe_account_id
    assert float(data["application_fee_percent"]) == 12.5
    assert data["metadata"]["subscription_id"] == str(subscription.pk)


def test_subscribing_to_ones_own_plan_or_twice_is_refused(
    paid_coach, django_capture_on_commit_callbacks
):
    coach, session_type = paid_coach
    plan = plan_of(coach, session_type)
    with pytest.raises(DomainError, match="your own plan"):
        plans.plan_subscribe(client=coach.user, plan=plan, urls=URLS)

    user, _clock = plan_setup.clock_client()
    plan_setup.subscribe_and_pay(user, plan, django_capture_on_commit_callbacks)
    with pytest.raises(Conflict, match="already subscribe"):
        plans.plan_subscribe(client=user, plan=plan, urls=URLS)
    assert PlanSubscription.objects.filter(client=user).count() == 1


def test_a_paid_subscription_grants_the_period_and_books_with_a_credit(
    paid_coach, django_capture_on_commit_callbacks
):
    # given
    coach, session_type = paid_coach
    plan = plan_of(coach, session_type)
    user, _clock = plan_setup.clock_client()

    # when
    plan_subscription = plan_setup.subscribe_and_pay(user, plan, django_capture_on_commit_callbacks)

    # then
    assert plan_subscription.status == PlanSubscriptionStatus.ACTIVE
    assert plan_subscription.subscription.status == SubscriptionStatus.ACTIVE
    [standing] = plan_standings(client=user)
    assert standing.credits_left == 4


def test_cancel_at_period_end_then_resume(paid_coach, django_capture_on_commit_callbacks):
    coach, session_type = paid_coach
    plan = plan_of(coach, session_type)
    user, _clock = plan_setup.clock_client()
    plan_subscription = plan_setup.subscribe_and_pay(user, plan, django_capture_on_commit_callbacks)

    plans.plan_cancel(plan_subscription=plan_subscription, by=user)
    subscription = Subscription.objects.get(pk=plan_subscription.subscription_id)
    assert subscription.cancel_at_period_end
    stripe_copy = StripeObject.objects.get(stripe_id=subscription.stripe_subscription_id).data
    assert stripe_copy["cancel_at_period_end"] is True

    plans.plan_resume(plan_subscription=plan_subscription, by=user)
    subscription.refresh_from_db()
    assert not subscription.cancel_at_period_end
    assert plan_subscription.status == PlanSubscriptionStatus.ACTIVE


def test_a_minimum_commitment_refuses_an_early_cancellation(
    paid_coach, django_capture_on_commit_callbacks
):
    coach, session_type = paid_coach
    plan = plan_of(coach, session_type, minimum_periods=3)
    user, _clock = plan_setup.clock_client()
    plan_subscription = plan_setup.subscribe_and_pay(user, plan, django_capture_on_commit_callbacks)

    with pytest.raises(Conflict, match="2 more must be paid"):
        plans.plan_cancel(plan_subscription=plan_subscription, by=user)


def test_switching_to_another_coachs_plan_is_refused(
    paid_coach, django_capture_on_commit_callbacks
):
    from tests.bookings.conftest import stripe_coach

    coach, session_type = paid_coach
    plan = plan_of(coach, session_type)
    with django_capture_on_commit_callbacks(execute=True):
        other_coach, other_type = stripe_coach()
    other_plan = plan_of(other_coach, other_type)
    user, _clock = plan_setup.clock_client()
    plan_subscription = plan_setup.subscribe_and_pay(user, plan, django_capture_on_commit_callbacks)

    with pytest.raises(DomainError, match="same coach"):
        plans.plan_change(plan_subscription=plan_subscription, to_plan=other_plan, by=user)
    plan_subscription.refresh_from_db()
    assert plan_subscription.plan == plan


def test_a_coach_who_can_no_longer_be_paid_has_plans_paused_and_clients_told(
    paid_coach, django_capture_on_commit_callbacks, mailoutbox
):
    # given: a running plan
    coach, session_type = paid_coach
    plan = plan_of(coach, session_type)
    user, _clock = plan_setup.clock_client()
    capture = django_capture_on_commit_callbacks
    plan_subscription = plan_setup.subscribe_and_pay(user, plan, capture)
    account_id = coach.user.connected_account.stripe_account_id

    # when: Stripe restricts the coach's account (a requirement past due)
    controls.update_account(account_id, past_due=["individual.dob.day"])
    plan_setup.deliver(capture)

    # then: new subscriptions refused, the plan paused at Stripe, the client told
    plan_subscription.refresh_from_db()
    assert plan_subscription.status == PlanSubscriptionStatus.PAUSED
    assert plan_subscription.paused_reason
    stripe_copy = StripeObject.objects.get(
        stripe_id=plan_subscription.subscription.stripe_subscription_id
    ).data
    assert stripe_copy["pause_collection"]["behavior"] == "void"
    assert any("Paused: Monthly focus" in m.subject and user.email in m.to for m in mailoutbox)
    with pytest.raises(Conflict, match="cannot be booked"):
        plans.plan_subscribe(client=UserFactory(), plan=plan, urls=URLS)
    with pytest.raises(Conflict):
        plans.plan_resume(plan_subscription=plan_subscription, by=user)

    # when: the coach completes the requirement
    controls.complete_onboarding(account_id, "complete")
    plan_setup.deliver(capture)

    # then: the plan runs again
    plan_subscription.refresh_from_db()
    assert plan_subscription.status == PlanSubscriptionStatus.ACTIVE
    assert not plan_subscription.paused_reason


def test_an_upgrade_charges_the_prorated_difference_and_grants_the_extra_sessions(
    paid_coach, django_capture_on_commit_callbacks
):
    # given: 4 sessions a month, half-way through the month
    coach, session_type = paid_coach
    small = plan_of(coach, session_type)
    big = plan_of(coach, session_type, name="Intensive", sessions_per_period=8, price=70000)
    user, clock = plan_setup.clock_client()
    capture = django_capture_on_commit_callbacks
    plan_subscription = plan_setup.subscribe_and_pay(user, small, capture)
    plan_setup.advance(clock, START + 15 * DAY, capture)

    # when
    plans.plan_change(plan_subscription=plan_subscription, to_plan=big, by=user)
    plan_setup.deliver(capture)

    # then: the difference for the rest of the period is invoiced and paid at once
    plan_subscription.refresh_from_db()
    assert plan_subscription.plan == big
    change_invoice = Invoice.objects.get(
        subscription=plan_subscription.subscription, billing_reason="subscription_update"
    )
    assert change_invoice.status == "paid"
    assert 0 < change_invoice.amount_paid < big.price - small.price
    # the bigger plan's 4 extra sessions are bookable in this period
    now = datetime.fromtimestamp(START + 15 * DAY + 60, tz=UTC)
    [standing] = plan_standings(client=user, now=now)
    assert standing.credits_left == 8


def test_an_upgrades_invoice_recorded_after_the_next_renewal_grants_the_period_it_prorates(
    paid_coach, django_capture_on_commit_callbacks
):
    # given: half-way through the month the client switches to 8 sessions; Stripe's events
    # of the switch are held back until the next renewal has been recorded
    coach, session_type = paid_coach
    small = plan_of(coach, session_type)
    big = plan_of(coach, session_type, name="Intensive", sessions_per_period=8, price=70000)
    user, clock = plan_setup.clock_client()
    capture = django_capture_on_commit_callbacks
    plan_subscription = plan_setup.subscribe_and_pay(user, small, capture)
    plan_setup.advance(clock, START + 15 * DAY, capture)
    controls.pause_deliveries()
    with capture(execute=True):
        plans.plan_change(plan_subscription=plan_subscription, to_plan=big, by=user)
    renewal = billing.add_interval(START, "month", 1)
    stripe_client().v1.test_helpers.test_clocks.advance(
        clock, params={"frozen_time": renewal + 3600}
    )
    renewal_invoice = (
        stripe_client()
        .v1.subscriptions.retrieve(plan_subscription.subscription.stripe_subscription_id)
        .latest_invoice
    )
    first = [
        e["id"] for e in controls.pending_events() if e["data"]["object"]["id"] == renewal_invoice
    ]

    # when: the renewal's invoice events arrive first, then everything else
    with capture(execute=True):
        controls.deliver_pending_events(order=first)
        controls.deliver_pending_events()
    plan_setup.deliver(capture)

    # then: the switch's 4 extra sessions are the switched month's, the renewal's 8 the next
    credits = PlanCredit.objects.filter(plan_subscription=plan_subscription).order_by("pk")
    by_period = sorted((c.period_start, c.period_end, c.sessions) for c in credits)
    first_month = (_at(START), _at(renewal))
    assert by_period == [
        (*first_month, 4),
        (*first_month, 4),
        (_at(renewal), _at(billing.add_interval(START, "month", 2)), 8),
    ]


def test_the_demo_plan_is_made_once_with_its_stripe_price(paid_coach):
    from bookings.demo import seed_demo_plan

    coach, _session_type = paid_coach
    coach.user.email = "coach@demo.coach"
    coach.user.save()

    first = seed_demo_plan([coach.user])
    again = seed_demo_plan([coach.user])

    assert first is not None and again == first
    assert first.rollover and first.sessions_per_period == 4
    assert StripeObject.objects.filter(stripe_id=first.stripe_price_id).exists()
