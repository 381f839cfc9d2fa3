"""A package share's attempts on the local Stripe: a new idempotency key after each error
Stripe answered, the same key after a lost answer, and an earlier attempt's transfer found
before a new one is made."""

from __future__ import annotations

import zlib
from datetime import timedelta

import psycopg
import pytest
from django.core import mail
from django.db import connection

from bookings.models import Package
from bookings.services import after_session, holds, packages
from payments import gateway
from payments.gateway import stripe_client
from payments.models import Payment, StaffAlert, Transfer, TransferStatus
from payments.sandbox import controls
from payments.sandbox.models import IdempotencyKey
from payments.services import charges, transfers
from tests.bookings.conftest import stripe_coach
from tests.bookings.factories import next_hour
from tests.bookings.services.test_checkout import URLS
from tests.factories import UserFactory


@pytest.fixture
def package_session(stripe_local, django_capture_on_commit_callbacks):
    """A paid package (its charge still pending on the platform) and one completed session
    whose transfer row exists; its task has not run."""
    controls.pause_deliveries()
    coach, session_type = stripe_coach()
    package = Package.objects.create(
        coach=coach,
        session_type=session_type,
        name="Two",
        session_count=2,
        price=20000,
        currency="usd",
    )
    client = UserFactory()
    purchase, payment = packages.package_purchase_start(client=client, package=package, urls=URLS)
    controls.pay_checkout_session(payment.stripe_checkout_session_id)
    session = gateway.checkout_session_retrieve(payment.stripe_checkout_session_id)
    charges.payment_settle(
        payment=payment, intent=gateway.payment_intent_retrieve(session.payment_intent_id)
    )
    booking = holds.booking_hold(
        client=client,
        session_type=session_type,
        starts_at=next_hour(days=2),
        package_purchase=purchase,
    )
    # the task is queued at commit; this test runs it itself
    with django_capture_on_commit_callbacks(execute=False):
        after_session.booking_complete(
            booking=booking, by=coach.user, now=booking.ends_at + timedelta(minutes=1)
        )
    return Transfer.objects.get(booking=booking), Payment.objects.get(pk=payment.pk)


def _stripe_transfers(transfer: Transfer) -> list:
    return list(
        stripe_client()
        .v1.transfers.list(params={"transfer_group": transfer.transfer_group})
        .auto_paging_iter()
    )


def test_a_share_draws_on_its_package_charge_while_the_platform_has_nothing_available(
    package_session,
):
    transfer, payment = package_session
    assert stripe_client().v1.balance.retrieve().available[0].amount == 0
    assert transfer.source_transaction == payment.stripe_charge_id
    assert transfers.transfer_execute(transfer_id=transfer.pk).status == TransferStatus.PAID
    (made,) = _stripe_transfers(transfer)
    assert made.source_transaction == payment.stripe_charge_id
    assert made.metadata["transfer_id"] == str(transfer.pk)


def test_an_error_stripe_answered_moves_the_share_to_a_new_key(
    package_session, django_capture_on_commit_callbacks
):
    # given: a share with no charge to draw on (its package's charge unknown to the row), and
    # a platform with nothing available: Stripe answers balance_insufficient
    transfer, _payment = package_session
    Transfer.objects.filter(pk=transfer.pk).update(source_transaction="")
    Payment.objects.filter(pk=_payment.pk).update(stripe_charge_id="")
    with pytest.raises(transfers.TransferRetry):
        transfers.transfer_execute(transfer_id=transfer.pk)
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.WAITING_FOR_BALANCE
    assert (transfer.attempts, transfer.idempotency_key) == (2, f"transfer-{transfer.pk}-2")
    assert transfer.failure_code == "balance_insufficient" and transfer.next_attempt_at
    # when: money becomes available, the next attempt goes out under its own key
    controls.advance_clock(3 * 86400)
    assert transfers.transfer_execute(transfer_id=transfer.pk).status == TransferStatus.PAID
    # then: one transfer, and Stripe saw two keys (the first one's error was never replayed)
    assert len(_stripe_transfers(transfer)) == 1
    keys = set(
        IdempotencyKey.objects.filter(key__startswith=f"transfer-{transfer.pk}-").values_list(
            "key", flat=True
        )
    )
    assert keys == {f"transfer-{transfer.pk}-1", f"transfer-{transfer.pk}-2"}


def test_an_earlier_attempt_that_made_the_transfer_is_found_not_repeated(package_session):
    # given: attempt 1 made the transfer at Stripe but its answer was taken for an error
    transfer, payment = package_session
    made = gateway.transfer_create(
        idempotency_key=f"transfer-{transfer.pk}-1",
        amount=transfer.amount,
        currency=transfer.currency,
        destination=transfer.destination_account_id,
        transfer_group=transfer.transfer_group,
        source_transaction=payment.stripe_charge_id,
        metadata={"transfer_id": str(transfer.pk), "booking_id": str(transfer.booking_id)},
    )
    Transfer.objects.filter(pk=transfer.pk).update(
        attempts=2, idempotency_key=f"transfer-{transfer.pk}-2"
    )
    # when: attempt 2 runs
    result = transfers.transfer_execute(transfer_id=transfer.pk)
    # then: it records attempt 1's transfer and makes none
    assert result.status == TransferStatus.PAID and result.stripe_transfer_id == made.id
    assert len(_stripe_transfers(transfer)) == 1
    assert not IdempotencyKey.objects.filter(key=f"transfer-{transfer.pk}-2").exists()


def test_runs_of_one_attempt_share_its_key(package_session):
    transfer, _payment = package_session
    first = transfers.transfer_execute(transfer_id=transfer.pk)
    again = transfers.transfer_execute(transfer_id=transfer.pk)
    assert first.status == again.status == TransferStatus.PAID
    assert first.stripe_transfer_id == again.stripe_transfer_id
    assert len(_stripe_transfers(transfer)) == 1


def test_a_request_stripe_is_still_running_under_the_key_keeps_the_key(package_session):
    # given: another request with the share's key is in progress at Stripe (the local
    # Stripe's per-key lock is held elsewhere)
    transfer, _payment = package_session
    database = connection.settings_dict
    other = psycopg.connect(
        dbname=database["NAME"],
        user=database["USER"],
        host=database["HOST"],
        port=database["PORT"] or 5432,
        autocommit=False,
    )
    lock_id = zlib.crc32(f"\x00transfer-{transfer.pk}-1".encode()) - 2**31
    other.execute("SELECT pg_advisory_xact_lock(%s, %s)", [7_357_357, lock_id])
    try:
        # when: this run sends it, Stripe answers 409 idempotency_key_in_use
        with pytest.raises(transfers.TransferRetry):
            transfers.transfer_execute(transfer_id=transfer.pk)
    finally:
        other.rollback()
        other.close()
    # then: the attempt keeps its key (a new one could pay twice), and the next run succeeds
    transfer.refresh_from_db()
    assert (transfer.attempts, transfer.idempotency_key) == (1, f"transfer-{transfer.pk}-1")
    assert transfer.failure_code == "idempotency_key_in_use"
    assert transfers.transfer_execute(transfer_id=transfer.pk).status == TransferStatus.PAID
    assert len(_stripe_transfers(transfer)) == 1


def test_staff_send_a_failed_share_again_once_its_cause_is_fixed(
    package_session, settings, django_capture_on_commit_callbacks
):
    # given: the coach's account cannot receive transfers: Stripe refuses the share for good
    settings.STAFF_ALERT_EMAILS = ["ops@example.test"]
    transfer, _payment = package_session
    controls.update_account(transfer.destination_account_id, disabled_reason="platform_paused")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        failed = transfers.transfer_execute(transfer_id=transfer.pk)
    assert failed.status == TransferStatus.FAILED
    assert failed.failure_code == "insufficient_capabilities_for_transfer"
    assert StaffAlert.objects.filter(kind=StaffAlert.Kind.TRANSFER_FAILED).count() == 1
    coach_mail = next(m for m in mail.outbox if "could not pay" in m.subject)
    assert "/payments/setup/" in coach_mail.body
    # when: Stripe enables the account again and staff send the share again
    controls.verify_account(transfer.destination_account_id)
    with django_capture_on_commit_callbacks(execute=True):
        transfers.transfer_send_again(transfer=failed)
    # then: a new attempt under a new key paid it, once
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.PAID
    assert transfer.idempotency_key == f"transfer-{transfer.pk}-2"
    assert len(_stripe_transfers(transfer)) == 1
