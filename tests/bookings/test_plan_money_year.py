"""A year of coaching plans on Stripe test clocks, every event delivered (shuffled, a fifth of
them twice): the books equal Stripe's to the cent and the nightly reconciliation finds
nothing.

Two coaches: Ana sells a monthly plan with rollover and a bigger monthly plan, Ben a weekly
plan. Four clients, each on a test clock of their own, through twelve months:

- Chloe renews Ana's rollover plan and switches to the bigger plan in the middle of her third
  month: Stripe prorates the rest of the period and invoices the difference at once;
- Dan renews Ana's bigger plan; staff refund a quarter of his second month; his fifth
  renewal fails and Stripe's retry three days later is paid with the card he replaced it
  with; in his ninth month he cancels at the period's end and resumes before it ends;
- Eve subscribes to Ben's weekly plan at midyear and pauses it for three weeks (Stripe voids
  those invoices);
- Finn renews Ana's rollover plan and cancels at the end of his eighth month.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from bookings.models import PlanCredit, PlanSubscription, PlanSubscriptionStatus
from bookings.services import plans
from marketplace.money import round_half_up_div
from payments.gateway import stripe_client
from payments.models import (
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentKind,
    PaymentStatus,
    ReconciliationRun,
    Refund,
    RefundStatus,
)
from payments.sandbox import billing, controls
from payments.sandbox.models import WebhookDelivery
from payments.services import reconciliation, refunds
from tests.bookings import plan_setup, scenario
from tests.bookings.conftest import stripe_coach
from tests.bookings.plan_setup import DAY, START, plan_of
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

WEEK = 7 * DAY
FEE_PERCENT = 15  # the platform's default fee (PLATFORM_FEE_BPS)
ROLLOVER, INTENSIVE, WEEKLY = 40000, 70000, 12000
REFUNDED = 17500  # a quarter of one of Dan's months


def _month(count: int) -> int:
    return billing.add_interval(START, "month", count)


# Test-clock moments of the script.
UPGRADE_AT = _month(2) + 15 * DAY
REFUND_AT = _month(2) + 2 * DAY
DAN_CARD_FAILS_AT = _month(4) - DAY
DAN_CARD_REPLACED_AT = _month(4) + DAY  # after the renewal failed, before the retry (3 days)
DAN_CANCELS_AT = _month(8) + 10 * DAY
DAN_RESUMES_AT = _month(8) + 20 * DAY
EVE_JOINS_AT = _month(6)
EVE_PAUSES_AT = EVE_JOINS_AT + 9 * WEEK + DAY
EVE_RESUMES_AT = EVE_JOINS_AT + 12 * WEEK + DAY
FINN_CANCELS_AT = _month(7) + 5 * DAY
YEAR_END = _month(12) - 3600


@pytest.fixture(autouse=True)
def search_index_left_alone(monkeypatch):
    """The coaches' search index is not money (as in test_stripe_scenario)."""
    from coaches.services import search_index

    monkeypatch.setattr(search_index, "availability_index_refresh_later", lambda **kwargs: None)


@dataclass
class Client:
    name: str
    clock: str
    plan_subscription: PlanSubscription
    start: int
    # the moments this client's clock stops at, and what the client does there
    actions: dict[int, str] = field(default_factory=dict)
    # intervals between the stops of the clock (an advance goes two at most)
    step: int = 2


def _set_card(plan_subscription: PlanSubscription, test_card: str) -> None:
    """The client's card for renewals becomes ``test_card`` (as in Stripe's portal)."""
    client = stripe_client()
    customer_id = plan_subscription.client.stripe_customer.stripe_customer_id
    method = client.v1.payment_methods.attach(test_card, params={"customer": customer_id})
    client.v1.subscriptions.update(
        plan_subscription.subscription.stripe_subscription_id,
        params={"default_payment_method": method.id},
    )


def _stops(client: Client, interval: str) -> list[int]:
    """The moments a client's clock stops at: just before every ``step``-th renewal, and at
    each action."""
    regular = []
    count = client.step
    while (moment := billing.add_interval(client.start, interval, count) - 3600) < YEAR_END:
        regular.append(moment)
        count += client.step
    return sorted({*regular, *client.actions, YEAR_END})


def _night(until: int) -> ReconciliationRun:
    return reconciliation.reconciliation_run(until=datetime.fromtimestamp(until, tz=UTC))


# The deliveries' order and duplicates are drawn from a seed: `make test` runs the first;
# PLAN_YEAR_SEEDS=5 runs five.
SEEDS = range(int(os.environ.get("PLAN_YEAR_SEEDS", "1")))


@pytest.mark.parametrize("seed", SEEDS)
def test_a_year_of_plans_leaves_the_books_equal_to_stripe(
    seed, sandbox, settings, django_capture_on_commit_callbacks, mailoutbox
):
    capture = django_capture_on_commit_callbacks
    # given: both endpoints enabled for the events the product handles, as in production
    controls.reset()
    scenario.register_endpoints(settings)
    with capture(execute=True):
        ana, ana_type = stripe_coach()
        ben, ben_type = stripe_coach()
    rollover = plan_of(
        ana, ana_type, name="Rollover focus", rollover=True, rollover_cap=2, price=ROLLOVER
    )
    intensive = plan_of(ana, ana_type, name="Intensive", sessions_per_period=8, price=INTENSIVE)
    weekly = plan_of(
        ben, ben_type, name="Weekly check-in", interval="week", sessions_per_period=2, price=WEEKLY
    )
    controls.set_delivery_chaos(shuffled=True, duplicate_percent=20, seed=seed)
    clients: dict[str, Client] = {}
    for name, plan, start in (
        ("chloe", rollover, START),
        ("dan", intensive, START),
        ("eve", weekly, EVE_JOINS_AT),
        ("finn", rollover, START),
    ):
        user, clock = plan_setup.clock_client(frozen_time=start)
        plan_subscription = plan_setup.subscribe_and_pay(user, plan, capture)
        clients[name] = Client(name, clock, plan_subscription, start)
    clients["chloe"].actions = {UPGRADE_AT: "switch to the intensive plan"}
    clients["dan"].actions = {
        REFUND_AT: "staff refund a quarter of the second month",
        DAN_CARD_FAILS_AT: "card fails",
        DAN_CARD_REPLACED_AT: "card replaced",
        DAN_CANCELS_AT: "cancel",
        DAN_RESUMES_AT: "resume",
    }
    clients["eve"].actions = {EVE_PAUSES_AT: "pause", EVE_RESUMES_AT: "resume"}
    clients["finn"].actions = {FINN_CANCELS_AT: "cancel"}
    staff = UserFactory(is_staff=True)
    timeline = sorted(
        (moment, name)
        for name, client in clients.items()
        for moment in _stops(client, client.plan_subscription.plan.interval)
    )

    # when: the year goes by, each clock stopping at its moments
    for moment, name in timeline:
        client = clients[name]
        plan_subscription = client.plan_subscription
        plan_subscription.refresh_from_db()
        if plan_subscription.status == PlanSubscriptionStatus.ENDED:
            continue
        plan_setup.advance(client.clock, moment, capture)
        plan_subscription.refresh_from_db()
        plan_subscription.subscription.refresh_from_db()
        action = client.actions.get(moment)
        user = plan_subscription.client
        with capture(execute=True):
            if action == "switch to the intensive plan":
                plans.plan_change(plan_subscription=plan_subscription, to_plan=intensive, by=user)
            elif action == "staff refund a quarter of the second month":
                second_month = Payment.objects.filter(
                    invoice__subscription=plan_subscription.subscription
                ).order_by("pk")[1]
                refunds.refund_by_staff(payment=second_month, amount=REFUNDED, by=staff)
            elif action == "card fails":
                _set_card(plan_subscription, "pm_card_chargeCustomerFail")
            elif action == "card replaced":
                # the renewal was declined: the plan cannot be booked until it is paid
                assert plan_subscription.status == PlanSubscriptionStatus.PAST_DUE
                _set_card(plan_subscription, "pm_card_visa")
            elif action == "cancel":
                plans.plan_cancel(plan_subscription=plan_subscription, by=user)
            elif action == "resume":
                plans.plan_resume(plan_subscription=plan_subscription, by=user)
            elif action == "pause":
                plans.plan_pause(plan_subscription=plan_subscription, by=user)
        plan_setup.deliver(capture)
        if action in ("cancel", "pause"):
            plan_subscription.refresh_from_db()
            plan_subscription.subscription.refresh_from_db()
            assert plan_subscription.subscription.cancel_at_period_end == (action == "cancel")
            assert (plan_subscription.status == PlanSubscriptionStatus.PAUSED) == (
                action == "pause"
            )
    controls.set_delivery_chaos(shuffled=False)
    # deliveries were duplicated, and the duplicates changed nothing (below)
    assert WebhookDelivery.objects.filter(attempts__gt=1).count() > 50

    # then: each plan where the script left it
    subs = {name: client.plan_subscription for name, client in clients.items()}
    for plan_subscription in subs.values():
        plan_subscription.refresh_from_db()
    assert {name: s.status for name, s in subs.items()} == {
        "chloe": PlanSubscriptionStatus.ACTIVE,
        "dan": PlanSubscriptionStatus.ACTIVE,
        "eve": PlanSubscriptionStatus.ACTIVE,
        "finn": PlanSubscriptionStatus.ENDED,
    }
    assert subs["chloe"].plan == intensive
    assert not subs["dan"].subscription.cancel_at_period_end
    assert subs["eve"].subscription.pause_collection == ""

    # the invoices: one a period (and Chloe's proration), Eve's paused weeks void
    invoices = {
        name: list(Invoice.objects.filter(subscription=s.subscription).order_by("issued_at", "pk"))
        for name, s in subs.items()
    }
    paid_totals = {
        name: [i.total for i in rows if i.status == InvoiceStatus.PAID]
        for name, rows in invoices.items()
    }
    eve_weeks = (YEAR_END - EVE_JOINS_AT) // WEEK + 1  # her first week and each renewal
    period_start, period_end = _month(2), _month(3)
    share = (period_end - UPGRADE_AT) / (period_end - period_start)
    proration = round(INTENSIVE * share) - round(ROLLOVER * share)
    assert paid_totals == {
        "chloe": [ROLLOVER] * 3 + [proration] + [INTENSIVE] * 9,
        "dan": [INTENSIVE] * 12,
        "eve": [WEEKLY] * (eve_weeks - 3),
        "finn": [ROLLOVER] * 8,
    }
    assert [i.billing_reason for i in invoices["chloe"]][3] == "subscription_update"
    assert [i.status for i in invoices["eve"]].count(InvoiceStatus.VOID) == 3
    assert [i.total for i in invoices["eve"] if i.status == InvoiceStatus.VOID] == [WEEKLY] * 3
    # Dan's fifth month: declined once, paid by Stripe's retry; one e-mail for the decline
    assert [i.attempt_count for i in invoices["dan"]] == [1] * 4 + [2] + [1] * 7
    assert len([m for m in mailoutbox if "Payment failed: Intensive" in m.subject]) == 1

    # Invoice rows equal Stripe's invoices
    def figures(invoice) -> tuple:
        return (
            invoice.status,
            invoice.billing_reason,
            invoice.total,
            invoice.amount_due,
            invoice.amount_paid,
            invoice.amount_remaining,
            invoice.application_fee_amount or 0,
            invoice.attempt_count,
        )

    theirs = {}
    for plan_subscription in subs.values():
        customer_id = plan_subscription.subscription.stripe_customer_id
        page = stripe_client().v1.invoices.list(params={"customer": customer_id, "limit": 100})
        theirs.update({invoice.id: figures(invoice) for invoice in page.auto_paging_iter()})
    ours = {invoice.stripe_invoice_id: figures(invoice) for invoice in Invoice.objects.all()}
    assert ours == theirs
    paid_count = 13 + 12 + (eve_weeks - 3) + 8
    assert Counter(status for status, *_ in ours.values()) == {"paid": paid_count, "void": 3}

    # one Payment per paid invoice, with Stripe's fee of the invoice; one credit each
    paid = Invoice.objects.filter(status=InvoiceStatus.PAID)
    assert Payment.objects.filter(kind=PaymentKind.PLAN).count() == paid.count() == paid_count
    assert not paid.filter(payment=None).exists()
    for invoice in paid.select_related("payment"):
        payment = invoice.payment
        fee = round_half_up_div(invoice.total * FEE_PERCENT, 100)
        assert (payment.amount, payment.application_fee) == (invoice.total, fee), invoice.number
        assert payment.coach_amount == invoice.total - fee
        assert payment.stripe_charge_id and payment.stripe_transfer_id
        assert payment.stripe_application_fee_id
    assert PlanCredit.objects.count() == paid_count
    assert set(PlanCredit.objects.values_list("stripe_invoice_id", flat=True)) == set(
        paid.values_list("stripe_invoice_id", flat=True)
    )

    # the refund: a quarter of the charge, the coach's transfer reversed by as much, a
    # quarter of the platform's fee given back to the coach (a staff refund)
    refund = Refund.objects.get()
    assert refund.status == RefundStatus.SUCCEEDED
    assert refund.amount == refund.transfer_reversal_amount == REFUNDED
    assert refund.application_fee_refund_amount == round_half_up_div(
        INTENSIVE * FEE_PERCENT, 100 * 4
    )
    assert refund.payment.status == PaymentStatus.PARTIALLY_REFUNDED
    assert refund.payment.invoice.subscription_id == subs["dan"].subscription_id

    # the books equal Stripe's balance transactions, for the platform and each coach
    platform = scenario.stripe_balance_transactions()
    assert scenario.by_type(platform) == scenario.platform_by_type_from_our_rows()
    coach_transactions = 0
    for coach in (ana, ben):
        account_id = coach.user.connected_account.stripe_account_id
        theirs_of_coach = scenario.stripe_balance_transactions(account_id)
        coach_transactions += len(theirs_of_coach)
        assert scenario.by_type(theirs_of_coach) == scenario.coach_by_type_from_our_rows(
            account_id
        ), account_id

    # and the nightly reconciliation finds nothing: the night after (the sandbox clock's
    # time: the refund, and the first invoices made at the clocks' start), then the night
    # after the clocks' year
    first = _night(controls.advance_clock(1))
    last = _night(max(YEAR_END, controls.advance_clock(1)) + 1)
    for night in (first, last):
        assert list(night.discrepancies.values_list("message", flat=True)) == []
        assert night.outcome == ReconciliationRun.Outcome.CLEAN
        assert night.transactions_checked > 0
    # every balance transaction was checked, once
    assert first.transactions_checked + last.transactions_checked == (
        len(platform) + coach_transactions
    )
