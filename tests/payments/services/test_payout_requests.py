"""Staff payouts against the local Stripe: the two-person rule, the prize fee, bad input that
moves no money, a recipient Stripe refuses, the platform's balance, cancelling and reversing."""

from __future__ import annotations

import pytest
from django.core import mail

from marketplace.errors import Conflict, DomainError, NotAllowed
from payments.models import (
    PayoutRequest,
    PayoutRequestEvent,
    PayoutRequestStatus,
    StaffAlert,
    Transfer,
    TransferStatus,
)
from payments.sandbox import controls
from payments.sandbox.models import IdempotencyKey
from payments.services import payout_requests as payouts
from payments.tasks import execute_payout_request, retry_stalled_transfers
from tests.factories import UserFactory
from tests.payments.payouts import (
    account_of,
    available,
    fund_platform,
    invited_payee,
    stripe_transfers,
)

pytestmark = pytest.mark.django_db
Action = PayoutRequestEvent.Action


@pytest.fixture
def staff(db):
    return UserFactory(is_staff=True, email="ada@staff.test")


@pytest.fixture
def second_staff(db):
    return UserFactory(is_staff=True, email="grace@staff.test")


@pytest.fixture
def winner(stripe_local, staff):
    return invited_payee(staff=staff, email="winner@example.test", first_name="Wanda")


def _actions(payout_request) -> list[str]:
    return list(payout_request.events.values_list("action", flat=True))


def test_a_prize_above_the_threshold_needs_a_second_person_and_transfers_the_net_once(
    winner, staff, second_staff, settings, django_capture_on_commit_callbacks
):
    # given: money on the platform and a 500.00 prize (above the 250 threshold, 3% fee)
    settings.PAYOUT_PRIZE_FEE_BPS = 300
    fund_platform()
    before = available()
    request = payouts.payout_request_create(
        recipient=winner, amount=50000, currency="usd", reason="prize", note="Spring", by=staff
    )
    # then: the fee and the net are fixed before approval
    assert (request.platform_fee, request.net_amount, request.needs_second_person) == (
        1500,
        48500,
        True,
    )
    # when: the requester tries to approve it
    with pytest.raises(NotAllowed) as refused:
        payouts.payout_request_approve(payout_request=request, by=staff)
    assert refused.value.code == "two_person_rule"
    assert not Transfer.objects.exists()
    # and another staff member approves it
    with django_capture_on_commit_callbacks(execute=True):
        payouts.payout_request_approve(payout_request=request, by=second_staff)
    request.refresh_from_db()
    # then: one Stripe transfer of the net, under the request's key, to the winner's account
    assert request.status == PayoutRequestStatus.PAID
    (transfer,) = stripe_transfers(request)
    account_id = account_of(winner)
    assert (transfer.amount, transfer.destination) == (48500, account_id)
    assert transfer.metadata["payout_request_id"] == str(request.pk)
    assert IdempotencyKey.objects.filter(key=f"payout-request-{request.pk}-1").exists()
    assert before - available() == 48500
    assert available(account="") == before - 48500
    assert sum(controls.balance(account_id)["usd"].values()) == 48500
    # and the winner is told the money is on its way
    (told,) = [m for m in mail.outbox if m.to == ["winner@example.test"] and "way" in m.subject]
    assert "$485.00" in told.subject and "$15.00" in told.body
    # and the audit trail has who did what
    assert _actions(request) == [
        Action.REQUESTED,
        Action.APPROVAL_REFUSED,
        Action.APPROVED,
        Action.EXECUTED,
    ]
    approved = request.events.get(action=Action.APPROVED)
    assert approved.actor == second_staff
    assert request.events.get(action=Action.EXECUTED).stripe_id == transfer.id
    # and running the task again sends nothing more
    execute_payout_request.delay(request.pk)
    assert len(stripe_transfers(request)) == 1


def test_below_the_threshold_the_requester_may_approve_and_other_reasons_keep_no_fee(
    winner, staff, django_capture_on_commit_callbacks
):
    fund_platform()
    request = payouts.payout_request_create(
        recipient=winner, amount=10000, currency="usd", reason="goodwill", by=staff
    )
    assert (request.platform_fee, request.needs_second_person) == (0, False)
    with django_capture_on_commit_callbacks(execute=True):
        payouts.payout_request_approve(payout_request=request, by=staff)
    request.refresh_from_db()
    assert request.status == PayoutRequestStatus.PAID
    assert [t.amount for t in stripe_transfers(request)] == [10000]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": -500}, "amount"),
        ({"amount": 1_000_001}, "amount"),  # above the 10,000.00 ceiling
        ({"reason": ""}, "reason"),
        ({"currency": "eur"}, "currency"),  # a US account receives usd only
        ({"currency": "dollars"}, "currency"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error_and_moves_no_money(winner, staff, changes, field):
    given = {"amount": 5000, "currency": "usd", "reason": "bonus", **changes}
    with pytest.raises(DomainError) as refused:
        payouts.payout_request_create(recipient=winner, by=staff, **given)
    assert field in refused.value.fields
    assert not PayoutRequest.objects.exists()


def test_a_recipient_without_an_active_account_is_refused(stripe_local, staff):
    nobody = UserFactory()
    with pytest.raises(DomainError) as refused:
        payouts.payout_request_create(
            recipient=nobody, amount=5000, currency="usd", reason="bonus", by=staff
        )
    assert refused.value.code == "no_account"
    halfway = invited_payee(staff=staff, onboard=False)
    from tests.payments.payouts import onboarded

    onboarded(halfway, outcome="leave_due")
    with pytest.raises(DomainError) as refused:
        payouts.payout_request_create(
            recipient=halfway, amount=5000, currency="usd", reason="bonus", by=staff
        )
    assert refused.value.code == "account_not_active"
    assert not PayoutRequest.objects.exists()


def test_only_staff_request_and_approve(winner, staff):
    with pytest.raises(NotAllowed):
        payouts.payout_request_create(
            recipient=winner, amount=5000, currency="usd", reason="bonus", by=winner
        )
    request = payouts.payout_request_create(
        recipient=winner, amount=5000, currency="usd", reason="bonus", by=staff
    )
    with pytest.raises(NotAllowed):
        payouts.payout_request_approve(payout_request=request, by=winner)


def test_a_cancelled_or_executed_request_cannot_be_approved_or_cancelled(
    winner, staff, django_capture_on_commit_callbacks
):
    fund_platform()
    cancelled = payouts.payout_request_create(
        recipient=winner, amount=5000, currency="usd", reason="bonus", by=staff
    )
    payouts.payout_request_cancel(payout_request=cancelled, by=staff)
    with pytest.raises(Conflict):
        payouts.payout_request_approve(payout_request=cancelled, by=staff)
    paid = payouts.payout_request_create(
        recipient=winner, amount=5000, currency="usd", reason="bonus", by=staff
    )
    with django_capture_on_commit_callbacks(execute=True):
        payouts.payout_request_approve(payout_request=paid, by=staff)
    with pytest.raises(Conflict):
        payouts.payout_request_approve(payout_request=paid, by=staff)
    with pytest.raises(Conflict):
        payouts.payout_request_cancel(payout_request=paid, by=staff)
    assert len(stripe_transfers(paid)) == 1 and not stripe_transfers(cancelled)


def test_a_recipient_whose_account_cannot_receive_transfers_fails_with_stripes_reason(
    winner, staff, django_capture_on_commit_callbacks
):
    # given: Stripe restricted the winner's account; the webhook has not reached us yet
    fund_platform()
    controls.pause_deliveries()
    account_id = account_of(winner)
    controls.update_account(account_id, past_due=["individual.verification.document"])
    request = payouts.payout_request_create(
        recipient=winner, amount=5000, currency="usd", reason="bonus", by=staff
    )
    mail.outbox.clear()
    # when: it is approved and the task runs
    with django_capture_on_commit_callbacks(execute=True):
        payouts.payout_request_approve(payout_request=request, by=staff)
    request.refresh_from_db()
    # then: failed with Stripe's reason, staff alerted and e-mailed, nothing sent
    stripe_says = (
        "Your destination account needs to have at least one of the following capabilities "
        "enabled: transfers, crypto_transfers, legacy_payments"
    )
    assert request.status == PayoutRequestStatus.FAILED
    assert request.failure_code == "insufficient_capabilities_for_transfer"
    assert request.failure_message == stripe_says
    (alert,) = StaffAlert.objects.filter(kind=StaffAlert.Kind.TRANSFER_FAILED)
    assert stripe_says in alert.message and winner.email in alert.message
    assert any("Transfer failed" in m.subject for m in mail.outbox)
    assert not stripe_transfers(request)
    assert request.events.get(action=Action.FAILED).detail.endswith(stripe_says)
    # and neither the task again nor the stalled sweep sends another request
    execute_payout_request.delay(request.pk)
    retry_stalled_transfers.delay(older_than_seconds=0)
    assert Transfer.objects.get(payout_request=request).attempts == 1
    assert not stripe_transfers(request)


def test_a_payout_waits_for_the_platforms_balance_and_can_be_cancelled_meanwhile(
    winner, staff, django_capture_on_commit_callbacks, eager_retries
):
    # given: nothing available on the platform
    first = payouts.payout_request_create(
        recipient=winner, amount=5000, currency="usd", reason="bonus", by=staff
    )
    with django_capture_on_commit_callbacks(execute=True):
        payouts.payout_request_approve(payout_request=first, by=staff)
    # then: it waits without asking Stripe to transfer; staff are told once
    transfer = Transfer.objects.get(payout_request=first)
    assert (transfer.status, transfer.attempts) == (TransferStatus.WAITING_FOR_BALANCE, 0)
    assert StaffAlert.objects.filter(kind=StaffAlert.Kind.BALANCE_LOW).count() == 1
    assert not IdempotencyKey.objects.filter(key__startswith=f"payout-request-{first.pk}").exists()
    # when: staff cancel it while it waits
    payouts.payout_request_cancel(payout_request=first, by=staff)
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.CANCELLED
    # and another one is approved, then money arrives and the sweep sends it
    second = payouts.payout_request_create(
        recipient=winner, amount=5000, currency="usd", reason="bonus", by=staff
    )
    with django_capture_on_commit_callbacks(execute=True):
        payouts.payout_request_approve(payout_request=second, by=staff)
    fund_platform()
    with django_capture_on_commit_callbacks(execute=True):
        retry_stalled_transfers.delay(older_than_seconds=0)
    second.refresh_from_db()
    first.refresh_from_db()
    assert (first.status, second.status) == (
        PayoutRequestStatus.CANCELLED,
        PayoutRequestStatus.PAID,
    )
    assert not stripe_transfers(first) and len(stripe_transfers(second)) == 1


def test_a_reversal_puts_the_money_back_and_shows_in_both_histories(
    winner, staff, second_staff, client, django_capture_on_commit_callbacks
):
    # given: a paid 120.00 bonus
    fund_platform()
    request = payouts.payout_request_create(
        recipient=winner, amount=12000, currency="usd", reason="bonus", by=staff
    )
    with django_capture_on_commit_callbacks(execute=True):
        payouts.payout_request_approve(payout_request=request, by=staff)
    platform_before = available()
    account_id = account_of(winner)
    # when: another staff member reverses 20.00 of it, with a reason
    with pytest.raises(DomainError):
        payouts.payout_request_reverse(payout_request=request, reason="", by=second_staff)
    with django_capture_on_commit_callbacks(execute=True):
        payouts.payout_request_reverse(
            payout_request=request,
            amount=2000,
            reason="Paid twice for one referral",
            by=second_staff,
        )
    request.refresh_from_db()
    # then: Stripe reversed it; the platform has it back, the winner's balance lost it
    (transfer,) = stripe_transfers(request)
    assert transfer.amount_reversed == 2000
    assert available() == platform_before + 2000
    assert sum(controls.balance(account_id)["usd"].values()) == 10000
    assert request.status == PayoutRequestStatus.PARTIALLY_REVERSED
    assert request.received_amount == 10000
    assert Transfer.objects.get(payout_request=request).reversed_amount == 2000
    # and staff's audit trail names who reversed it, when and why
    reversed_event = request.events.get(action=Action.REVERSED)
    assert reversed_event.actor == second_staff
    assert reversed_event.detail == "Paid twice for one referral"
    assert reversed_event.stripe_id.startswith("trr_")
    # and the winner's "Payments received" shows it
    client.force_login(winner)
    page = client.get("/payments/received/").content.decode()
    assert "Partly reversed" in page and "Paid twice for one referral" in page
    assert "$20.00 taken back" in page
    assert any("reversed" in m.subject for m in mail.outbox if m.to == [winner.email])
    # and it cannot be reversed twice
    with pytest.raises(Conflict):
        payouts.payout_request_reverse(payout_request=request, reason="again", by=staff)
    assert stripe_transfers(request)[0].amount_reversed == 2000
