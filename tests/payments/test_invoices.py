"""Invoices on the local Stripe, through the real library and the real coaching-plan purpose:
Stripe's copy of a plan's invoices, the Payment a paid one's charge makes (once, whatever
the order or repetition of Stripe's events), failed attempts told once each, void and
uncollectible periods, a 0-amount invoice, a one-off payment's receipt, the reminder before
a renewal, paying now, and a plan payment's refund reconciling with Stripe."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime

import pytest
from django.core import mail
from django.db import connection
from django.urls import reverse

from bookings.models import PlanCredit, PlanSubscription
from bookings.services import plans
from marketplace.dates import format_when
from marketplace.errors import Conflict, DomainError, NotFound
from payments import gateway, selectors
from payments.gateway import stripe_client
from payments.gateway.checkout import checkout_session_params
from payments.handlers import RetryLater
from payments.models import (
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentKind,
    PaymentStatus,
    ReconciliationRun,
    WebhookEvent,
    WebhookEventStatus,
)
from payments.sandbox import billing as sandbox_billing
from payments.sandbox import controls
from payments.services import charges, invoices, reconciliation, refunds
from tests.bookings import plan_setup
from tests.bookings.conftest import stripe_coach
from tests.bookings.plan_setup import DAY, START, plan_of
from tests.bookings.services.test_checkout import URLS as CHECKOUT_URLS
from tests.bookings.services.test_checkout import book as book_session
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

RENEWAL = sandbox_billing.add_interval(START, "month", 1)
INVOICE_EVENTS = (
    "invoice.created",
    "invoice.finalized",
    "invoice.paid",
    "invoice.payment_succeeded",
    "invoice.payment_failed",
    "invoice.voided",
    "invoice.marked_uncollectible",
)


@pytest.fixture
def plan(stripe_local, settings, django_capture_on_commit_callbacks):
    """A coach's monthly plan (4 sessions, $400.00) on the local Stripe, the platform keeping
    12.5%."""
    settings.PLATFORM_FEE_BPS = 1250
    with django_capture_on_commit_callbacks(execute=True):
        coach, session_type = stripe_coach()
    return plan_of(coach, session_type)


def _subscribed(plan, capture, *, card: str = "pm_card_visa") -> PlanSubscription:
    user, _clock = plan_setup.clock_client(card=card)
    return plan_setup.subscribe_and_pay(user, plan, capture)


def _clock_of(plan_subscription: PlanSubscription) -> str:
    customer = stripe_client().v1.customers.retrieve(
        plan_subscription.subscription.stripe_customer_id
    )
    return str(customer.test_clock)


def _attach(plan_subscription: PlanSubscription, test_card: str) -> str:
    client = stripe_client()
    subscription = plan_subscription.subscription
    card = client.v1.payment_methods.attach(
        test_card, params={"customer": subscription.stripe_customer_id}
    )
    return card.id


def _renew_with(plan_subscription: PlanSubscription, test_card: str) -> None:
    """The subscription's card becomes ``test_card`` (Stripe charges renewals to it)."""
    stripe_client().v1.subscriptions.update(
        plan_subscription.subscription.stripe_subscription_id,
        params={"default_payment_method": _attach(plan_subscription, test_card)},
    )


def _advance(clock_id: str, to: int) -> None:
    stripe_client().v1.test_helpers.test_clocks.advance(clock_id, params={"frozen_time": to})


def _latest_invoice_id(plan_subscription: PlanSubscription) -> str:
    return (
        stripe_client()
        .v1.subscriptions.retrieve(plan_subscription.subscription.stripe_subscription_id)
        .latest_invoice
    )


def _events_about(invoice_id: str) -> list[dict]:
    """The pending events of one invoice: its own, and its PaymentIntents' and charges'."""
    client = stripe_client()
    invoice = client.v1.invoices.retrieve(invoice_id, params={"expand": ["payments"]})
    intents = {p.payment.payment_intent for p in invoice.payments.data}
    about = []
    for event in controls.pending_events():
        obj = event["data"]["object"]
        kind = event["type"]
        if (
            (kind in INVOICE_EVENTS and obj["id"] == invoice_id)
            or (kind.startswith("payment_intent.") and obj["id"] in intents)
            or (kind == "charge.succeeded" and obj["payment_intent"] in intents)
        ):
            about.append(event)
    return about


def _process(capture) -> None:
    """What the inbox received, processed (the dispatcher's work, eager)."""
    for _ in range(5):
        waiting = list(
            WebhookEvent.objects.filter(
                status__in=[WebhookEventStatus.RECEIVED, WebhookEventStatus.RETRYING]
            ).values_list("pk", flat=True)
        )
        if not waiting:
            return
        from payments.services import webhooks

        for event_id in waiting:
            with capture(execute=True):
                webhooks.webhook_event_process(event_id=event_id)


def _deliver(order: list[str], capture) -> None:
    with capture(execute=True):
        controls.deliver_pending_events(order=order)
    _process(capture)


def _forget(stripe_invoice_id: str, event_ids: list[str]) -> None:
    """Our side of one invoice as if none of its events had arrived yet."""
    invoice = Invoice.objects.filter(stripe_invoice_id=stripe_invoice_id).first()
    if invoice is not None:
        payment_id = invoice.payment_id
        invoice.delete()
        Payment.objects.filter(pk=payment_id).delete()
    PlanCredit.objects.filter(stripe_invoice_id=stripe_invoice_id).delete()
    WebhookEvent.objects.filter(stripe_event_id__in=event_ids).delete()


def _orders(event_ids: list[str], seed: int = 5) -> list[list[str]]:
    """Stripe's order, the reverse, every rotation, and shuffles with repeats."""
    rng = random.Random(seed)
    orders = [list(event_ids), list(reversed(event_ids))]
    orders += [event_ids[n:] + event_ids[:n] for n in range(1, len(event_ids))]
    for _ in range(4):
        shuffled = event_ids + rng.sample(event_ids, k=min(3, len(event_ids)))
        rng.shuffle(shuffled)
        orders.append(shuffled)
    return orders


def _failed_mails() -> list:
    return [m for m in mail.outbox if m.subject.endswith("Payment failed: Monthly focus")]


# --- a paid invoice -------------------------------------------------------------------------


def test_the_first_invoice_is_recorded_with_the_payment_its_charge_made(
    plan, django_capture_on_commit_callbacks
):
    # when: a client subscribes on Checkout and Stripe's events arrive
    plan_subscription = _subscribed(plan, django_capture_on_commit_callbacks)

    # then: Stripe's copy of the invoice, on the subscription, the client's and the coach's
    subscription = plan_subscription.subscription
    invoice = Invoice.objects.get(subscription=subscription)
    stripe_invoice = stripe_client().v1.invoices.retrieve(invoice.stripe_invoice_id)
    assert invoice.status == InvoiceStatus.PAID
    assert (invoice.customer_user, invoice.payee) == (plan_subscription.client, plan.coach.user)
    assert invoice.number == stripe_invoice.number and invoice.number
    assert invoice.hosted_invoice_url == stripe_invoice.hosted_invoice_url
    assert invoice.invoice_pdf == stripe_invoice.invoice_pdf
    assert (invoice.total, invoice.amount_paid, invoice.application_fee_amount) == (
        40000,
        40000,
        5000,
    )
    assert invoice.billing_reason == "subscription_create"
    # the period it pays for is the month its line bills (not Stripe's empty invoice period)
    assert (invoice.period_start, invoice.period_end) == (
        datetime.fromtimestamp(START, tz=UTC),
        datetime.fromtimestamp(RENEWAL, tz=UTC),
    )
    assert invoice.lines == [
        {
            "description": stripe_invoice.lines.data[0].description,
            "amount": 40000,
            "period_start": START,
            "period_end": RENEWAL,
            "proration": False,
        }
    ]
    assert invoice.paid_at is not None and invoice.issued_at is not None
    # and the Payment: a destination charge to the coach, the platform's fee kept
    payment = invoice.payment
    assert payment.kind == PaymentKind.PLAN and payment.status == PaymentStatus.SUCCEEDED
    assert (payment.client, payment.coach) == (plan_subscription.client, plan.coach.user)
    assert (payment.amount, payment.application_fee, payment.coach_amount) == (40000, 5000, 35000)
    account_id = plan.coach.user.connected_account.stripe_account_id
    assert payment.destination_account_id == account_id and payment.is_destination_charge
    intent = gateway.payment_intent_retrieve(payment.stripe_payment_intent_id)
    assert (payment.stripe_charge_id, payment.stripe_transfer_id) == (
        intent.charge_id,
        intent.transfer_id,
    )
    assert payment.stripe_application_fee_id == intent.application_fee_id
    assert all([intent.charge_id, intent.transfer_id, intent.application_fee_id])
    # the plan granted the month, once; no event of the checkout is left waiting
    assert PlanCredit.objects.get(stripe_invoice_id=invoice.stripe_invoice_id).sessions == 4
    assert not WebhookEvent.objects.exclude(
        status__in=[WebhookEventStatus.SUCCEEDED, WebhookEventStatus.IGNORED]
    ).exists()

    # when: synced again, and again
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            again = invoices.invoice_sync(stripe_invoice_id=invoice.stripe_invoice_id)
    # then: nothing more
    assert again == invoice
    assert Payment.objects.filter(kind=PaymentKind.PLAN).count() == 1
    assert PlanCredit.objects.filter(plan_subscription=plan_subscription).count() == 1


def test_every_order_and_repetition_of_a_renewals_events_has_one_effect(
    plan, django_capture_on_commit_callbacks
):
    # given: the renewal fails on a card that cannot be charged, then the client pays it
    capture = django_capture_on_commit_callbacks
    plan_subscription = _subscribed(plan, capture)
    visa = _attach(plan_subscription, "pm_card_visa")
    _renew_with(plan_subscription, "pm_card_chargeCustomerFail")
    controls.pause_deliveries()
    _advance(_clock_of(plan_subscription), RENEWAL)
    renewal_id = _latest_invoice_id(plan_subscription)
    stripe_client().v1.invoices.pay(renewal_id, params={"payment_method": visa})
    about = [event["id"] for event in _events_about(renewal_id)]
    types = {event["type"] for event in _events_about(renewal_id)}
    assert {"invoice.created", "invoice.finalized", "invoice.payment_failed"} <= types
    assert {"invoice.paid", "invoice.payment_succeeded", "payment_intent.succeeded"} <= types
    # (the subscription's own events first: past due, then active again)
    others = [e["id"] for e in controls.pending_events() if e["id"] not in about]
    _deliver(others, capture)
    mail.outbox.clear()

    for order in _orders(about):
        _forget(renewal_id, about)
        # when: the renewal's events arrive in this order
        _deliver(order, capture)

        # then: Stripe's state now, one Payment, one month granted, no failure told
        invoice = Invoice.objects.get(stripe_invoice_id=renewal_id)
        assert (invoice.status, invoice.attempt_count) == (InvoiceStatus.PAID, 2), order
        assert invoice.billing_reason == "subscription_cycle"
        payments = Payment.objects.filter(invoice__stripe_invoice_id=renewal_id)
        assert [(p.amount, p.application_fee, p.status) for p in payments] == [
            (40000, 5000, PaymentStatus.SUCCEEDED)
        ], order
        assert Payment.objects.filter(kind=PaymentKind.PLAN).count() == 2  # with the first
        credit = PlanCredit.objects.get(stripe_invoice_id=renewal_id)
        assert credit.period_start == datetime.fromtimestamp(RENEWAL, tz=UTC)
        assert _failed_mails() == [], order  # paid by the time we looked: nothing to tell
        assert set(
            WebhookEvent.objects.filter(stripe_event_id__in=about).values_list("status", flat=True)
        ) == {WebhookEventStatus.SUCCEEDED}, order


def test_each_failed_attempt_is_told_once_however_often_its_events_arrive(
    plan, django_capture_on_commit_callbacks
):
    # given: a renewal on a card that fails every charge
    capture = django_capture_on_commit_callbacks
    plan_subscription = _subscribed(plan, capture)
    _renew_with(plan_subscription, "pm_card_chargeCustomerFail")
    controls.pause_deliveries()
    clock = _clock_of(plan_subscription)
    mail.outbox.clear()
    renewal_id = ""
    for attempt, moment in enumerate(
        [RENEWAL, RENEWAL + sandbox_billing.RETRY_DAYS[0] * DAY], start=1
    ):
        # when: Stripe tries the card, and the attempt's events arrive three times over
        _advance(clock, moment)
        renewal_id = _latest_invoice_id(plan_subscription)
        about = [event["id"] for event in _events_about(renewal_id)]
        _deliver(about * 3, capture)
        others = [e["id"] for e in controls.pending_events()]
        _deliver(others, capture)

        # then: the attempt is recorded and the client told once
        invoice = Invoice.objects.get(stripe_invoice_id=renewal_id)
        assert (invoice.status, invoice.attempt_count) == (InvoiceStatus.OPEN, attempt)
        assert invoice.next_payment_attempt == datetime.fromtimestamp(
            RENEWAL + sandbox_billing.RETRY_DAYS[attempt - 1] * DAY, tz=UTC
        )
        assert len(_failed_mails()) == attempt
        assert invoice.hosted_invoice_url in _failed_mails()[-1].body
    # nothing was charged: no Payment, no month granted
    assert not Payment.objects.filter(invoice__stripe_invoice_id=renewal_id).exists()
    assert not PlanCredit.objects.filter(stripe_invoice_id=renewal_id).exists()
    plan_subscription.refresh_from_db()
    assert plan_subscription.status == "past_due"


@pytest.mark.parametrize(
    ("behavior", "final", "closing_event"),
    [
        ("void", InvoiceStatus.VOID, "invoice.voided"),
        ("mark_uncollectible", InvoiceStatus.UNCOLLECTIBLE, "invoice.marked_uncollectible"),
    ],
)
def test_a_paused_periods_invoice_ends_void_or_uncollectible_in_any_order(
    plan, django_capture_on_commit_callbacks, behavior, final, closing_event
):
    # given: collection paused, then the period renews
    capture = django_capture_on_commit_callbacks
    plan_subscription = _subscribed(plan, capture)
    stripe_client().v1.subscriptions.update(
        plan_subscription.subscription.stripe_subscription_id,
        params={"pause_collection": {"behavior": behavior}},
    )
    controls.pause_deliveries()
    _advance(_clock_of(plan_subscription), RENEWAL)
    renewal_id = _latest_invoice_id(plan_subscription)
    events = _events_about(renewal_id)
    assert [e["type"] for e in events] == ["invoice.created", "invoice.finalized", closing_event]
    about = [e["id"] for e in events]
    _deliver([e["id"] for e in controls.pending_events() if e["id"] not in about], capture)

    for order in _orders(about):
        _forget(renewal_id, about)
        _deliver(order, capture)
        invoice = Invoice.objects.get(stripe_invoice_id=renewal_id)
        assert invoice.status == final, order
        assert invoice.payment is None and invoice.amount_paid == 0
        assert not PlanCredit.objects.filter(stripe_invoice_id=renewal_id).exists()


def test_an_older_answer_never_moves_an_invoice_back(plan, django_capture_on_commit_callbacks):
    # given: Stripe's copy of a failed renewal, read while it was open
    capture = django_capture_on_commit_callbacks
    plan_subscription = _subscribed(plan, capture)
    visa = _attach(plan_subscription, "pm_card_visa")
    _renew_with(plan_subscription, "pm_card_chargeCustomerFail")
    plan_setup.advance(_clock_of(plan_subscription), RENEWAL, capture)
    renewal_id = _latest_invoice_id(plan_subscription)
    when_open = gateway.invoice_retrieve(renewal_id)
    assert when_open.status == "open"
    # and then paid, and recorded
    stripe_client().v1.invoices.pay(renewal_id, params={"payment_method": visa})
    plan_setup.deliver(capture)
    paid = Invoice.objects.get(stripe_invoice_id=renewal_id)
    assert paid.status == InvoiceStatus.PAID

    # when: the old answer is recorded late (a slow worker)
    with capture(execute=True):
        kept = invoices.invoice_record(snapshot=when_open)

    # then: nothing moved back
    kept.refresh_from_db()
    assert (kept.status, kept.amount_paid, kept.payment_id) == (
        InvoiceStatus.PAID,
        40000,
        paid.payment_id,
    )


def test_an_invoice_a_credit_covers_makes_no_payment(plan, django_capture_on_commit_callbacks):
    # given: a client on the plan, and a cheaper plan of the same coach
    capture = django_capture_on_commit_callbacks
    plan_subscription = _subscribed(plan, capture)
    cheaper = plan_of(plan.coach, plan.session_type, name="Light", price=10000)
    _advance(_clock_of(plan_subscription), START + 10 * DAY)

    # when: the client switches: the unused time credited covers the rest of the period
    with capture(execute=True):
        plans.plan_change(
            plan_subscription=plan_subscription, to_plan=cheaper, by=plan_subscription.client
        )
    plan_setup.deliver(capture)

    # then: the 0-amount invoice is recorded paid, with no Payment
    invoice = Invoice.objects.get(billing_reason="subscription_update")
    assert invoice.status == InvoiceStatus.PAID and invoice.total < 0
    assert (invoice.amount_due, invoice.amount_paid, invoice.payment) == (0, 0, None)
    assert Payment.objects.filter(kind=PaymentKind.PLAN).count() == 1  # the first invoice's


# --- not ours, not yet ours ------------------------------------------------------------------


def test_an_invoice_of_a_subscription_made_elsewhere_is_not_ours(stripe_local):
    client = stripe_client()
    customer = client.v1.customers.create(params={"email": "maya@example.test"})
    card = client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    price = client.v1.prices.create(
        params={
            "currency": "usd",
            "unit_amount": 2000,
            "recurring": {"interval": "month"},
            "product_data": {"name": "Elsewhere"},
        }
    )
    subscription = client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": price.id}],
            "default_payment_method": card.id,
        }
    )
    assert invoices.invoice_sync(stripe_invoice_id=subscription.latest_invoice) is None
    assert not Invoice.objects.exists() and not Payment.objects.exists()
    assert invoices.invoice_sync(stripe_invoice_id="in_gone") is None


def test_an_invoice_of_ours_whose_subscription_is_unknown_yet_is_retried(stripe_local):
    client = stripe_client()
    customer = client.v1.customers.create(params={"email": "maya@example.test"})
    card = client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    price = client.v1.prices.create(
        params={
            "currency": "usd",
            "unit_amount": 2000,
            "recurring": {"interval": "month"},
            "product_data": {"name": "Ours, not recorded yet"},
        }
    )
    # metadata names a row of ours that does not exist (yet)
    subscription = client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": price.id}],
            "default_payment_method": card.id,
            "metadata": {"subscription_id": "987654"},
        }
    )
    with pytest.raises(RetryLater):
        invoices.invoice_sync(stripe_invoice_id=subscription.latest_invoice)
    assert not Invoice.objects.exists()


def test_a_customers_invoices_are_listed_newest_first(plan, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    plan_subscription = _subscribed(plan, capture)
    plan_setup.advance(_clock_of(plan_subscription), RENEWAL, capture)
    listed = gateway.invoices_list(customer_id=plan_subscription.subscription.stripe_customer_id)
    assert [i.billing_reason for i in listed] == ["subscription_cycle", "subscription_create"]
    assert all(i.status == "paid" and i.amount_paid == 40000 for i in listed)
    assert {i.subscription_id for i in listed} == {
        plan_subscription.subscription.stripe_subscription_id
    }
    # (a list carries no payments: the PaymentIntent is read with one invoice)
    assert {i.payment for i in listed} == {None}
    assert (
        gateway.invoices_list(
            customer_id=plan_subscription.subscription.stripe_customer_id, limit=1
        )[0].id
        == listed[0].id
    )


# --- paying now -------------------------------------------------------------------------


def test_paying_now_declined_then_with_a_good_card(plan, django_capture_on_commit_callbacks):
    # given: a renewal that failed and waits for payment
    capture = django_capture_on_commit_callbacks
    plan_subscription = _subscribed(plan, capture)
    _renew_with(plan_subscription, "pm_card_chargeCustomerFail")
    plan_setup.advance(_clock_of(plan_subscription), RENEWAL, capture)
    invoice = Invoice.objects.get(stripe_invoice_id=_latest_invoice_id(plan_subscription))
    assert (invoice.status, invoice.attempt_count) == (InvoiceStatus.OPEN, 1)

    # when: someone else tries to pay it
    with pytest.raises(NotFound):
        invoices.invoice_pay_now(invoice=invoice, by=UserFactory())

    # when: the client pays now with the same failing card
    with pytest.raises(DomainError) as declined, capture(execute=True):
        invoices.invoice_pay_now(invoice=invoice, by=plan_subscription.client)
    assert (declined.value.code, declined.value.status_code) == ("card_declined", 402)
    invoice.refresh_from_db()
    assert invoice.attempt_count == 2 and invoice.status == InvoiceStatus.OPEN

    # when: the subscription's card is a good one again, and the client pays now
    _renew_with(plan_subscription, "pm_card_visa")
    with capture(execute=True):
        paid = invoices.invoice_pay_now(invoice=invoice, by=plan_subscription.client)
    assert paid.status == InvoiceStatus.PAID and paid.payment.amount == 40000
    assert PlanCredit.objects.filter(stripe_invoice_id=paid.stripe_invoice_id).count() == 1

    # then: a paid invoice is not paid again
    with pytest.raises(Conflict):
        invoices.invoice_pay_now(invoice=paid, by=plan_subscription.client)


# --- refunds and reconciliation -------------------------------------------------------------


def test_a_plan_payment_refunded_reconciles_with_stripe(
    plan, django_capture_on_commit_callbacks, settings
):
    # given: a client on no test clock (Stripe's ledger on the sandbox clock), paid
    capture = django_capture_on_commit_callbacks
    client = UserFactory()
    plan_subscription = plan_setup.subscribe_and_pay(client, plan, capture)
    payment = Invoice.objects.get(subscription=plan_subscription.subscription).payment
    staff = UserFactory(is_staff=True)
    # the platform's books count the plan's fee as its own
    ledger = selectors.money_ledger()["usd"]
    assert (ledger["charged"], ledger["fees"], ledger["net"]) == (40000, 5000, 5000)

    # when: staff refund part of it, then the rest (the fee comes back in proportion)
    with capture(execute=True):
        refunds.refund_by_staff(payment=payment, amount=10000, by=staff)
    with capture(execute=True):
        refunds.refund_by_staff(payment=payment, amount=None, by=staff)
    plan_setup.deliver(capture)

    # then: the coach's transfer and the platform's fee came back
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REFUNDED and payment.refunded_amount == 40000
    made = list(payment.refunds.order_by("pk"))
    assert [r.status for r in made] == ["succeeded", "succeeded"]
    assert sum(r.transfer_reversal_amount for r in made) == 40000
    assert sum(r.application_fee_refund_amount for r in made) == 5000
    ledger = selectors.money_ledger()["usd"]
    assert (ledger["refunded"], ledger["fee_refunds"], ledger["net"]) == (40000, 5000, 0)

    # when: the nightly reconciliation runs
    run = reconciliation.reconciliation_run(
        until=datetime.fromtimestamp(controls.advance_clock(1), tz=UTC)
    )

    # then: every balance transaction is explained by our rows
    assert list(run.discrepancies.values_list("message", flat=True)) == []
    assert run.outcome == ReconciliationRun.Outcome.CLEAN
    assert run.transactions_checked >= 10


# --- the reminder before a renewal ----------------------------------------------------------


def _upcoming_mails() -> list:
    return [m for m in mail.outbox if "renews soon" in m.subject]


def test_the_payer_is_reminded_of_a_renewal_once(plan, django_capture_on_commit_callbacks):
    # given: a client on the plan, a week before the renewal
    capture = django_capture_on_commit_callbacks
    plan_subscription = _subscribed(plan, capture)
    client_user = plan_subscription.client
    mail.outbox.clear()

    # when: Stripe says what is coming, and says it again
    plan_setup.advance(_clock_of(plan_subscription), RENEWAL - 7 * DAY + 3600, capture)
    (event,) = controls.events_of_type("invoice.upcoming")
    _deliver([event["id"], event["id"]], capture)
    with capture(execute=True):
        again = invoices.invoice_upcoming_remind(preview=event["data"]["object"])

    # then: one e-mail to the payer: what, how much, when, and where to manage it
    assert again is False
    (reminder,) = _upcoming_mails()
    assert reminder.to == [client_user.email]
    coach_name = plan.coach.user.display_name
    assert reminder.subject.endswith(f"Your coaching plan with {coach_name} renews soon: $400.00")
    renews_at = format_when(datetime.fromtimestamp(RENEWAL, tz=UTC), client_user.time_zone)
    assert f"renews on {renews_at}: $400.00 will be charged" in reminder.body
    assert f"http://testserver{reverse('bookings:billing')}" in reminder.body


def test_a_renewal_that_will_not_happen_is_not_reminded(plan, django_capture_on_commit_callbacks):
    # given: Stripe's reminder is on its way when the client cancels at the period's end
    capture = django_capture_on_commit_callbacks
    plan_subscription = _subscribed(plan, capture)
    controls.pause_deliveries()
    _advance(_clock_of(plan_subscription), RENEWAL - 7 * DAY + 3600)
    with capture(execute=True):
        plans.plan_cancel(plan_subscription=plan_subscription, by=plan_subscription.client)
    mail.outbox.clear()

    # when: it arrives
    _deliver([e["id"] for e in controls.events_of_type("invoice.upcoming")], capture)

    # then: nothing is said of a renewal that will not be charged
    assert _upcoming_mails() == []


# --- a one-off payment's receipt ----------------------------------------------------------


def _session_with_receipt(payment, *, metadata: dict[str, str] | None = None) -> str:
    """The payment's Checkout Session as the product makes it, with Stripe's receipt invoice
    (``invoice_creation``); the payment now points at it."""
    request = charges.checkout_request(payment=payment, product_name="Coaching", urls=CHECKOUT_URLS)
    params = checkout_session_params(**request.fields(None))
    params["invoice_creation"] = {"enabled": True, "invoice_data": {"metadata": metadata or {}}}
    session = stripe_client().v1.checkout.sessions.create(params=params)
    Payment.objects.filter(pk=payment.pk).update(stripe_checkout_session_id=session.id)
    return session.id


def test_a_one_off_payments_invoice_is_linked_to_it_in_any_order(
    stripe_local, django_capture_on_commit_callbacks
):
    # given: a booking paid on Checkout with a receipt invoice
    capture = django_capture_on_commit_callbacks
    with capture(execute=True):
        coach, session_type = stripe_coach()
        booking, payment = book_session(UserFactory(), session_type)
    session_id = _session_with_receipt(payment, metadata={"payment_id": str(payment.pk)})
    controls.pause_deliveries()
    done = controls.pay_checkout_session(session_id)
    receipt_events = [
        e["id"] for e in controls.pending_events() if e["type"].startswith("invoice.")
    ]
    assert receipt_events

    # when: the invoice's events arrive before the checkout's, then the rest
    _deliver(receipt_events, capture)
    _deliver([e["id"] for e in controls.pending_events()], capture)

    # then: the invoice is the payment's receipt, the client's to pay and the coach's
    invoice = Invoice.objects.get(stripe_invoice_id=done["invoice"])
    payment.refresh_from_db()
    booking.refresh_from_db()
    assert booking.status == "confirmed" and payment.status == PaymentStatus.SUCCEEDED
    assert invoice.payment == payment and invoice.subscription is None
    assert (invoice.customer_user, invoice.payee) == (payment.client, coach.user)
    assert (invoice.status, invoice.amount_paid, invoice.billing_reason) == (
        "paid",
        12000,
        "manual",
    )
    assert invoice.stripe_payment_intent_id == payment.stripe_payment_intent_id
    assert invoice.number and invoice.invoice_pdf
    # and nothing more on a second look
    with capture(execute=True):
        invoices.invoice_sync(stripe_invoice_id=invoice.stripe_invoice_id)
    assert Invoice.objects.filter(payment=payment).count() == 1
    assert Payment.objects.count() == 1


def test_a_receipt_of_a_payment_we_do_not_know_yet_is_retried(
    stripe_local, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _coach, session_type = stripe_coach()
        _booking, payment = book_session(UserFactory(), session_type)
    session_id = _session_with_receipt(payment)
    done = controls.pay_checkout_session(session_id)
    # our payment has not heard of its PaymentIntent yet (checkout.session.completed pending)
    with pytest.raises(RetryLater):
        invoices.invoice_sync(stripe_invoice_id=done["invoice"])
    assert not Invoice.objects.exists()


# --- a race -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_workers_recording_a_paid_invoice_at_once_make_one_payment(
    plan, django_capture_on_commit_callbacks
):
    # given: a paid invoice our side has not recorded yet
    plan_subscription = _subscribed(plan, django_capture_on_commit_callbacks)
    stripe_invoice_id = Invoice.objects.get(
        subscription=plan_subscription.subscription
    ).stripe_invoice_id
    _forget(stripe_invoice_id, [])
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def record() -> None:
        try:
            barrier.wait()
            invoices.invoice_sync(stripe_invoice_id=stripe_invoice_id)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    # when: two workers sync it at the same moment (its events delivered twice at once)
    workers = [threading.Thread(target=record) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    # then: one invoice, one Payment, one month granted
    assert errors == []
    invoice = Invoice.objects.get(stripe_invoice_id=stripe_invoice_id)
    assert invoice.status == InvoiceStatus.PAID and invoice.payment is not None
    assert Payment.objects.filter(kind=PaymentKind.PLAN).count() == 1
    assert PlanCredit.objects.filter(stripe_invoice_id=stripe_invoice_id).count() == 1
