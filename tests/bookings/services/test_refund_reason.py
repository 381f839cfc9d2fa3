"""The refund a cancellation promises and the e-mail after it give the true reason: a
disputed payment is refunded by the dispute, not by the policy."""

from __future__ import annotations

from datetime import timedelta

from django.core import mail

from bookings import selectors
from bookings.services import cancellation
from tests.bookings.services.test_cancellation import confirmed  # noqa: F401 - a fixture


def test_a_disputed_bookings_page_and_cancellation_email_name_the_dispute(
    confirmed,  # noqa: F811
    sandbox,
    client,
    django_capture_on_commit_callbacks,
):
    booking, payment = confirmed
    with django_capture_on_commit_callbacks(execute=True):
        sandbox.dispute_charge(payment.stripe_charge_id)
        sandbox.deliver_pending_events()
    booking.refresh_from_db()
    # before: the page promises what will happen, not the policy's full refund
    client.force_login(booking.client)
    page = client.get(f"/bookings/{booking.pk}/").content.decode()
    assert selectors.DISPUTED_REFUND_NOTE in page
    assert "Full refund" not in page
    mail.outbox.clear()
    # when
    with django_capture_on_commit_callbacks(execute=True):
        cancellation.booking_cancel(booking=booking, by=booking.client)
    # then: the client's e-mail says why nothing is refunded now
    client_mail = next(m for m in mail.outbox if m.to == [booking.client.email])
    assert selectors.DISPUTED_REFUND_NOTE in client_mail.body
    assert "No refund is due under the cancellation policy" not in client_mail.body


def test_a_late_cancellation_without_refund_says_why(
    confirmed,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    booking, _payment = confirmed
    policy = selectors.policy_for(booking.coach)
    policy.late_cancellation_refund_percent = 0
    policy.save()
    with django_capture_on_commit_callbacks(execute=True):
        cancellation.booking_cancel(
            booking=booking, by=booking.client, now=booking.starts_at - timedelta(hours=2)
        )
    client_mail = next(m for m in mail.outbox if m.to == [booking.client.email])
    assert "No refund: less than 24 hours before the start." in client_mail.body


def test_the_coach_is_told_what_their_cancellation_refunds(
    confirmed,  # noqa: F811
    sandbox,
    client,
    django_capture_on_commit_callbacks,
):
    booking, payment = confirmed
    client.force_login(booking.coach.user)
    page = client.get(f"/bookings/{booking.pk}/").content.decode()
    assert "The client is refunded in full." in page
    with django_capture_on_commit_callbacks(execute=True):
        sandbox.dispute_charge(payment.stripe_charge_id)
        sandbox.deliver_pending_events()
    page = client.get(f"/bookings/{booking.pk}/").content.decode()
    assert selectors.DISPUTED_REFUND_NOTE in page
