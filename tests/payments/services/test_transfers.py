"""Package transfers with a real Celery worker: exactly one Stripe transfer per completed
session, even when the task runs twice at once or the worker is killed in the middle."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest
from celery.result import allow_join_result
from django.db import connection

from bookings.models import Package
from bookings.services import after_session, holds, packages
from payments import gateway
from payments.gateway import stripe_client
from payments.models import Payment, Transfer
from payments.sandbox import controls
from payments.services import charges
from payments.tasks import retry_stalled_transfers, transfer_package_share
from tests.bookings.conftest import stripe_coach
from tests.bookings.factories import next_hour
from tests.bookings.services.test_checkout import URLS
from tests.conftest import start_celery_worker, wait_for
from tests.factories import UserFactory

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _paid_package(settings, sessions: int = 3):
    """A coach on the local Stripe and a client's paid package (made before the worker runs
    anything: the payment is settled as the webhook handler does)."""
    settings.SITE_URL = "http://testserver"
    controls.reset()
    controls.register_default_endpoints("http://testserver")
    controls.set_available_delay(0)
    controls.pause_deliveries()
    coach, session_type = stripe_coach()
    package = Package.objects.create(
        coach=coach,
        session_type=session_type,
        name="Three",
        session_count=sessions,
        price=30001,
        currency="usd",
    )
    client = UserFactory()
    purchase, payment = packages.package_purchase_start(client=client, package=package, urls=URLS)
    controls.pay_checkout_session(payment.stripe_checkout_session_id)
    session = gateway.checkout_session_retrieve(payment.stripe_checkout_session_id)
    charges.payment_settle(
        payment=payment, intent=gateway.payment_intent_retrieve(session.payment_intent_id)
    )
    purchase.refresh_from_db()
    assert purchase.status == "active"
    return coach, session_type, purchase


def _complete_session(coach, session_type, purchase, hours: int):
    booking = holds.booking_hold(
        client=purchase.client,
        session_type=session_type,
        starts_at=next_hour(days=2) + timedelta(hours=hours),
        package_purchase=purchase,
    )
    return after_session.booking_complete(
        booking=booking, by=coach.user, now=booking.ends_at + timedelta(minutes=1)
    )


def _stripe_transfers(purchase) -> list:
    return list(
        stripe_client()
        .v1.transfers.list(params={"transfer_group": purchase.transfer_group, "limit": 100})
        .auto_paging_iter()
    )


def _waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def test_each_completed_session_is_paid_once_even_when_the_task_runs_again(settings, celery_worker):
    # given
    coach, session_type, purchase = _paid_package(settings)
    # when: three sessions completed; the worker pays each share
    for hours in (0, 3, 6):
        _complete_session(coach, session_type, purchase, hours)
    wait_for(lambda: Transfer.objects.filter(status="paid").count() == 3, timeout=60)
    # and the task is run again, three times at once per transfer
    results = [
        transfer_package_share.delay(transfer_id)
        for transfer_id in Transfer.objects.values_list("pk", flat=True)
        for _ in range(3)
    ]
    # (an earlier eager task in this process may have left Celery believing it runs inside a
    # task, which forbids get(); this process is the test, not a worker)
    with allow_join_result():
        assert {result.get(timeout=60) for result in results} == {"paid"}
    # then: one Stripe transfer per session, the remainder on the last
    stripe_transfers = _stripe_transfers(purchase)
    assert len(stripe_transfers) == 3
    assert sorted(t["amount"] for t in stripe_transfers) == sorted(
        Transfer.objects.values_list("amount", flat=True)
    )
    assert sum(t["amount"] for t in stripe_transfers) == purchase.coach_amount
    assert Transfer.objects.get(sequence=3).amount == purchase.session_share(3)
    assert {t["destination"] for t in stripe_transfers} == {
        coach.user.connected_account.stripe_account_id
    }
    assert "payments.transfer_package_share" in celery_worker.output()


def test_a_worker_killed_after_stripe_made_the_transfer_does_not_pay_twice(settings, tmp_path):
    from marketplace.celery import app as celery_app

    coach, session_type, purchase = _paid_package(settings)
    database = {**connection.settings_dict}
    blocker = psycopg.connect(
        dbname=database["NAME"],
        user=database["USER"],
        host=database["HOST"],
        port=database["PORT"] or 5432,
        password=database["PASSWORD"] or None,
    )
    worker = start_celery_worker(tmp_path)
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = worker.queue
    try:
        # given: the local Stripe's platform balance is locked, so the worker's transfer
        # call waits inside Stripe
        blocker.execute("BEGIN")
        blocker.execute("SELECT 1 FROM stripe_sandbox_sandboxstate WHERE id = 1 FOR UPDATE")
        booking = _complete_session(coach, session_type, purchase, 0)
        transfer = Transfer.objects.get(booking=booking)
        wait_for(_waiting_on_a_lock, timeout=60, message="the worker never reached Stripe")
        # our row is locked too, then Stripe is let go: Stripe makes the transfer and the
        # worker waits to record it
        second = psycopg.connect(
            dbname=database["NAME"],
            user=database["USER"],
            host=database["HOST"],
            port=database["PORT"] or 5432,
            password=database["PASSWORD"] or None,
        )
        second.execute("BEGIN")
        second.execute("SELECT 1 FROM payments_transfer WHERE id = %s FOR UPDATE", [transfer.pk])
        blocker.execute("COMMIT")
        wait_for(lambda: len(_stripe_transfers(purchase)) == 1, timeout=60)
        wait_for(_waiting_on_a_lock, timeout=30)
        # when: the worker is killed in the middle of the task
        worker.kill()
        second.execute("COMMIT")
        second.close()
        transfer.refresh_from_db()
        assert transfer.status == "pending" and transfer.stripe_transfer_id is None
        # and a fresh worker picks the stalled transfer up again
        worker = start_celery_worker(tmp_path)
        celery_app.conf.task_default_queue = worker.queue
        with allow_join_result():
            assert retry_stalled_transfers.delay(older_than_seconds=0).get(timeout=60) == 1
        wait_for(lambda: Transfer.objects.get(pk=transfer.pk).status == "paid", timeout=60)
    finally:
        blocker.close()
        if worker.process.poll() is None:
            worker.kill()
        celery_app.conf.task_always_eager = True
        celery_app.conf.task_default_queue = "celery"
    # then: exactly one transfer on Stripe, and it is the one we recorded
    (stripe_transfer,) = _stripe_transfers(purchase)
    transfer.refresh_from_db()
    assert transfer.stripe_transfer_id == stripe_transfer["id"]
    assert stripe_transfer["amount"] == purchase.session_share(1)
    assert Payment.objects.get(package_purchase=purchase).status == "succeeded"
