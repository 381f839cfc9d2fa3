"""Stripe's other outcomes, honoured: refunds that stay pending and then succeed or fail (by
the events and by the poll), a refund that fails after succeeding, disputes won and lost (of
a booking's destination charge, and of a package's platform charge), and answers lost after
Stripe did the work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.test import Client

from bookings.models import BookingStatus, Package
from bookings.services import after_session, cancellation, holds, packages
from payments import tasks
from payments.models import (
    DisputeStatus,
    PaymentStatus,
    ReconciliationRun,
    RefundStatus,
    StaffAlert,
    Transfer,
    TransferStatus,
)
from payments.sandbox.models import StripeObject
from payments.services import reconciliation
from tests.bookings.conftest import stripe_coach
from tests.bookings.factories import next_hour
from tests.bookings.services.test_cancellation import coach_net, confirmed  # noqa: F401
from tests.bookings.services.test_checkout import URLS
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _cancel(booking, django_capture_on_commit_callbacks, sandbox):
    with django_capture_on_commit_callbacks(execute=True):
        cancellation.booking_cancel(booking=booking, by=booking.client, reason="Plans changed")
        sandbox.deliver_pending_events()


def test_a_refund_that_goes_pending_then_failed_ends_failed_with_both_emails(
    confirmed,  # noqa: F811
    sandbox,
    settings,
    django_capture_on_commit_callbacks,
):
    # given: Stripe keeps the refund pending, then the card refuses it
    booking, payment = confirmed
    sandbox.set_refund_outcome("pending_fails")
    _cancel(booking, django_capture_on_commit_callbacks, sandbox)
    payment.refresh_from_db()
    (refund,) = payment.refunds.all()
    assert refund.status == RefundStatus.PENDING and refund.stripe_refund_id
    # while Stripe holds it, it counts, as in the charge's amount_refunded
    assert (payment.status, payment.refunded_amount) == (PaymentStatus.REFUNDED, 12000)
    mail.outbox.clear()
    # when: the refund fails at Stripe (refund.failed, refund.updated, charge.refund.updated)
    with django_capture_on_commit_callbacks(execute=True):
        sandbox.advance_clock(3600)
        sandbox.deliver_pending_events()
    # then: failed in our books, the payment's money back where it is, staff and client told
    refund.refresh_from_db()
    payment.refresh_from_db()
    booking.refresh_from_db()
    assert refund.status == RefundStatus.FAILED
    assert refund.failure_reason == "expired_or_canceled_card"
    assert (payment.status, payment.refunded_amount) == (PaymentStatus.SUCCEEDED, 0)
    assert booking.status == BookingStatus.CANCELLED_BY_CLIENT
    (alert,) = StaffAlert.objects.filter(kind=StaffAlert.Kind.REFUND_FAILED)
    assert str(refund.pk) in alert.message
    recipients = {address for message in mail.outbox for address in message.to}
    assert set(settings.STAFF_ALERT_EMAILS) <= recipients
    client_mail = [m for m in mail.outbox if m.to == [booking.client.email]]
    assert len(client_mail) == 1 and "did not go through" in client_mail[0].subject
    # and the booking page says so
    browser = Client()
    browser.force_login(booking.client)
    page = browser.get(f"/bookings/{booking.pk}/").content.decode()
    assert "Failed: it did not reach the card" in page


def test_a_pending_refund_is_finished_by_the_poll_when_no_webhook_arrives(
    confirmed,  # noqa: F811
    sandbox,
    django_capture_on_commit_callbacks,
):
    booking, payment = confirmed
    sandbox.set_refund_outcome("pending_succeeds")
    _cancel(booking, django_capture_on_commit_callbacks, sandbox)
    (refund,) = payment.refunds.all()
    assert refund.status == RefundStatus.PENDING
    # when: the refund succeeds at Stripe but none of its events is delivered
    with sandbox.deliveries_paused():
        sandbox.settle_refunds()
    from payments.models import Refund

    Refund.objects.filter(pk=refund.pk).update(created_at=refund.created_at.replace(year=2000))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.poll_pending_refunds() == 1
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert tasks.poll_pending_refunds() == 0


def test_charge_refund_updated_carries_a_refund_and_fails_a_succeeded_one(
    paid_coach,
    sandbox,
    django_capture_on_commit_callbacks,
):
    # given: paid with Stripe's 5126 card, whose refunds succeed and fail later
    from tests.bookings.services.test_checkout import book
    from tests.factories import UserFactory

    _coach, session_type = paid_coach
    with django_capture_on_commit_callbacks(execute=True):
        booking, payment = book(UserFactory(), session_type)
        sandbox.pay_checkout_session(payment.stripe_checkout_session_id, card="4000000000005126")
        sandbox.deliver_pending_events()
    _cancel(booking, django_capture_on_commit_callbacks, sandbox)
    (refund,) = payment.refunds.all()
    assert refund.status == RefundStatus.SUCCEEDED
    # when: only charge.refund.updated is delivered
    with sandbox.deliveries_paused():
        sandbox.settle_refunds()
    (event,) = sandbox.events_of_type("charge.refund.updated")
    assert event["data"]["object"]["object"] == "refund"
    with django_capture_on_commit_callbacks(execute=True):
        sandbox.deliver_pending_events(order=[event["id"]])
    # then
    refund.refresh_from_db()
    payment.refresh_from_db()
    assert refund.status == RefundStatus.FAILED
    assert payment.refunded_amount == 0 and payment.status == PaymentStatus.SUCCEEDED


def _disputed(paid_coach, sandbox, django_capture_on_commit_callbacks):
    from tests.bookings.services.test_checkout import book
    from tests.factories import UserFactory

    _coach, session_type = paid_coach
    with django_capture_on_commit_callbacks(execute=True):
        booking, payment = book(UserFactory(), session_type)
        sandbox.pay_checkout_session(payment.stripe_checkout_session_id, card="4000000000000259")
        sandbox.deliver_pending_events()
    payment.refresh_from_db()
    (dispute,) = payment.disputes.all()
    return booking, payment, dispute


def test_a_lost_dispute_reverses_the_coachs_transfer_once(
    paid_coach, sandbox, django_capture_on_commit_callbacks
):
    booking, payment, dispute = _disputed(paid_coach, sandbox, django_capture_on_commit_callbacks)
    assert dispute.status == DisputeStatus.NEEDS_RESPONSE and dispute.funds_withdrawn
    assert dispute.evidence_due_by is not None
    browser = Client()
    browser.force_login(booking.client)
    page = browser.get(f"/bookings/{booking.pk}/").content.decode()
    assert "Needs response, evidence due by" in page
    assert coach_net(sandbox, booking) == payment.coach_amount
    # when: evidence goes in and the dispute is lost; the closing event arrives twice
    with django_capture_on_commit_callbacks(execute=True):
        sandbox.submit_dispute_evidence(dispute.stripe_dispute_id)
        sandbox.close_dispute(dispute.stripe_dispute_id, "lost")
        sandbox.deliver_pending_events()
        (closed,) = sandbox.events_of_type("charge.dispute.closed")
        sandbox.deliver_pending_events(order=[closed["id"], closed["id"]])
    # then: the coach's share came back once, the fee refunded to them in proportion
    dispute.refresh_from_db()
    assert dispute.status == DisputeStatus.LOST and dispute.closed_at is not None
    assert dispute.transfer_reversal_amount == payment.amount
    assert dispute.application_fee_refund_amount == payment.application_fee
    assert dispute.stripe_transfer_reversal_id.startswith("trr_")
    assert coach_net(sandbox, booking) == 0
    assert StripeObject.objects.filter(object_type="transfer_reversal").count() == 1
    assert StaffAlert.objects.filter(message__contains="lost").exists()
    page = browser.get(f"/bookings/{booking.pk}/").content.decode()
    assert "Lost" in page and "evidence due" not in page


def test_a_won_dispute_gives_the_money_back_and_leaves_the_coach_paid(
    paid_coach, sandbox, django_capture_on_commit_callbacks
):
    booking, payment, dispute = _disputed(paid_coach, sandbox, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        sandbox.submit_dispute_evidence(dispute.stripe_dispute_id, "winning_evidence")
        sandbox.deliver_pending_events()
    dispute.refresh_from_db()
    assert dispute.status == DisputeStatus.WON and dispute.funds_reinstated
    assert dispute.transfer_reversal_amount == 0
    assert coach_net(sandbox, booking) == payment.coach_amount


def test_a_refund_whose_answers_are_lost_is_made_exactly_once(
    confirmed,  # noqa: F811
    sandbox,
    eager_retries,
    django_capture_on_commit_callbacks,
):
    booking, payment = confirmed
    # given: most answers lost after Stripe did the work (the library retries, then the task)
    sandbox.set_lost_answers(60, seed=4)
    _cancel(booking, django_capture_on_commit_callbacks, sandbox)
    (refund,) = payment.refunds.all()
    sandbox.set_lost_answers(0)
    if refund.status == RefundStatus.PENDING:  # every retry lost: the poll finishes it
        from payments.models import Refund

        Refund.objects.filter(pk=refund.pk).update(created_at=refund.created_at.replace(year=2000))
        with django_capture_on_commit_callbacks(execute=True):
            tasks.poll_pending_refunds()
            sandbox.deliver_pending_events()
    # then: one refund at Stripe, ours succeeded with it
    (refund,) = payment.refunds.all()
    assert StripeObject.objects.filter(object_type="refund", account="").count() == 1
    assert (
        refund.stripe_refund_id
        == StripeObject.objects.get(object_type="refund", account="").stripe_id
    )
    assert refund.status == RefundStatus.SUCCEEDED


def test_a_lost_dispute_of_a_package_charge_takes_back_the_shares_sent_and_sends_no_more(
    sandbox, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    # given: a package of four sessions charged on the platform; two sessions held and their
    # shares transferred to the coach from the package's charge
    with capture(execute=True):
        coach, session_type = stripe_coach()
    package = Package.objects.create(
        coach=coach,
        session_type=session_type,
        name="Four",
        session_count=4,
        price=40000,
        currency="usd",
    )
    client = UserFactory()
    with capture(execute=True):
        purchase, payment = packages.package_purchase_start(
            client=client, package=package, urls=URLS
        )
        sandbox.pay_checkout_session(payment.stripe_checkout_session_id)
        sandbox.deliver_pending_events()

    def hold_and_complete(day: int):
        with capture(execute=True):
            booking = holds.booking_hold(
                client=client,
                session_type=session_type,
                starts_at=next_hour(days=day),
                package_purchase=purchase,
            )
            after_session.booking_complete(
                booking=booking, by=coach.user, now=booking.ends_at + timedelta(minutes=5)
            )
            sandbox.deliver_pending_events()
        return booking

    held = [hold_and_complete(2), hold_and_complete(3)]
    shares = Transfer.objects.filter(package_purchase=purchase).order_by("sequence")
    assert [share.status for share in shares] == [TransferStatus.PAID] * 2
    account_id = coach.user.connected_account.stripe_account_id
    paid_to_coach = sum(share.amount for share in shares)
    assert sum(sandbox.balance(account_id)["usd"].values()) == paid_to_coach
    # when: the client disputes the package's charge and the dispute is lost; the closing
    # event arrives twice
    payment.refresh_from_db()
    with capture(execute=True):
        stripe_dispute = sandbox.dispute_charge(payment.stripe_charge_id)
        sandbox.deliver_pending_events()
        sandbox.submit_dispute_evidence(stripe_dispute["id"])
        sandbox.close_dispute(stripe_dispute["id"], "lost")
        sandbox.deliver_pending_events()
        (closed,) = sandbox.events_of_type("charge.dispute.closed")
        sandbox.deliver_pending_events(order=[closed["id"], closed["id"]])
    # then: each share sent is reversed in full, once; the coach holds nothing of the package
    assert [(s.status, s.reversed_amount) for s in shares.all()] == [
        (TransferStatus.REVERSED, share.amount) for share in shares
    ]
    reversals = StripeObject.objects.filter(object_type="transfer_reversal")
    assert sorted((r.data["transfer"], r.data["amount"]) for r in reversals) == sorted(
        (share.stripe_transfer_id, share.amount) for share in shares
    )
    assert sum(sandbox.balance(account_id)["usd"].values()) == 0
    assert StaffAlert.objects.filter(message__contains="package shares transferred").exists()
    # and a session held after the loss is not paid: its share is never sent
    later = hold_and_complete(4)
    unpaid = Transfer.objects.get(booking=later)
    assert (unpaid.status, unpaid.failure_code) == (TransferStatus.FAILED, "charge_disputed")
    assert unpaid.stripe_transfer_id is None
    assert StripeObject.objects.filter(
        object_type="transfer", data__transfer_group=purchase.transfer_group
    ).count() == len(held)
    assert StaffAlert.objects.filter(
        kind=StaffAlert.Kind.TRANSFER_FAILED, message__contains=stripe_dispute["id"]
    ).exists()
    # and the nightly reconciliation finds our rows equal to Stripe's, reversals included
    night = reconciliation.reconciliation_run(
        until=datetime.fromtimestamp(sandbox.advance_clock(1), tz=UTC)
    )
    assert list(night.discrepancies.values_list("message", flat=True)) == []
    assert night.outcome == ReconciliationRun.Outcome.CLEAN
