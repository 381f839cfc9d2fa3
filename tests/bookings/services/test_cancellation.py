"""Cancellation, rescheduling and disputes with money on the local Stripe."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail

from bookings.models import BookingStatus, CancellationPolicy
from bookings.services import cancellation, holds, rescheduling
from marketplace.errors import Conflict
from payments.models import PaymentStatus, StaffAlert
from tests.bookings.services.test_checkout import book
from tests.factories import UserFactory


@pytest.fixture
def confirmed(paid_coach, sandbox, django_capture_on_commit_callbacks):
    """A confirmed, paid booking three days ahead."""
    _coach, session_type = paid_coach
    with django_capture_on_commit_callbacks(execute=True):
        booking, payment = book(UserFactory(), session_type)
        sandbox.pay_checkout_session(payment.stripe_checkout_session_id)
        sandbox.deliver_pending_events()
    booking.refresh_from_db()
    payment.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    mail.outbox.clear()
    return booking, payment


def coach_net(sandbox, booking) -> int:
    amounts = sandbox.balance(booking.coach.user.connected_account.stripe_account_id)["usd"]
    return amounts["available"] + amounts["pending"]


def test_client_cancelling_more_than_24_hours_ahead_gets_everything_back(
    confirmed, sandbox, django_capture_on_commit_callbacks
):
    booking, payment = confirmed
    assert coach_net(sandbox, booking) == payment.coach_amount
    # when
    with django_capture_on_commit_callbacks(execute=True):
        cancellation.booking_cancel(booking=booking, by=booking.client, reason="Plans changed")
        sandbox.deliver_pending_events()
    # then
    booking.refresh_from_db()
    payment.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED_BY_CLIENT
    assert payment.status == PaymentStatus.REFUNDED
    (refund,) = payment.refunds.all()
    assert (refund.amount, refund.status, refund.refund_application_fee) == (
        12000,
        "succeeded",
        True,
    )
    assert refund.stripe_refund_id.startswith("re_")
    assert refund.application_fee_refund_amount == payment.application_fee
    assert coach_net(sandbox, booking) == 0
    assert {m.to[0] for m in mail.outbox} == {booking.client.email, booking.coach.user.email}
    client_mail = next(m for m in mail.outbox if m.to == [booking.client.email])
    assert "$120.00" in client_mail.body


def test_late_cancellation_refunds_half_and_the_coach_keeps_half(
    confirmed, sandbox, django_capture_on_commit_callbacks
):
    booking, payment = confirmed
    with django_capture_on_commit_callbacks(execute=True):
        cancellation.booking_cancel(
            booking=booking, by=booking.client, now=booking.starts_at - timedelta(hours=5)
        )
    payment.refresh_from_db()
    (refund,) = payment.refunds.all()
    assert payment.status == PaymentStatus.PARTIALLY_REFUNDED
    assert refund.amount == 6000 and payment.refunded_amount == 6000
    # fee refunded in proportion (the policy default), transfer reversed in proportion
    assert refund.application_fee_refund_amount == 900
    assert refund.transfer_reversal_amount == 6000
    assert coach_net(sandbox, booking) == payment.coach_amount // 2


def test_a_stricter_policy_keeps_the_fee_and_nothing_comes_back_after_the_start(
    confirmed, sandbox, django_capture_on_commit_callbacks
):
    booking, payment = confirmed
    CancellationPolicy.objects.create(
        coach=booking.coach,
        late_cancellation_refund_percent=25,
        refund_application_fee_on_partial=False,
    )
    with django_capture_on_commit_callbacks(execute=True):
        cancellation.booking_cancel(
            booking=booking, by=booking.client, now=booking.starts_at - timedelta(hours=1)
        )
    (refund,) = payment.refunds.all()
    assert (refund.amount, refund.refund_application_fee, refund.application_fee_refund_amount) == (
        3000,
        False,
        0,
    )
    # after the start: 0% by default, so no refund at all
    other_booking, other_payment = book(
        UserFactory(), booking.session_type, starts_at=booking.starts_at + timedelta(hours=3)
    )
    with django_capture_on_commit_callbacks(execute=True):
        sandbox.pay_checkout_session(other_payment.stripe_checkout_session_id)
        sandbox.deliver_pending_events()
    other_booking.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        cancellation.booking_cancel(
            booking=other_booking,
            by=other_booking.client,
            now=other_booking.starts_at + timedelta(minutes=5),
        )
    assert not other_payment.refunds.exists()


def test_coach_cancelling_late_still_refunds_in_full(
    confirmed, sandbox, django_capture_on_commit_callbacks
):
    booking, payment = confirmed
    with django_capture_on_commit_callbacks(execute=True):
        cancellation.booking_cancel(
            booking=booking, by=booking.coach.user, now=booking.starts_at - timedelta(hours=1)
        )
    booking.refresh_from_db()
    payment.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED_BY_COACH
    assert payment.status == PaymentStatus.REFUNDED and payment.refunded_amount == 12000
    assert coach_net(sandbox, booking) == 0


def test_rescheduling_moves_the_booking_keeps_the_payment_and_is_limited(
    confirmed, sandbox, django_capture_on_commit_callbacks
):
    booking, payment = confirmed
    # when: moved twice by the client
    with django_capture_on_commit_callbacks(execute=True):
        moved = rescheduling.booking_reschedule(
            booking=booking, by=booking.client, starts_at=booking.starts_at + timedelta(hours=2)
        )
        moved_again = rescheduling.booking_reschedule(
            booking=moved, by=booking.client, starts_at=moved.starts_at + timedelta(days=1)
        )
    # then
    booking.refresh_from_db()
    payment.refresh_from_db()
    assert booking.status == BookingStatus.RESCHEDULED
    assert moved_again.status == BookingStatus.CONFIRMED and moved_again.reschedule_count == 2
    assert payment.booking_id == moved_again.pk and payment.status == PaymentStatus.SUCCEEDED
    assert not payment.refunds.exists()
    assert sum("Rescheduled" in m.subject for m in mail.outbox) == 4
    # a third time is refused by the default policy; the old time is free again
    with pytest.raises(Conflict) as refused:
        rescheduling.booking_reschedule(
            booking=moved_again, by=booking.client, starts_at=booking.starts_at
        )
    assert refused.value.code == "reschedule_limit"
    free_again, _ = book(UserFactory(), booking.session_type, starts_at=booking.starts_at)
    assert free_again.status == BookingStatus.HELD


def test_rescheduling_onto_a_taken_time_changes_nothing(
    confirmed, sandbox, django_capture_on_commit_callbacks
):
    booking, _payment = confirmed
    blocker, _ = book(
        UserFactory(), booking.session_type, starts_at=booking.starts_at + timedelta(hours=4)
    )
    with pytest.raises(holds.SlotTaken):
        rescheduling.booking_reschedule(
            booking=booking, by=booking.client, starts_at=blocker.starts_at + timedelta(minutes=30)
        )
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    assert not hasattr(booking, "rescheduled_to") or booking.rescheduled_to is None


def test_a_dispute_flags_the_booking_alerts_staff_and_blocks_refunds(
    confirmed, sandbox, django_capture_on_commit_callbacks
):
    booking, payment = confirmed
    # when
    with django_capture_on_commit_callbacks(execute=True):
        sandbox.dispute_charge(payment.stripe_charge_id)
        sandbox.deliver_pending_events()
    # then
    booking.refresh_from_db()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.DISPUTED
    assert booking.has_dispute
    (dispute,) = payment.disputes.all()
    assert dispute.amount == 12000
    assert StaffAlert.objects.filter(message__contains=dispute.stripe_dispute_id).count() == 1
    assert any("Staff alert" in m.subject for m in mail.outbox)
    # a cancellation now refunds nothing: the money is already with the dispute
    with django_capture_on_commit_callbacks(execute=True):
        cancellation.booking_cancel(booking=booking, by=booking.coach.user)
    assert not payment.refunds.exists()


def test_receipt_and_reschedule_pages(confirmed, client, django_capture_on_commit_callbacks):
    booking, _payment = confirmed
    client.force_login(booking.client)
    receipt = client.get(f"/bookings/{booking.pk}/receipt/").content.decode()
    assert "$120.00" in receipt and booking.coach.user.display_name in receipt
    page = client.get(f"/bookings/{booking.pk}/reschedule/")
    assert page.status_code == 200 and 'name="starts_at"' in page.content.decode()
    new_start = booking.starts_at + timedelta(hours=5)
    with django_capture_on_commit_callbacks(execute=True):
        moved = client.post(
            f"/bookings/{booking.pk}/reschedule/", {"starts_at": new_start.isoformat()}
        )
    booking.refresh_from_db()
    assert booking.status == BookingStatus.RESCHEDULED
    assert (
        moved.status_code == 302 and moved["Location"] == f"/bookings/{booking.rescheduled_to.pk}/"
    )
    # the old address leads to the moved booking; a taken time is a clear 409
    assert client.get(f"/bookings/{booking.pk}/")["Location"] == moved["Location"]
    blocker, _ = book(UserFactory(), booking.session_type, starts_at=new_start + timedelta(hours=3))
    again = client.post(
        f"/bookings/{booking.rescheduled_to.pk}/reschedule/",
        {"starts_at": blocker.starts_at.isoformat()},
    )
    assert again.status_code == 409 and "That time was just taken." in again.content.decode()
    client.force_login(UserFactory())
    assert client.get(f"/bookings/{booking.rescheduled_to.pk}/receipt/").status_code == 404


def _indexed_free(booking) -> bool:
    """Whether search's availability index offers the booking's time."""
    from coaches.models import FreeWindow

    return FreeWindow.objects.filter(
        coach=booking.coach, starts_at__lte=booking.starts_at, ends_at__gte=booking.ends_at
    ).exists()


def test_search_availability_follows_confirmation_and_cancellation(
    paid_coach, sandbox, django_capture_on_commit_callbacks
):
    from coaches.services import search_index

    _coach, session_type = paid_coach
    search_index.availability_index_refresh(coach_ids=[session_type.coach_id])
    with django_capture_on_commit_callbacks(execute=True):
        booking, payment = book(UserFactory(), session_type)
    assert _indexed_free(booking)  # a hold is left to the periodic rebuild
    # when the payment confirms it, the time leaves search at once (no beat rebuild)
    with django_capture_on_commit_callbacks(execute=True):
        sandbox.pay_checkout_session(payment.stripe_checkout_session_id)
        sandbox.deliver_pending_events()
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    assert not _indexed_free(booking)
    # and a cancellation gives it back
    with django_capture_on_commit_callbacks(execute=True):
        cancellation.booking_cancel(booking=booking, by=booking.client, reason="Plans changed")
        sandbox.deliver_pending_events()
    assert _indexed_free(booking)
