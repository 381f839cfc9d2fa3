"""Holds, Checkout and confirmation by webhook, on the local Stripe through the real library."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse

from bookings.models import Booking, BookingStatus
from bookings.services import checkout, holds, packages
from payments.models import PaymentStatus
from tests.bookings.factories import next_hour
from tests.factories import UserFactory

URLS = checkout.CheckoutUrls(
    success_url="http://testserver/bookings/paid/?session_id={CHECKOUT_SESSION_ID}",
    cancel_url="http://testserver/bookings/back/",
)


def book(client, session_type, starts_at=None):
    return checkout.booking_book(
        client=client,
        session_type=session_type,
        starts_at=starts_at or next_hour(days=3),
        topic="Negotiating a raise",
        client_time_zone="Europe/Zurich",
        urls_for=lambda booking: URLS,
    )


def test_paying_on_checkout_confirms_the_booking_through_the_webhook(
    paid_coach, sandbox, django_capture_on_commit_callbacks
):
    # given: a hold with its Checkout Session (a destination charge with the platform's fee)
    coach, session_type = paid_coach
    client = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        booking, payment = book(client, session_type)
    assert booking.status == BookingStatus.HELD
    assert payment.checkout_url and payment.stripe_checkout_session_id
    assert payment.application_fee == 1800 and payment.coach_amount == 10200
    assert abs(payment.checkout_expires_at - booking.hold_expires_at) < timedelta(seconds=2)
    mail.outbox.clear()

    # when: the client pays with 4242 and Stripe's events arrive
    with django_capture_on_commit_callbacks(execute=True):
        sandbox.pay_checkout_session(payment.stripe_checkout_session_id)
        sandbox.deliver_pending_events()

    # then
    booking.refresh_from_db()
    payment.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    assert booking.meeting_url.startswith("https://meet.jit.si/coach-connect-")
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.stripe_payment_intent_id.startswith("pi_")
    assert payment.stripe_charge_id and payment.stripe_transfer_id
    confirmations = [m for m in mail.outbox if m.subject.startswith("[Coach Connect] Confirmed")]
    assert sorted(m.to[0] for m in confirmations) == sorted([client.email, coach.user.email])
    for message in confirmations:
        ((name, content, mimetype),) = message.attachments
        assert name == "session.ics" and mimetype == "text/calendar"
        assert f"UID:booking-{booking.pk}@coach-connect" in content
        assert booking.meeting_url in content.replace("\r\n ", "")


def test_a_declined_card_keeps_the_hold_and_says_why_then_4242_confirms(
    paid_coach, sandbox, django_capture_on_commit_callbacks
):
    from payments.sandbox.checkout import PaymentDeclined

    # given
    _coach, session_type = paid_coach
    with django_capture_on_commit_callbacks(execute=True):
        booking, payment = book(UserFactory(), session_type)
    # when: the card is declined (Checkout's page shows Stripe's reason)
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(PaymentDeclined, match="declined"):
            sandbox.pay_checkout_session(
                payment.stripe_checkout_session_id, card="4000000000000002"
            )
        sandbox.deliver_pending_events()
    # then: the hold is kept, and payment_intent.payment_failed recorded Stripe's reason
    booking.refresh_from_db()
    payment.refresh_from_db()
    assert booking.status == BookingStatus.HELD
    assert payment.status == PaymentStatus.FAILED
    assert "declined" in payment.failure_message
    # when: the client tries again with 4242 on the same session
    with django_capture_on_commit_callbacks(execute=True):
        sandbox.pay_checkout_session(payment.stripe_checkout_session_id)
        sandbox.deliver_pending_events()
    booking.refresh_from_db()
    payment.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    assert payment.status == PaymentStatus.SUCCEEDED and payment.failure_message == ""


def test_the_sweeper_ends_a_timed_out_hold_frees_the_slot_and_closes_the_session(
    paid_coach, sandbox, django_capture_on_commit_callbacks
):
    from payments import gateway

    _coach, session_type = paid_coach
    client = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        booking, payment = book(client, session_type)
    mail.outbox.clear()
    # when: the sweeper runs after the hold's time
    with django_capture_on_commit_callbacks(execute=True):
        expired = holds.bookings_expire_stale_holds(
            now=booking.hold_expires_at + timedelta(seconds=1)
        )
    # then
    assert expired == 1
    booking.refresh_from_db()
    payment.refresh_from_db()
    assert booking.status == BookingStatus.EXPIRED
    assert payment.status == PaymentStatus.CANCELLED
    assert gateway.checkout_session_retrieve(payment.stripe_checkout_session_id).status == "expired"
    assert [m.to for m in mail.outbox] == [[client.email]]
    assert "expired" in mail.outbox[0].subject
    # and the same time can be held again
    with django_capture_on_commit_callbacks(execute=True):
        again, _ = book(UserFactory(), session_type, starts_at=booking.starts_at)
    assert again.status == BookingStatus.HELD


def test_checkout_session_expired_event_ends_the_hold(
    paid_coach, sandbox, django_capture_on_commit_callbacks
):
    _coach, session_type = paid_coach
    with django_capture_on_commit_callbacks(execute=True):
        booking, _payment = book(UserFactory(), session_type)
    # when: Stripe's clock passes the session's expires_at
    with django_capture_on_commit_callbacks(execute=True):
        sandbox.advance_clock(35 * 60 + 5)
        sandbox.deliver_pending_events()
    booking.refresh_from_db()
    assert booking.status == BookingStatus.EXPIRED
    assert booking.status_changes.filter(source="checkout_expired").exists()


def _expire_locally_while_checkout_stays_open(booking: Booking) -> None:
    """Our sweeper ended the hold but its call closing the Checkout Session was lost (its
    on-commit task never ran), so the client can still pay on the open page."""
    holds.booking_expire(booking_id=booking.pk, source="sweeper")


@pytest.mark.parametrize("slot_taken", [True, False], ids=["slot-taken", "slot-still-free"])
def test_payment_completing_after_the_hold_expired(
    slot_taken, paid_coach, sandbox, django_capture_on_commit_callbacks
):
    coach, session_type = paid_coach
    first_client = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        booking, payment = book(first_client, session_type)
    _expire_locally_while_checkout_stays_open(booking)
    if slot_taken:
        with django_capture_on_commit_callbacks(execute=True):
            other, _ = book(UserFactory(), session_type, starts_at=booking.starts_at)
        assert other.status == BookingStatus.HELD
    mail.outbox.clear()
    # when: the first client completes the payment on the still-open page
    with django_capture_on_commit_callbacks(execute=True):
        sandbox.pay_checkout_session(payment.stripe_checkout_session_id)
        sandbox.deliver_pending_events()
    booking.refresh_from_db()
    payment.refresh_from_db()
    if not slot_taken:
        # then: the time is still free, so the booking is confirmed
        assert booking.status == BookingStatus.CONFIRMED
        assert payment.status == PaymentStatus.SUCCEEDED
        return
    # then: refunded in full, transfer reversed, fee refunded, client told
    assert booking.status == BookingStatus.EXPIRED
    assert payment.status == PaymentStatus.REFUNDED
    (refund,) = payment.refunds.all()
    assert refund.reason == "slot_lost" and refund.status == "succeeded"
    assert refund.amount == payment.amount
    # Stripe moved the whole charge to the coach and took the fee back: both reverse
    assert refund.transfer_reversal_amount == payment.amount
    assert refund.application_fee_refund_amount == payment.application_fee
    coach_account = coach.user.connected_account.stripe_account_id
    coach_balance = sandbox.balance(coach_account)["usd"]
    assert coach_balance["available"] + coach_balance["pending"] == 0
    (notice,) = [m for m in mail.outbox if m.to == [first_client.email]]
    assert "refunded" in notice.subject
    assert not [m for m in mail.outbox if m.subject.startswith("[Coach Connect] Confirmed")]


def test_buying_a_package_on_checkout_and_an_unpaid_one_expiring(
    paid_coach, sandbox, django_capture_on_commit_callbacks
):
    from bookings.models import Package

    coach, session_type = paid_coach
    package = Package.objects.create(
        coach=coach,
        session_type=session_type,
        name="Five",
        session_count=5,
        price=50000,
        currency="usd",
    )
    with django_capture_on_commit_callbacks(execute=True):
        paid, paid_payment = packages.package_purchase_start(
            client=UserFactory(), package=package, urls=URLS
        )
        unpaid, _ = packages.package_purchase_start(
            client=UserFactory(), package=package, urls=URLS
        )
        sandbox.pay_checkout_session(paid_payment.stripe_checkout_session_id)
        sandbox.deliver_pending_events()
    paid.refresh_from_db()
    paid_payment.refresh_from_db()
    # a separate charge on the platform: no destination, in the purchase's transfer group
    assert paid.status == "active" and paid_payment.status == PaymentStatus.SUCCEEDED
    assert paid_payment.kind == "package" and not paid_payment.stripe_transfer_id
    with django_capture_on_commit_callbacks(execute=True):
        sandbox.advance_clock(35 * 60 + 5)
        sandbox.deliver_pending_events()
    unpaid.refresh_from_db()
    assert unpaid.status == "expired"
    assert unpaid.payment.status == PaymentStatus.CANCELLED


def test_the_profile_offers_packages_and_buying_one_goes_to_checkout(
    paid_coach, sandbox, client, django_capture_on_commit_callbacks
):
    from bookings.models import PackagePurchase
    from tests.bookings.factories import PackageFactory

    coach, session_type = paid_coach  # $120.00 a session
    five = PackageFactory(session_type=session_type, name="Five", price=51000)
    PackageFactory(
        session_type=session_type, name="Retired", session_count=3, price=30000, is_active=False
    )
    # a visitor sees the offer, what a session costs in it and the saving, and is asked to sign in
    page = client.get(coach.get_absolute_url()).content.decode()
    assert "Five" in page and "$510.00" in page and "$102.00 a session, save 15%" in page
    assert "Retired" not in page
    assert "Sign in to buy" in page
    # a signed-in client gets the form, and buying goes to Stripe Checkout
    buyer = UserFactory()
    client.force_login(buyer)
    page = client.get(coach.get_absolute_url()).content.decode()
    buy_url = reverse("bookings:package_buy", args=[five.pk])
    assert f'action="{buy_url}"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(buy_url)
    purchase = PackagePurchase.objects.get(client=buyer)
    assert response.status_code == 303
    assert response["Location"] == purchase.payment.checkout_url
    # the coach does not see a button to buy their own package
    client.force_login(coach.user)
    assert f'action="{buy_url}"' not in client.get(coach.get_absolute_url()).content.decode()


def test_demo_packages_are_offered_and_seeding_twice_changes_nothing(db, client):
    from bookings.demo import seed_demo_packages
    from bookings.models import Package
    from coaches.demo import seed_demo_coaches

    coach_users = seed_demo_coaches()
    first = seed_demo_packages(coach_users)
    again = seed_demo_packages(coach_users)
    assert [package.pk for package in first] == [package.pk for package in again]
    assert Package.objects.count() == len(first) == 3
    main = next(p for p in first if p.coach.user.email == "coach@demo.coach")
    assert main.price == main.session_type.price * 5 * 90 // 100
    assert "Five sessions" in client.get(main.coach.get_absolute_url()).content.decode()


def test_stripe_clock_ahead_is_learned_once_and_used_by_the_next_hold(
    paid_coach, sandbox, django_capture_on_commit_callbacks
):
    from payments import gateway
    from payments.services import charges

    # given: Stripe's clock an hour ahead of ours, not known yet
    _coach, session_type = paid_coach
    sandbox.advance_clock(3600)
    assert charges.stripe_clock_offset() == timedelta(0)
    # when: a first hold (its session made again with the corrected clock)
    with django_capture_on_commit_callbacks(execute=True):
        _first, first_payment = book(UserFactory(), session_type, starts_at=next_hour(days=3))
    learned = charges.stripe_clock_offset()
    # then: the offset is known, and the next hold's first request is accepted as it is
    assert abs(learned - timedelta(hours=1)) <= timedelta(seconds=3)
    with django_capture_on_commit_callbacks(execute=True):
        booking, payment = book(UserFactory(), session_type, starts_at=next_hour(days=4))
    assert charges.stripe_clock_offset() == learned
    session = gateway.checkout_session_retrieve(payment.stripe_checkout_session_id)
    assert session.metadata["payment_id"] == str(payment.pk)
    assert session.expires_at is not None and session.created is not None
    # our estimate of Stripe's clock is good to about a second: the session was not remade
    assert abs(session.expires_at - session.created - charges.CHECKOUT_LIFETIME) <= timedelta(
        seconds=2
    )
    # the hold ends on our clock no earlier than the session on Stripe's
    assert booking.hold_expires_at >= session.expires_at - learned
    assert first_payment.checkout_url and payment.checkout_url
