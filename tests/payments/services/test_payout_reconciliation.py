"""The nightly reconciliation covers staff payouts to the cent: the transfers, the payees'
payments, a reversal on both sides; a cent changed on a payout's transfer is found."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from payments.models import ReconciliationDiscrepancy, ReconciliationRun, Transfer
from payments.sandbox import controls
from payments.services import payout_requests as payouts
from payments.services import reconciliation
from tests.factories import UserFactory
from tests.payments.payouts import account_of, fund_platform, invited_payee

pytestmark = pytest.mark.django_db


def _stripe_now() -> datetime:
    """A moment on Stripe's clock after every balance transaction so far and before any
    later one (a night's run ends here, the next starts here)."""
    return datetime.fromtimestamp(controls.advance_clock(1), tz=UTC)


def test_reconciliation_covers_payout_transfers_and_their_reversal_to_the_cent(
    stripe_local, django_capture_on_commit_callbacks
):
    # given: money on the platform, reconciled the night before (it is no row of ours)
    staff, second = UserFactory(is_staff=True), UserFactory(is_staff=True)
    winner = invited_payee(staff=staff)
    coach_like = invited_payee(staff=staff)
    fund_platform(200_000)
    reconciliation.reconciliation_run(until=_stripe_now())
    # when: a 500.00 prize (3% fee), a 33.33 bonus and a 12.34 goodwill payment are paid,
    # and 100.01 of the prize is reversed
    paid = []
    for recipient, amount, reason in (
        (winner, 50000, "prize"),
        (coach_like, 3333, "bonus"),
        (winner, 1234, "goodwill"),
    ):
        request = payouts.payout_request_create(
            recipient=recipient, amount=amount, currency="usd", reason=reason, by=staff
        )
        with django_capture_on_commit_callbacks(execute=True):
            payouts.payout_request_approve(payout_request=request, by=second)
        paid.append(request)
    with django_capture_on_commit_callbacks(execute=True):
        payouts.payout_request_reverse(
            payout_request=paid[0], amount=10001, reason="Shared prize", by=second
        )
    run = reconciliation.reconciliation_run(until=_stripe_now())
    # then: every balance transaction of the payouts is ours, to the cent
    assert run.outcome == ReconciliationRun.Outcome.CLEAN, list(
        run.discrepancies.values_list("message", flat=True)
    )
    # platform: three transfers and one reversal; payees: three payments and one refund of one
    assert run.transactions_checked == 4 + 4
    assert sum(controls.balance(account_of(winner))["usd"].values()) == 48500 - 10001 + 1234
    # when: a cent of the goodwill payment's transfer differs in our books, and the same
    # night is reconciled again
    Transfer.objects.filter(payout_request=paid[2]).update(amount=1233)
    ReconciliationRun.objects.all().delete()
    again = reconciliation.reconciliation_run(until=_stripe_now())
    # then: the transfer and the payee's payment are both found a cent off
    found = set(
        again.discrepancies.filter(kind=ReconciliationDiscrepancy.Kind.AMOUNT_MISMATCH).values_list(
            "balance_transaction_type", "our_amount", "stripe_amount"
        )
    )
    assert {("transfer", -1233, -1234), ("payment", 1233, 1234)} <= found
    assert all(
        f"payout request {paid[2].pk}" in d.our_row
        for d in again.discrepancies.filter(kind=ReconciliationDiscrepancy.Kind.AMOUNT_MISMATCH)
    )
