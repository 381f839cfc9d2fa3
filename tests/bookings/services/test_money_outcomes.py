"""Stripe's other outcomes, honoured: refunds that stay pending and then succeed or fail (by
the events and by the poll), a refund that fails after succeeding, disputes won and lost,
and answers lost after Stripe did the work."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from bookings.models import BookingStatus
from bookings.services import cancellation
from payments import tasks
from payments.models import DisputeStatus, PaymentStatus, RefundStatus, StaffAlert
from payments.sandbox.models import StripeObject
from tests.bookings.services.test_cancellation import coach_net, confirmed  # noqa: F401

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
