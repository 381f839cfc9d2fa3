"""Stripe's country rules, end to end on the local Stripe: which charge and transfer design a
coach's account allows, from its country and service agreement as Stripe reports them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail

from bookings.models import BookingStatus
from bookings.services import after_session, checkout, holds
from payments import designs, gateway
from payments.gateway import stripe_client
from payments.models import (
    ConnectedAccount,
    Payment,
    PaymentKind,
    StaffAlert,
    Transfer,
    TransferStatus,
)
from payments.sandbox import controls
from payments.sandbox.models import IdempotencyKey
from payments.services import accounts, charges
from payments.tasks import retry_stalled_transfers, transfer_package_share
from tests.bookings.factories import next_hour, open_coach, paid_package
from tests.bookings.services.test_checkout import URLS, book
from tests.factories import UserFactory


@pytest.fixture
def us_platform(sandbox, settings):
    settings.PLATFORM_COUNTRY = "US"
    settings.STRIPE_SANDBOX_PLATFORM_COUNTRY = "US"
    settings.STAFF_ALERT_EMAILS = ["ops@example.test"]


def account_in(coach_user, *, country: str, service_agreement: str) -> ConnectedAccount:
    """The coach's Express account in ``country`` under ``service_agreement``, onboarded, as
    Stripe reports it after a refresh (the coach's profile says nothing about it)."""
    ConnectedAccount.objects.filter(coach=coach_user).delete()
    row = accounts.connected_account_get_or_create_row(coach=coach_user)
    snapshot = gateway.account_create(
        account=row, email=coach_user.email, country=country, service_agreement=service_agreement
    )
    row.stripe_account_id = snapshot.id
    row.save(update_fields=["stripe_account_id"])
    controls.complete_onboarding(snapshot.id, "complete")
    return accounts.connected_account_refresh(account=row)


def test_a_gb_coach_with_a_us_profile_is_booked_with_the_account_as_settlement_merchant(
    us_platform, django_capture_on_commit_callbacks
):
    # given: the profile says US; Stripe says the account is in GB (a full account)
    coach, session_type = open_coach(country="US")
    account = account_in(coach.user, country="GB", service_agreement="full")
    assert (account.country, account.service_agreement, account.state) == ("GB", "full", "active")
    # when: a client books and pays
    client = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        booking, payment = book(client, session_type)
    assert payment.on_behalf_of == account.stripe_account_id
    with django_capture_on_commit_callbacks(execute=True):
        controls.pay_checkout_session(payment.stripe_checkout_session_id)
    # then: the booking is confirmed, and Stripe settled the charge in the coach's country
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    session = stripe_client().v1.checkout.sessions.retrieve(
        payment.stripe_checkout_session_id, params={"expand": ["payment_intent"]}
    )
    assert session.payment_intent.on_behalf_of == account.stripe_account_id
    assert session.payment_intent.transfer_data.destination == account.stripe_account_id


def test_the_local_stripe_refuses_a_cross_region_destination_charge_without_on_behalf_of(
    us_platform,
):
    coach, _session_type = open_coach(country="GB")
    account = account_in(coach.user, country="GB", service_agreement="full")
    # a Checkout Session as the product made it when it trusted the profile's country
    with pytest.raises(gateway.GatewayError) as refused:
        gateway.checkout_session_create(
            idempotency_key="cross-region-without-on-behalf-of",
            amount=12000,
            currency="usd",
            product_name="Session",
            customer_email="client@example.test",
            success_url=URLS.success_url,
            cancel_url=URLS.cancel_url,
            expires_at=None,
            metadata={},
            application_fee_amount=1800,
            destination=account.stripe_account_id,
            on_behalf_of=None,
        )
    assert "Cannot create a destination charge for connected accounts in GB" in str(
        refused.value.message
    )


def test_a_new_coach_abroad_gets_a_recipient_account_and_can_sell_packages(us_platform):
    coach, _session_type = open_coach(country="US")
    ConnectedAccount.objects.filter(coach=coach.user).delete()
    account = accounts.connected_account_create(coach=coach.user, country="DE")
    controls.complete_onboarding(account.stripe_account_id, "complete")
    account = accounts.connected_account_refresh(account=account)
    assert (account.country, account.service_agreement) == ("DE", "recipient")
    assert "card_payments" not in account.capabilities
    design = designs.design_for_account(account)
    assert design.package_transfers and not design.booking_on_behalf_of


def _package_bought_before_the_rules(coach, session_type, client) -> Payment:
    """A package paid on Stripe as a charge on the platform, as the product sold them to
    every coach before it knew what a ``full`` account abroad may receive."""
    purchase = paid_package(client=client, session_type=session_type, sessions=2, price=20000)
    account = coach.user.connected_account
    payment = Payment.objects.create(
        kind=PaymentKind.PACKAGE,
        package_purchase_id=purchase.pk,
        client=client,
        coach=coach.user,
        amount=purchase.price,
        application_fee=purchase.application_fee,
        coach_amount=purchase.coach_amount,
        currency="usd",
        destination_account_id=account.stripe_account_id,
    )
    payment = charges.payment_start_checkout(
        payment=payment, product_name="Two sessions", urls=URLS
    )
    controls.pay_checkout_session(payment.stripe_checkout_session_id)
    session = gateway.checkout_session_retrieve(payment.stripe_checkout_session_id)
    charges.payment_settle(
        payment=payment, intent=gateway.payment_intent_retrieve(session.payment_intent_id)
    )
    payment.refresh_from_db()
    assert payment.stripe_charge_id
    return payment


def test_a_cross_border_package_share_to_a_full_account_fails_once_and_everyone_is_told(
    us_platform, django_capture_on_commit_callbacks
):
    # given: a coach whose account is a full account in GB, and a package paid on the platform
    coach, session_type = open_coach(country="US")
    account = account_in(coach.user, country="GB", service_agreement="full")
    client = UserFactory()
    payment = _package_bought_before_the_rules(coach, session_type, client)
    purchase = payment.package_purchase
    mail.outbox.clear()
    # when: a session is completed; its share is sent (the task runs at commit)
    with django_capture_on_commit_callbacks(execute=True):
        booking = holds.booking_hold(
            client=client,
            session_type=session_type,
            starts_at=next_hour(days=2),
            package_purchase=purchase,
        )
    with django_capture_on_commit_callbacks(execute=True):
        after_session.booking_complete(
            booking=booking, by=coach.user, now=booking.ends_at + timedelta(minutes=1)
        )
    # then: Stripe refused it for good; the row says why, staff and the coach are told
    transfer = Transfer.objects.get(booking=booking)
    assert transfer.status == TransferStatus.FAILED
    assert transfer.source_transaction == payment.stripe_charge_id
    assert transfer.failure_code == "transfers_not_allowed"
    assert "under the `full` service agreement" in transfer.last_error
    alert = StaffAlert.objects.get(kind=StaffAlert.Kind.TRANSFER_FAILED)
    assert str(transfer.pk) in alert.message and account.stripe_account_id in alert.message
    coach_mail = next(
        m for m in mail.outbox if coach.user.email in m.to and "could not pay" in m.subject
    )
    assert "full` service agreement" in coach_mail.body
    assert any("ops@example.test" in m.to for m in mail.outbox)
    # and nothing retries it: the sweep leaves it, a stray run of the task sends nothing
    with django_capture_on_commit_callbacks(execute=True):
        assert retry_stalled_transfers(older_than_seconds=0) == 0
    assert transfer_package_share(transfer.pk) == TransferStatus.FAILED
    assert IdempotencyKey.objects.filter(key__startswith=f"transfer-{transfer.pk}-").count() == 1
    assert not stripe_client().v1.transfers.list(params={"destination": account.stripe_account_id})
    assert StaffAlert.objects.filter(kind=StaffAlert.Kind.TRANSFER_FAILED).count() == 1


def test_a_full_account_abroad_is_paid_for_a_package_when_it_is_bought(
    us_platform, django_capture_on_commit_callbacks
):
    from bookings.models import Package
    from bookings.services import packages

    # given: an AU coach (Stripe sends no separate transfers from a US platform to AU)
    coach, session_type = open_coach(country="US")
    account = account_in(coach.user, country="AU", service_agreement="full")
    assert not designs.design_for_account(account).package_transfers
    package = Package.objects.create(
        coach=coach,
        session_type=session_type,
        name="Two",
        session_count=2,
        price=20000,
        currency="usd",
    )
    client = UserFactory()
    # when: a client buys it and pays
    with django_capture_on_commit_callbacks(execute=True):
        purchase, payment = packages.package_purchase_start(
            client=client, package=package, urls=URLS
        )
    with django_capture_on_commit_callbacks(execute=True):
        controls.pay_checkout_session(payment.stripe_checkout_session_id)
    purchase.refresh_from_db()
    payment.refresh_from_db()
    assert purchase.status == "active"
    # then: a destination charge settled by the coach's account paid the coach at once
    intent = stripe_client().v1.payment_intents.retrieve(payment.stripe_payment_intent_id)
    assert intent.on_behalf_of == account.stripe_account_id
    assert intent.transfer_data.destination == account.stripe_account_id
    assert intent.application_fee_amount == purchase.application_fee
    # and a completed session sends nothing more
    with django_capture_on_commit_callbacks(execute=True):
        booking = holds.booking_hold(
            client=client,
            session_type=session_type,
            starts_at=next_hour(days=2),
            package_purchase=purchase,
        )
    with django_capture_on_commit_callbacks(execute=True):
        after_session.booking_complete(
            booking=booking, by=coach.user, now=booking.ends_at + timedelta(minutes=1)
        )
    assert not Transfer.objects.filter(package_purchase=purchase).exists()
    # and the unused session is refunded from the coach, with its share of the fee
    with django_capture_on_commit_callbacks(execute=True):
        refund = packages.package_refund_unused(purchase=purchase, by=client)
    refund.refresh_from_db()
    assert refund.status == "succeeded" and refund.amount == 10000
    assert refund.reverse_transfer
    transfer = stripe_client().v1.transfers.retrieve(payment.stripe_transfer_id)
    assert transfer.amount_reversed == 10000


def test_a_hold_and_its_checkout_session_end_together_by_stripes_clock(
    paid_coach, sandbox, django_capture_on_commit_callbacks
):
    # given: Stripe's clock is three hours ahead of ours
    controls.advance_clock(3 * 3600)
    _coach, session_type = paid_coach
    # when: a client holds a slot
    with django_capture_on_commit_callbacks(execute=True):
        booking, payment = checkout.booking_book(
            client=UserFactory(),
            session_type=session_type,
            starts_at=next_hour(days=3),
            topic="",
            client_time_zone="UTC",
            urls_for=lambda booking: URLS,
        )
    # then: the session expires 31 to 35 minutes after Stripe made it, and the hold lasts
    # exactly as long on our clock
    session = stripe_client().v1.checkout.sessions.retrieve(payment.stripe_checkout_session_id)
    lifetime = session.expires_at - session.created
    assert 31 * 60 <= lifetime <= 35 * 60
    booking.refresh_from_db()
    assert booking.hold_expires_at == payment.checkout_expires_at
    held_for = (booking.hold_expires_at - booking.created_at).total_seconds()
    assert abs(held_for - lifetime) <= 5
