"""A coaching plan through its renewals on a Stripe test clock, every event delivered to the
product's webhook endpoints: each paid period grants its sessions with rollover capped as
the plan says; a renewal with a failing card makes the plan past due and stops booking with
it until the invoice is paid; Stripe's retries running out end the plan, its granted
sessions still bookable until their period ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bookings.models import PlanCredit, PlanSubscriptionStatus
from bookings.selectors import plan_standings
from bookings.services import holds, plans
from marketplace.errors import Conflict
from payments.gateway import stripe_client
from payments.models import Invoice, InvoiceStatus, Payment, PaymentKind, SubscriptionStatus
from tests.bookings import plan_setup
from tests.bookings.plan_setup import DAY, START, plan_of

pytestmark = pytest.mark.django_db


def _at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def _left(user, at: int) -> int:
    [standing] = plan_standings(client=user, now=_at(at))
    return standing.credits_left


def _book(user, session_type, plan_subscription, at: int):
    """Book a session two days after ``at`` (the test clock's time) with the plan."""
    starts = _at(at).replace(minute=0, second=0) + timedelta(days=2, hours=1)
    return holds.booking_hold(
        client=user,
        session_type=session_type,
        starts_at=starts,
        plan_subscription=plan_subscription,
        now=_at(at),
    )


def _period_end(plan_subscription) -> int:
    plan_subscription.subscription.refresh_from_db()
    return int(plan_subscription.subscription.current_period_end.timestamp())


def _set_card(user, plan_subscription, test_card: str) -> None:
    """The client's card for renewals becomes ``test_card`` (as in Stripe's portal)."""
    client = stripe_client()
    customer_id = user.stripe_customer.stripe_customer_id
    method = client.v1.payment_methods.attach(test_card, params={"customer": customer_id})
    client.v1.subscriptions.update(
        plan_subscription.subscription.stripe_subscription_id,
        params={"default_payment_method": method.id},
    )


def test_three_renewals_grant_each_period_with_rollover_capped(
    paid_coach, django_capture_on_commit_callbacks
):
    # given: 4 sessions a month, at most 2 carried over
    coach, session_type = paid_coach
    plan = plan_of(coach, session_type, rollover=True, rollover_cap=2)
    user, clock = plan_setup.clock_client()
    capture = django_capture_on_commit_callbacks
    plan_subscription = plan_setup.subscribe_and_pay(user, plan, capture)
    assert _left(user, START) == 4
    _book(user, session_type, plan_subscription, START)
    assert _left(user, START) == 3

    # when: three renewals, one session booked in the second period
    lefts = []
    for renewal in range(3):
        moment = _period_end(plan_subscription) + 3600
        plan_setup.advance(clock, moment, capture)
        lefts.append(_left(user, moment))
        if renewal == 0:
            _book(user, session_type, plan_subscription, moment)
            lefts[-1] = _left(user, moment)

    # then: 4 + 2 carried (of 3) = 6, one booked = 5; then 4 + 2 (of 5); then 4 + 2 again
    assert lefts == [5, 6, 6]
    credits = list(PlanCredit.objects.filter(plan_subscription=plan_subscription))
    assert [c.rolled_over for c in credits] == [0, 2, 2, 2]
    assert [c.sessions for c in credits] == [4, 6, 6, 6]
    plan_subscription.refresh_from_db()
    assert plan_subscription.periods_paid == 4
    paid = Invoice.objects.filter(subscription=plan_subscription.subscription, status="paid")
    assert paid.count() == 4
    assert Payment.objects.filter(kind=PaymentKind.PLAN, status="succeeded").count() == 4


def test_unused_sessions_lapse_without_rollover(paid_coach, django_capture_on_commit_callbacks):
    coach, session_type = paid_coach
    plan = plan_of(coach, session_type, sessions_per_period=3)
    user, clock = plan_setup.clock_client()
    capture = django_capture_on_commit_callbacks
    plan_subscription = plan_setup.subscribe_and_pay(user, plan, capture)

    moment = _period_end(plan_subscription) + 3600
    plan_setup.advance(clock, moment, capture)

    assert _left(user, moment) == 3


def test_a_failed_renewal_blocks_booking_until_the_invoice_is_paid(
    paid_coach, django_capture_on_commit_callbacks, mailoutbox
):
    # given
    coach, session_type = paid_coach
    plan = plan_of(coach, session_type)
    user, clock = plan_setup.clock_client()
    capture = django_capture_on_commit_callbacks
    plan_subscription = plan_setup.subscribe_and_pay(user, plan, capture)
    _set_card(user, plan_subscription, "pm_card_chargeCustomerFail")

    # when: the renewal's charge fails
    moment = _period_end(plan_subscription) + 3600
    plan_setup.advance(clock, moment, capture)

    # then: past due, booking with the plan refused, the client told with a link to pay
    plan_subscription.refresh_from_db()
    assert plan_subscription.status == PlanSubscriptionStatus.PAST_DUE
    assert plan_subscription.subscription.status == SubscriptionStatus.PAST_DUE
    with pytest.raises(Conflict, match="last payment failed"):
        _book(user, session_type, plan_subscription, moment)
    [failed_mail] = [m for m in mailoutbox if "Payment failed: Monthly focus" in m.subject]
    invoice = Invoice.objects.get(
        subscription=plan_subscription.subscription, status=InvoiceStatus.OPEN
    )
    assert invoice.hosted_invoice_url in failed_mail.body
    [standing] = plan_standings(client=user, now=_at(moment))
    assert standing.pay_url == invoice.hosted_invoice_url and not standing.can_book

    # when: the client pays the invoice with a good card
    good = stripe_client().v1.payment_methods.attach(
        "pm_card_visa", params={"customer": user.stripe_customer.stripe_customer_id}
    )
    stripe_client().v1.invoices.pay(invoice.stripe_invoice_id, params={"payment_method": good.id})
    plan_setup.deliver(capture)

    # then: active again, the period's sessions granted, booking works
    plan_subscription.refresh_from_db()
    assert plan_subscription.status == PlanSubscriptionStatus.ACTIVE
    assert _left(user, moment) == 4
    booking = _book(user, session_type, plan_subscription, moment)
    assert booking.plan_credit is not None


def test_retries_running_out_end_the_plan_and_granted_sessions_stay_bookable(
    paid_coach, django_capture_on_commit_callbacks
):
    coach, session_type = paid_coach
    plan = plan_of(coach, session_type, interval="week", price=12000, sessions_per_period=2)
    user, clock = plan_setup.clock_client()
    capture = django_capture_on_commit_callbacks
    plan_subscription = plan_setup.subscribe_and_pay(user, plan, capture)
    # the first week's sessions, paid; then the card fails for good
    first_period_end = _period_end(plan_subscription)
    _set_card(user, plan_subscription, "pm_card_chargeCustomerFail")
    renewal = first_period_end + 60
    plan_setup.advance(clock, renewal, capture)
    plan_subscription.refresh_from_db()
    assert plan_subscription.status == PlanSubscriptionStatus.PAST_DUE

    # when: Stripe retries after 3, 5 and 7 days and gives up
    for day in (3, 5, 7):
        plan_setup.advance(clock, renewal + day * DAY + 60, capture)

    # then
    plan_subscription.refresh_from_db()
    assert plan_subscription.subscription.status == SubscriptionStatus.CANCELED
    assert plan_subscription.status == PlanSubscriptionStatus.ENDED
    # sessions granted for the paid week were bookable until that week ended
    assert _left(user, first_period_end - 3600) == 2
    assert _left(user, first_period_end + 3600) == 0


def test_a_beat_poll_recovers_a_checkout_and_a_renewal_whose_webhooks_were_lost(
    paid_coach, django_capture_on_commit_callbacks
):
    from payments import selectors as payment_selectors
    from payments import tasks as payment_tasks
    from payments.sandbox import controls
    from payments.sandbox.models import WebhookDelivery

    coach, session_type = paid_coach
    plan = plan_of(coach, session_type)
    user, clock = plan_setup.clock_client()
    capture = django_capture_on_commit_callbacks

    # given: the client pays on Checkout, and every event Stripe sends is lost
    with capture(execute=True):
        plan_subscription = plans.plan_subscribe(client=user, plan=plan, urls=plan_setup.URLS)
    with controls.deliveries_paused():
        controls.pay_checkout_session(plan_subscription.subscription.stripe_checkout_session_id)
        WebhookDelivery.objects.all().delete()

        # when: beat polls later
        later = datetime.now(tz=UTC) + timedelta(minutes=11)
        due = payment_selectors.subscriptions_due_for_poll(now=later)
        assert due == [plan_subscription.subscription_id]
        with capture(execute=True):
            payment_tasks.refresh_subscription(plan_subscription.subscription_id)

    # then: the plan runs with its first period's sessions
    plan_subscription.refresh_from_db()
    assert plan_subscription.status == PlanSubscriptionStatus.ACTIVE
    assert _left(user, START) == 4
    assert not payment_selectors.subscriptions_due_for_poll(now=later)

    # given: the renewal's events are lost too
    period_end = _period_end(plan_subscription)
    with controls.deliveries_paused():
        stripe_client().v1.test_helpers.test_clocks.advance(
            clock, params={"frozen_time": period_end + 3600}
        )
        WebhookDelivery.objects.all().delete()
        # when: beat polls after the period ended
        after = _at(period_end) + timedelta(hours=7)
        assert payment_selectors.subscriptions_due_for_poll(now=after) == [
            plan_subscription.subscription_id
        ]
        with capture(execute=True):
            payment_tasks.refresh_subscription(plan_subscription.subscription_id)

    # then: the renewal's period is granted
    assert _left(user, period_end + 7200) == 4
    assert PlanCredit.objects.filter(plan_subscription=plan_subscription).count() == 2
