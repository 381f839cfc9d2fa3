"""Staff payouts with a real Celery worker: exactly one Stripe transfer per payout request
when two staff members approve it at once, when its task runs several times at once, and
when the worker is killed after Stripe made the transfer but before we recorded it."""

from __future__ import annotations

import threading

import psycopg
import pytest
from celery.result import allow_join_result
from django.db import connection, connections

from marketplace.errors import Conflict
from payments.models import PayoutRequest, PayoutRequestStatus, Transfer
from payments.sandbox import controls
from payments.services import payout_requests as payouts
from payments.tasks import execute_payout_request, retry_stalled_transfers
from tests.conftest import start_celery_worker, wait_for
from tests.factories import UserFactory
from tests.payments.payouts import fund_platform, invited_payee, stripe_transfers

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _setup(settings):
    settings.SITE_URL = "http://testserver"
    controls.reset()
    controls.register_default_endpoints("http://testserver")
    controls.pause_deliveries()
    staff = UserFactory(is_staff=True)
    winner = invited_payee(staff=staff)
    fund_platform()
    return staff, winner


def _connect() -> psycopg.Connection:
    database = connection.settings_dict
    return psycopg.connect(
        dbname=database["NAME"],
        user=database["USER"],
        host=database["HOST"],
        port=database["PORT"] or 5432,
        password=database["PASSWORD"] or None,
    )


def _waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def test_approved_twice_at_once_and_run_again_it_is_still_one_transfer(settings, celery_worker):
    # given: a 500.00 prize asked for by one staff member
    staff, winner = _setup(settings)
    approvers = [UserFactory(is_staff=True), UserFactory(is_staff=True)]
    request = payouts.payout_request_create(
        recipient=winner, amount=50000, currency="usd", reason="prize", by=staff
    )
    # when: two other staff members approve it at the same moment
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def approve(approver) -> None:
        try:
            barrier.wait()
            payouts.payout_request_approve(payout_request=request, by=approver)
            outcomes.append("approved")
        except Conflict:
            outcomes.append("conflict")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=approve, args=(a,)) for a in approvers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    # then: one approval, one clear refusal, one transfer row
    assert sorted(outcomes) == ["approved", "conflict"]
    assert Transfer.objects.filter(payout_request=request).count() == 1
    wait_for(
        lambda: PayoutRequest.objects.get(pk=request.pk).status == PayoutRequestStatus.PAID,
        timeout=60,
    )
    # and when the task is run three more times at once
    results = [execute_payout_request.delay(request.pk) for _ in range(3)]
    with allow_join_result():
        assert {result.get(timeout=60) for result in results} == {"paid"}
    # then: still exactly one Stripe transfer, of the prize less the 3% fee
    (transfer,) = stripe_transfers(request)
    assert transfer.amount == 48500
    assert Transfer.objects.get(payout_request=request).stripe_transfer_id == transfer.id
    assert "payments.execute_payout_request" in celery_worker.output()


def test_a_worker_killed_after_stripe_made_the_transfer_does_not_pay_twice(settings, tmp_path):
    from marketplace.celery import app as celery_app

    staff, winner = _setup(settings)
    request = payouts.payout_request_create(
        recipient=winner, amount=20000, currency="usd", reason="bonus", by=staff
    )
    blocker = _connect()
    worker = start_celery_worker(tmp_path)
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = worker.queue
    try:
        # given: the local Stripe's platform balance is locked, so the worker's transfer call
        # waits inside Stripe
        blocker.execute("BEGIN")
        blocker.execute("SELECT 1 FROM stripe_sandbox_sandboxstate WHERE id = 1 FOR UPDATE")
        payouts.payout_request_approve(payout_request=request, by=staff)
        transfer = Transfer.objects.get(payout_request=request)
        wait_for(_waiting_on_a_lock, timeout=60, message="the worker never reached Stripe")
        # our transfer row is locked too, then Stripe is let go: Stripe makes the transfer
        # and the worker waits to record it
        second = _connect()
        second.execute("BEGIN")
        second.execute("SELECT 1 FROM payments_transfer WHERE id = %s FOR UPDATE", [transfer.pk])
        blocker.execute("COMMIT")
        wait_for(lambda: len(stripe_transfers(request)) == 1, timeout=60)
        wait_for(_waiting_on_a_lock, timeout=30)
        # when: the worker is killed in the middle of the task
        worker.kill()
        second.execute("COMMIT")
        second.close()
        request.refresh_from_db()
        assert request.status == PayoutRequestStatus.APPROVED
        # and a fresh worker picks the stalled payout up again
        worker = start_celery_worker(tmp_path)
        celery_app.conf.task_default_queue = worker.queue
        with allow_join_result():
            assert retry_stalled_transfers.delay(older_than_seconds=0).get(timeout=60) == 1
        wait_for(
            lambda: PayoutRequest.objects.get(pk=request.pk).status == PayoutRequestStatus.PAID,
            timeout=60,
        )
    finally:
        blocker.close()
        if worker.process.poll() is None:
            worker.kill()
        celery_app.conf.task_always_eager = True
        celery_app.conf.task_default_queue = "celery"
    # then: exactly one transfer on Stripe, the one we recorded, under the first attempt's key
    (stripe_transfer,) = stripe_transfers(request)
    transfer.refresh_from_db()
    assert transfer.stripe_transfer_id == stripe_transfer.id
    assert (transfer.attempts, transfer.idempotency_key) == (1, f"payout-request-{request.pk}-1")
    assert stripe_transfer.amount == 20000
