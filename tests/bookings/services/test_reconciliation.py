"""The nightly reconciliation on a few bookings: clean after refunds (one failed), a lost
dispute's reversal and a payout; then exactly the discrepancy a test makes by hand; a run
that cannot reach Stripe is recorded failed and covered again by the next."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from bookings.services import cancellation
from payments import tasks
from payments.gateway import stripe_client
from payments.models import (
    ReconciliationDiscrepancy,
    ReconciliationRun,
    RefundStatus,
    StaffAlert,
)
from payments.services import reconciliation
from tests.bookings.factories import next_hour
from tests.bookings.services.test_checkout import book
from tests.factories import UserFactory
from tests.mfa import sign_in_with_totp

pytestmark = pytest.mark.django_db


def _stripe_now(sandbox) -> datetime:
    """A moment on Stripe's clock after every balance transaction so far and before any
    later one (the night's run ends here; the next starts here)."""
    return datetime.fromtimestamp(sandbox.advance_clock(1), tz=UTC)


_SLOTS = iter(range(1, 400))


def _paid(session_type, sandbox, capture, card="4242424242424242"):
    starts_at = next_hour(days=3) + timedelta(hours=next(_SLOTS) % 12)
    with capture(execute=True):
        booking, payment = book(UserFactory(), session_type, starts_at=starts_at)
        sandbox.pay_checkout_session(payment.stripe_checkout_session_id, card=card)
        sandbox.deliver_pending_events()
    payment.refresh_from_db()
    return booking, payment


def test_a_clean_night_then_exactly_the_discrepancy_made_by_hand(
    paid_coach, sandbox, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    _coach, session_type = paid_coach
    # given: a full refund, a late cancellation's partial one, a refund that fails later
    first, _ = _paid(session_type, sandbox, capture)
    second, second_payment = _paid(session_type, sandbox, capture)
    third, third_payment = _paid(session_type, sandbox, capture, card="4000000000005126")
    with capture(execute=True):
        cancellation.booking_cancel(booking=first, by=first.client)
        cancellation.booking_cancel(
            booking=second, by=second.client, now=second.starts_at.replace(hour=0)
        )
        cancellation.booking_cancel(booking=third, by=third.client)
        sandbox.deliver_pending_events()
    # and a lost dispute (its reversal), a refund that failed, and a payout to the coach
    _, disputed = _paid(session_type, sandbox, capture, card="4000000000000259")
    with capture(execute=True):
        sandbox.close_dispute(disputed.disputes.get().stripe_dispute_id, "lost")
        sandbox.settle_refunds()
        sandbox.advance_clock(4 * 86400)
        sandbox.deliver_pending_events()
    assert third_payment.refunds.get().status == RefundStatus.FAILED
    assert disputed.disputes.get().transfer_reversal_amount == disputed.amount
    account_id = first.coach.user.connected_account.stripe_account_id
    payouts = stripe_client().v1.payouts.list(options={"stripe_account": account_id}).data
    assert payouts, "the coach was paid out"

    # when: the nightly run
    run = reconciliation.reconciliation_run(until=_stripe_now(sandbox))

    # then: clean, and it says what it checked
    assert list(run.discrepancies.values_list("message", flat=True)) == []
    assert run.outcome == ReconciliationRun.Outcome.CLEAN
    assert run.accounts_checked == 2 and run.transactions_checked > 20
    assert not StaffAlert.objects.filter(kind=StaffAlert.Kind.RECONCILIATION).exists()

    # when: someone refunds part of a payment in Stripe's dashboard, outside the product
    stripe_client().v1.refunds.create(
        params={"payment_intent": second_payment.stripe_payment_intent_id, "amount": 500}
    )
    run = reconciliation.reconciliation_run(until=_stripe_now(sandbox))

    # then: exactly that one, stored, alerted and shown in admin (read-only)
    assert run.outcome == ReconciliationRun.Outcome.DISCREPANCIES
    (found,) = run.discrepancies.all()
    assert found.kind == ReconciliationDiscrepancy.Kind.UNKNOWN_TO_US
    assert (found.balance_transaction_type, found.stripe_amount) == ("refund", -500)
    assert StaffAlert.objects.filter(kind=StaffAlert.Kind.RECONCILIATION).count() == 1
    admin = Client()
    sign_in_with_totp(admin, UserFactory(is_staff=True, is_superuser=True))
    page = admin.get(f"/admin/payments/reconciliationrun/{run.pk}/change/")
    assert page.status_code == 200 and found.source_id in page.content.decode()
    assert admin.get("/admin/payments/reconciliationdiscrepancy/add/").status_code == 403


def test_a_changed_row_is_an_amount_mismatch_and_a_failed_run_is_covered_again(
    paid_coach, sandbox, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    _coach, session_type = paid_coach
    _, payment = _paid(session_type, sandbox, capture)
    # given: Stripe cannot be reached for the first run
    sandbox.set_lost_answers(100, seed=1)
    failed = reconciliation.reconciliation_run(until=_stripe_now(sandbox))
    sandbox.set_lost_answers(0)
    assert failed.outcome == ReconciliationRun.Outcome.FAILED and failed.error
    # and our row disagrees with Stripe by a cent
    type(payment).objects.filter(pk=payment.pk).update(
        amount=payment.amount + 1, coach_amount=payment.coach_amount + 1
    )
    # when: the next run (its window starts where the last finished run ended: the start)
    run = reconciliation.reconciliation_run(until=_stripe_now(sandbox))
    assert run.outcome == ReconciliationRun.Outcome.DISCREPANCIES
    assert run.window_start is None
    kinds = {(d.kind, d.balance_transaction_type) for d in run.discrepancies.all()}
    assert (ReconciliationDiscrepancy.Kind.AMOUNT_MISMATCH, "charge") in kinds
    assert Client().get("/admin/payments/reconciliationrun/").status_code == 302


def test_reconciliation_runs_nightly_from_beat(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["payments-reconcile"]
    assert entry["task"] == tasks.reconcile.name
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({3}, {30})
