"""Stripe's subscription events (``customer.subscription.created``, ``.updated``,
``.deleted``, ``.paused``, ``.resumed``) arrive at least once and in no order; each handler
re-reads the subscription, so whatever the order and however often each arrives, a coaching
plan ends in Stripe's state with one effect per thing that happened: one status change per
move, one Payment and one PlanCredit per paid invoice, one e-mail per failed attempt, per
restoration and per ending.

- subscribing on Checkout: every order of the session's completion and the subscription's
  created and updated events, each twice, the invoice's events between them;
- a plan's life (renewed, a renewal declined then paid by Stripe's retry, cancelled at the
  period's end, resumed, cancelled again and ended): each step's events in Stripe's order,
  or shuffled with a third of them twice, a cancellation's events arriving only after the
  resumption — the same plan at the end;
- a trial that ended without a card pauses the subscription (status ``paused``) and
  resuming it at Stripe starts a new paid period: the paused and resumed events in any
  order, twice each.

The invoice events' own orders are proved in tests/payments/test_invoices.py.
"""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime

import pytest
from django.core import mail

from bookings.models import PlanCredit, PlanSubscription, PlanSubscriptionStatus
from bookings.services import plans
from marketplace.models import StatusChange
from payments.gateway import stripe_client
from payments.models import (
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentKind,
    Subscription,
    SubscriptionStatus,
    WebhookEvent,
    WebhookEventStatus,
)
from payments.sandbox import billing, controls
from payments.services import customers, webhooks
from tests.bookings import plan_setup, scenario
from tests.bookings.conftest import stripe_coach
from tests.bookings.plan_setup import DAY, START, plan_of
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

RENEWAL = billing.add_interval(START, "month", 1)
SECOND_RENEWAL = billing.add_interval(START, "month", 2)
THIRD_RENEWAL = billing.add_interval(START, "month", 3)
HOUR = 3600


@pytest.fixture
def plan(db, settings, django_capture_on_commit_callbacks):
    """A coach's monthly plan (4 sessions, $400.00) on the local Stripe, whose endpoints are
    enabled for the events the product handles."""
    settings.SITE_URL = "http://testserver"
    controls.reset()
    scenario.register_endpoints(settings)
    with django_capture_on_commit_callbacks(execute=True):
        coach, session_type = stripe_coach()
    return plan_of(coach, session_type)


def _at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def _advance(clock_id: str, to: int) -> None:
    """The test clock moves on; what Stripe sends meanwhile is held back."""
    stripe_client().v1.test_helpers.test_clocks.advance(clock_id, params={"frozen_time": to})


def _process(capture) -> None:
    """What the inbox received, processed (the dispatcher and its retries, eager)."""
    for _ in range(10):
        waiting = list(
            WebhookEvent.objects.filter(
                status__in=[WebhookEventStatus.RECEIVED, WebhookEventStatus.RETRYING]
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not waiting:
            return
        for event_id in waiting:
            with capture(execute=True):
                webhooks.webhook_event_process(event_id=event_id)
    raise AssertionError("events still waiting")


def _deliver(order: list[str], capture) -> None:
    """These events, delivered in this order (repeats included), then processed."""
    with capture(execute=True):
        statuses = controls.deliver_pending_events(order=order)
    assert all(200 <= status < 300 for status in statuses), statuses
    _process(capture)


def _held() -> list[dict]:
    return controls.pending_events()


def _changes(row) -> list[str]:
    """The statuses a row moved to, in order (each move recorded once)."""
    return list(
        StatusChange.objects.filter(model=row._meta.label_lower, object_id=row.pk)
        .order_by("changed_at", "pk")
        .values_list("to_state", flat=True)
    )


def _subjects(plan_subscription: PlanSubscription) -> list[str]:
    """The plan e-mails its client got, without the site's prefix."""
    return sorted(
        m.subject.split("] ", 1)[-1]
        for m in mail.outbox
        if m.to == [plan_subscription.client.email] and plan_subscription.plan.name in m.subject
    )


def _effects(plan_subscription: PlanSubscription) -> dict:
    """What the plan's life left in our rows, without ids (to compare one delivery with
    another)."""
    plan_subscription.refresh_from_db()
    subscription = Subscription.objects.get(pk=plan_subscription.subscription_id)
    stripe_subscription = stripe_client().v1.subscriptions.retrieve(
        subscription.stripe_subscription_id
    )
    # our copy is Stripe's
    assert subscription.status == stripe_subscription.status
    assert subscription.cancel_at_period_end == stripe_subscription.cancel_at_period_end
    assert subscription.latest_invoice_id == stripe_subscription.latest_invoice
    item = stripe_subscription["items"].data[0]
    assert int(subscription.current_period_end.timestamp()) == item.current_period_end
    invoices = Invoice.objects.filter(subscription=subscription).order_by("issued_at", "pk")
    return {
        "plan": plan_subscription.status,
        "plan moves": _changes(plan_subscription),
        "periods paid": plan_subscription.periods_paid,
        "subscription": subscription.status,
        "subscription moves": _changes(subscription),
        "cancel at period end": subscription.cancel_at_period_end,
        "invoices": [(i.status, i.total, i.attempt_count) for i in invoices],
        "payments": sorted(
            (p.amount, p.application_fee, p.status)
            for p in Payment.objects.filter(invoice__subscription=subscription)
        ),
        "credits": [
            (c.sessions, c.period_start, c.period_end)
            for c in PlanCredit.objects.filter(plan_subscription=plan_subscription).order_by(
                "period_start", "pk"
            )
        ],
        "e-mails": _subjects(plan_subscription),
        "events not done": WebhookEvent.objects.exclude(
            status__in=[WebhookEventStatus.SUCCEEDED, WebhookEventStatus.IGNORED]
        ).count(),
    }


# --- subscribing ----------------------------------------------------------------------------

STARTING = ("checkout.session.completed", "customer.subscription.created")


@pytest.mark.parametrize(
    "order",
    list(itertools.permutations((*STARTING, "customer.subscription.updated"))),
    ids=lambda order: ">".join(name.rsplit(".", 1)[-1] for name in order),
)
def test_subscribing_starts_the_plan_once_in_any_order_of_its_events(
    order, plan, django_capture_on_commit_callbacks
):
    # given: the client pays on Checkout, Stripe's events held back
    capture = django_capture_on_commit_callbacks
    user, _clock = plan_setup.clock_client()
    controls.pause_deliveries()
    with capture(execute=True):
        plan_subscription = plans.plan_subscribe(client=user, plan=plan, urls=plan_setup.URLS)
    controls.pay_checkout_session(plan_subscription.subscription.stripe_checkout_session_id)
    held = _held()
    by_type = {event["type"]: event["id"] for event in held if event["type"] in order}
    assert set(by_type) == set(order)  # incomplete when made, active once its invoice is paid
    first, *others = [by_type[name] for name in order]
    rest = [event["id"] for event in held if event["id"] not in by_type.values()]

    # when: one of the three, then the invoice's events, then the other two, then all
    # three again backwards
    _deliver([first, *rest, *others, *reversed([first, *others])], capture)

    # then: the plan started once, its first month paid and granted once
    assert _effects(plan_subscription) == {
        "plan": PlanSubscriptionStatus.ACTIVE,
        "plan moves": [PlanSubscriptionStatus.ACTIVE],
        "periods paid": 1,
        "subscription": SubscriptionStatus.ACTIVE,
        "subscription moves": [SubscriptionStatus.ACTIVE],
        "cancel at period end": False,
        "invoices": [(InvoiceStatus.PAID, 40000, 1)],
        "payments": [(40000, 6000, "succeeded")],
        "credits": [(4, _at(START), _at(RENEWAL))],
        "e-mails": [],
        "events not done": 0,
    }
    assert Subscription.objects.get(pk=plan_subscription.subscription_id).stripe_customer_id
    assert Payment.objects.filter(kind=PaymentKind.PLAN).count() == 1


# --- a plan's life ----------------------------------------------------------------------------


def _set_card(plan_subscription: PlanSubscription, test_card: str) -> None:
    client = stripe_client()
    method = client.v1.payment_methods.attach(
        test_card, params={"customer": plan_subscription.subscription.stripe_customer_id}
    )
    client.v1.subscriptions.update(
        plan_subscription.subscription.stripe_subscription_id,
        params={"default_payment_method": method.id},
    )


def _a_plans_life(plan, capture, deliver) -> PlanSubscription:
    """Subscribe, renew, a renewal declined then paid by Stripe's retry, cancel at the
    period's end, resume, cancel again, the period ends. ``deliver(held_ids)`` delivers
    each step's held events."""
    user, clock = plan_setup.clock_client()
    controls.pause_deliveries()

    def step() -> None:
        deliver([event["id"] for event in _held()])

    with capture(execute=True):
        plan_subscription = plans.plan_subscribe(client=user, plan=plan, urls=plan_setup.URLS)
    controls.pay_checkout_session(plan_subscription.subscription.stripe_checkout_session_id)
    step()
    plan_subscription.refresh_from_db()
    # renewed
    _advance(clock, RENEWAL + HOUR)
    step()
    # the next renewal is declined: past due, the client told; Stripe's retry pays it
    _set_card(plan_subscription, "pm_card_chargeCustomerFail")
    _advance(clock, SECOND_RENEWAL + HOUR)
    step()
    plan_subscription.refresh_from_db()
    assert plan_subscription.status == PlanSubscriptionStatus.PAST_DUE
    _set_card(plan_subscription, "pm_card_visa")
    _advance(clock, SECOND_RENEWAL + billing.RETRY_DAYS[0] * DAY + HOUR)
    step()
    # cancelled at the period's end and resumed: the cancellation's events arrive after the
    # resumption's
    with capture(execute=True):
        plans.plan_cancel(plan_subscription=plan_subscription, by=user)
        plans.plan_resume(plan_subscription=plan_subscription, by=user)
    step()
    plan_subscription.refresh_from_db()
    assert plan_subscription.status == PlanSubscriptionStatus.ACTIVE
    # cancelled again, and the period ends
    with capture(execute=True):
        plans.plan_cancel(plan_subscription=plan_subscription, by=user)
    step()
    _advance(clock, THIRD_RENEWAL + HOUR)
    step()
    return plan_subscription


def _in_stripes_order(capture):
    def deliver(ids: list[str]) -> None:
        _deliver(ids, capture)

    return deliver


def _shuffled_and_repeated(capture, seed: int):
    rng = random.Random(seed)

    def deliver(ids: list[str]) -> None:
        order = ids + rng.sample(ids, k=len(ids) // 3)
        rng.shuffle(order)
        _deliver(order, capture)

    return deliver


def test_a_plans_life_ends_the_same_however_its_events_arrive(
    plan, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    # given: the life with each step's events in Stripe's order
    reference = _a_plans_life(plan, capture, _in_stripes_order(capture))
    expected = _effects(reference)
    assert expected == {
        "plan": PlanSubscriptionStatus.ENDED,
        "plan moves": [
            PlanSubscriptionStatus.ACTIVE,
            PlanSubscriptionStatus.PAST_DUE,
            PlanSubscriptionStatus.ACTIVE,
            PlanSubscriptionStatus.ENDED,
        ],
        "periods paid": 3,
        "subscription": SubscriptionStatus.CANCELED,
        "subscription moves": [
            SubscriptionStatus.ACTIVE,
            SubscriptionStatus.PAST_DUE,
            SubscriptionStatus.ACTIVE,
            SubscriptionStatus.CANCELED,
        ],
        "cancel at period end": True,
        "invoices": [
            (InvoiceStatus.PAID, 40000, 1),
            (InvoiceStatus.PAID, 40000, 1),
            (InvoiceStatus.PAID, 40000, 2),
        ],
        "payments": [(40000, 6000, "succeeded")] * 3,
        "credits": [
            (4, _at(START), _at(RENEWAL)),
            (4, _at(RENEWAL), _at(SECOND_RENEWAL)),
            (4, _at(SECOND_RENEWAL), _at(THIRD_RENEWAL)),
        ],
        "e-mails": [
            "Ended: Monthly focus",
            "Paid: Monthly focus is active again",
            "Payment failed: Monthly focus",
        ],
        "events not done": 0,
    }
    for seed in (1, 2):
        # when: each step's events shuffled, a third of them twice
        mail.outbox.clear()
        shuffled = _a_plans_life(plan, capture, _shuffled_and_repeated(capture, seed))
        # then: the same plan, the same effects, once each
        assert _effects(shuffled) == expected, f"seed {seed}"


# --- paused and resumed -------------------------------------------------------------------------


def _trial_without_a_card(plan, capture) -> tuple[PlanSubscription, str]:
    """A plan subscription of ours (our row and its metadata, as Checkout makes it) whose
    Stripe subscription has a week's trial, no card, and pauses if none is given by then."""
    user = UserFactory()
    client = stripe_client()
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": START})
    customer = client.v1.customers.create(params={"email": user.email, "test_clock": clock.id})
    customers.customer_record(user=user, stripe_customer_id=customer.id)
    with capture(execute=True):
        plan_subscription = plans.plan_subscribe(client=user, plan=plan, urls=plan_setup.URLS)
    subscription = plan_subscription.subscription
    client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": plan.stripe_price_id}],
            "trial_period_days": 7,
            "trial_settings": {"end_behavior": {"missing_payment_method": "pause"}},
            "transfer_data": {"destination": subscription.destination_account_id},
            "application_fee_percent": subscription.application_fee_bps / 100,
            "metadata": {
                "subscription_id": str(subscription.pk),
                "plan_subscription_id": str(plan_subscription.pk),
            },
        }
    )
    return plan_subscription, clock.id


PAUSING = ("customer.subscription.paused", "customer.subscription.updated")


@pytest.mark.parametrize(
    "order",
    [
        ("paused", "resumed", "updated"),
        ("resumed", "paused", "updated"),
        ("updated", "resumed", "paused"),
    ],
    ids=">".join,
)
def test_a_paused_subscription_resumed_at_stripe_in_any_order_of_its_events(
    order, plan, django_capture_on_commit_callbacks
):
    # given: the trial started (its events delivered); it ends with no card: Stripe pauses it
    capture = django_capture_on_commit_callbacks
    controls.pause_deliveries()
    plan_subscription, clock = _trial_without_a_card(plan, capture)
    _deliver([event["id"] for event in _held()], capture)
    plan_subscription.refresh_from_db()
    assert plan_subscription.status == PlanSubscriptionStatus.ACTIVE  # trialing
    trial_end = START + 7 * DAY
    _advance(clock, trial_end + HOUR)
    paused_ids = [event["id"] for event in _held()]
    assert {event["type"] for event in _held()} >= set(PAUSING)
    _deliver(paused_ids + paused_ids[::-1], capture)
    plan_subscription.refresh_from_db()
    assert plan_subscription.status == PlanSubscriptionStatus.PAUSED
    # the client gives a card and it is resumed at Stripe: a new month, paid at once
    resume_at = trial_end + 2 * DAY
    _advance(clock, resume_at)
    _deliver([event["id"] for event in _held()], capture)
    client = stripe_client()
    customer_id = plan_subscription.subscription.stripe_customer_id
    card = client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer_id})
    client.v1.customers.update(
        customer_id, params={"invoice_settings": {"default_payment_method": card.id}}
    )
    stripe_subscription_id = Subscription.objects.get(
        pk=plan_subscription.subscription_id
    ).stripe_subscription_id
    resumed = client.v1.subscriptions.resume(stripe_subscription_id)
    assert resumed.status == "active"
    held = _held()
    named = {
        name: [e["id"] for e in held if e["type"] == f"customer.subscription.{name}"]
        for name in ("paused", "resumed", "updated")
    }
    # the paused event delivered again, late, among the resumption's
    named["paused"] = paused_ids[:1]
    assert all(named.values()), named
    ours = {event_id for ids in named.values() for event_id in ids}
    rest = [e["id"] for e in held if e["id"] not in ours]

    # when: the subscription's events in this order, the invoice's between, each twice
    ids = [event_id for name in order for event_id in named[name]]
    _deliver([*ids[:1], *rest, *ids[1:], *reversed(ids)], capture)

    # then: active again, the resumed month paid and granted once; the trial's week granted
    effects = _effects(plan_subscription)
    period_end = billing.add_interval(resume_at, "month", 1)
    assert effects == {
        "plan": PlanSubscriptionStatus.ACTIVE,
        "plan moves": [
            PlanSubscriptionStatus.ACTIVE,
            PlanSubscriptionStatus.PAUSED,
            PlanSubscriptionStatus.ACTIVE,
        ],
        "periods paid": 2,
        "subscription": SubscriptionStatus.ACTIVE,
        "subscription moves": [
            SubscriptionStatus.TRIALING,
            SubscriptionStatus.PAUSED,
            SubscriptionStatus.ACTIVE,
        ],
        "cancel at period end": False,
        "invoices": [(InvoiceStatus.PAID, 0, 0), (InvoiceStatus.PAID, 40000, 1)],
        "payments": [(40000, 6000, "succeeded")],
        "credits": [
            (4, _at(START), _at(trial_end)),
            (4, _at(resume_at), _at(period_end)),
        ],
        "e-mails": [],
        "events not done": 0,
    }
