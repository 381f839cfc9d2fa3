"""The scripted scenario (tests/bookings/scenario.py) against Stripe's bad days.

- Deliveries in a random order, a fifth of them twice, in ten seeds: our rows equal the local
  Stripe's balance transactions, for the platform and every coach, to the cent, and the
  nightly reconciliation finds nothing; in the first seed it then finds exactly the one
  discrepancy made by hand.
- 30% of Stripe's answers lost after the work is done: exactly one charge, refund, transfer
  and reversal per intended one, every booking in its right state, the books equal to
  Stripe's and a clean night, in as many seeds.
"""

from __future__ import annotations

import os

import pytest

from bookings.models import Booking
from payments.gateway import stripe_client
from payments.models import (
    Dispute,
    DisputeStatus,
    Payment,
    Payout,
    ReconciliationDiscrepancy,
    ReconciliationRun,
    Refund,
    RefundStatus,
    Transfer,
)
from payments.sandbox import controls
from payments.sandbox.models import StripeObject, WebhookDelivery
from payments.services import reconciliation
from tests.bookings import scenario

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def search_index_left_alone(monkeypatch):
    """The coaches' search index is not money: in production a worker rebuilds it after each
    booking change; here that would run in this process some 200 times a scenario."""
    from coaches.services import search_index

    monkeypatch.setattr(search_index, "availability_index_refresh_later", lambda **kwargs: None)


def _night() -> ReconciliationRun:
    from datetime import UTC, datetime

    return reconciliation.reconciliation_run(
        until=datetime.fromtimestamp(controls.advance_clock(1), tz=UTC)
    )


def _assert_books_match_stripe(day: scenario.Day) -> None:
    seed = day.seed
    platform = scenario.by_type(scenario.stripe_balance_transactions())
    assert platform == scenario.platform_by_type_from_our_rows(), f"seed {seed}: platform"
    for account_id in day.coach_accounts:
        coach = scenario.by_type(scenario.stripe_balance_transactions(account_id))
        assert coach == scenario.coach_by_type_from_our_rows(account_id), (
            f"seed {seed}: {account_id}"
        )


# Each seed is a whole scenario (about 550 deliveries): `make test` runs the first of each
# test; the ten of the acceptance run with SCENARIO_SEEDS=10 (docs/money.md, "Proofs").
SEEDS = range(int(os.environ.get("SCENARIO_SEEDS", "1")))
# The lost answers' own seeds (another draw of the same scenario than the deliveries' seeds).
LOST_ANSWER_SEEDS = [21 + seed for seed in SEEDS]


@pytest.mark.parametrize("seed", SEEDS)
def test_deliveries_shuffled_and_duplicated_leave_the_books_equal_to_stripe(
    seed, settings, eager_retries, django_capture_on_commit_callbacks
):
    # when
    day = scenario.run(seed, django_capture_on_commit_callbacks, settings, duplicate_percent=20)

    # then: what was meant to happen did
    refunds = Refund.objects.all()
    assert refunds.count() == scenario.REFUNDS
    assert refunds.filter(status=RefundStatus.FAILED).count() == day.refunds_failing > 0
    assert refunds.filter(status=RefundStatus.SUCCEEDED).count() == (
        scenario.REFUNDS - day.refunds_failing
    )
    assert dict(Dispute.objects.values_list("stripe_dispute_id", "status")) == day.disputes
    lost = Dispute.objects.filter(status=DisputeStatus.LOST, transfer_reversal_amount__gt=0)
    assert lost.count() == 2
    assert Transfer.objects.filter(status="paid").count() == day.transfers
    # the lost package dispute took back each share it had paid, in full
    reversed_shares = Transfer.objects.filter(status="reversed")
    assert reversed_shares.count() == day.shares_reversed > 0
    assert all(share.reversed_amount == share.amount for share in reversed_shares)
    assert Payout.objects.filter(status="paid").count() >= 3
    statuses = dict(Booking.objects.filter(pk__in=day.expected_status).values_list("pk", "status"))
    assert statuses == day.expected_status
    # deliveries were duplicated (and the duplicates changed nothing)
    assert WebhookDelivery.objects.filter(attempts__gt=1).count() > 10
    # and the books equal Stripe's balance transactions, to the cent
    _assert_books_match_stripe(day)
    # and the nightly reconciliation agrees: nothing found
    night = _night()
    assert list(night.discrepancies.values_list("message", flat=True)) == [], f"seed {seed}"
    assert night.outcome == ReconciliationRun.Outcome.CLEAN
    assert night.accounts_checked == 1 + len(day.coach_accounts)
    if seed:
        return
    # when: one payment is refunded in part in Stripe's dashboard, outside the product
    payment = Payment.objects.filter(status="succeeded", kind="booking").first()
    stripe_client().v1.refunds.create(
        params={"payment_intent": payment.stripe_payment_intent_id, "amount": 700}
    )
    next_night = _night()
    # then: exactly that one
    (found,) = next_night.discrepancies.all()
    assert next_night.outcome == ReconciliationRun.Outcome.DISCREPANCIES
    assert (found.kind, found.balance_transaction_type, found.stripe_amount) == (
        ReconciliationDiscrepancy.Kind.UNKNOWN_TO_US,
        "refund",
        -700,
    )


@pytest.mark.parametrize("seed", LOST_ANSWER_SEEDS)
def test_lost_answers_leave_exactly_one_charge_refund_and_transfer_per_intended_one(
    seed, settings, eager_retries, django_capture_on_commit_callbacks
):
    # when: 30% of the local Stripe's answers are lost after the work is done
    day = scenario.run(
        seed, django_capture_on_commit_callbacks, settings, duplicate_percent=10, lost_percent=30
    )
    # then: exactly one of each, no duplicates, none missing
    charges = StripeObject.objects.filter(
        object_type="charge", account="", data__status="succeeded"
    )
    assert charges.count() == scenario.BOOKINGS + day.package_payments
    assert Payment.objects.exclude(stripe_charge_id=None).count() == charges.count()
    stripe_refunds = StripeObject.objects.filter(object_type="refund", account="")
    assert stripe_refunds.count() == scenario.REFUNDS == Refund.objects.count()
    assert set(Refund.objects.values_list("stripe_refund_id", flat=True)) == set(
        stripe_refunds.values_list("stripe_id", flat=True)
    )
    package_transfers = StripeObject.objects.filter(
        object_type="transfer", data__transfer_group__startswith="package-purchase-"
    )
    assert package_transfers.count() == day.transfers + day.shares_reversed
    assert Transfer.objects.filter(status="paid").count() == day.transfers
    assert Transfer.objects.filter(status="reversed").count() == day.shares_reversed
    reversals = StripeObject.objects.filter(object_type="transfer_reversal")
    # one per refund that reversed its transfer, per lost booking dispute, per share taken back
    expected_reversals = (
        Refund.objects.exclude(stripe_transfer_reversal_id="").count() + 2 + day.shares_reversed
    )
    assert reversals.count() == expected_reversals
    # and every booking in its right state
    statuses = dict(Booking.objects.filter(pk__in=day.expected_status).values_list("pk", "status"))
    assert statuses == day.expected_status
    _assert_books_match_stripe(day)
    # and the nightly reconciliation finds nothing
    night = _night()
    assert list(night.discrepancies.values_list("message", flat=True)) == [], f"seed {seed}"
    assert night.outcome == ReconciliationRun.Outcome.CLEAN
