"""Webhook receipt: answered ahead of the site's middleware, handed off through the inbox.

A delivery's row is what is handed to processing: a worker's dispatcher queues the rows still
``received``, so an event accepted while no worker runs, or while the broker is down, is
processed once a worker runs; a takeover after a dispatcher dies loses nothing."""

from __future__ import annotations

import json
import os
import signal
import statistics
import time
import uuid

import pytest
from django.test import Client
from django.urls import reverse

from marketplace.celery import app as celery_app
from marketplace.models import OutboxMessage
from payments.middleware import DELIVERIES, PREFIX
from payments.models import WebhookEvent, WebhookEventStatus
from payments.sandbox import events
from tests.conftest import start_celery_worker, wait_for
from tests.marketplace.own_redis import use_broker


def _deliver(client: Client, event_id: str, settings, *, path: str = "/payments/webhooks/stripe/"):
    payload = json.dumps(
        {
            "id": event_id,
            "object": "event",
            "api_version": settings.STRIPE_API_VERSION,
            "created": int(time.time()),
            "data": {"object": {"id": "cus_1", "object": "customer"}},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": "customer.created",
        }
    )
    secrets = (
        settings.STRIPE_CONNECT_WEBHOOK_SECRETS
        if path.endswith("/connect/")
        else settings.STRIPE_WEBHOOK_SECRETS
    )
    return client.post(
        path,
        data=payload,
        content_type="application/json",
        headers={"Stripe-Signature": events.sign(payload, secrets[0])},
    )


def _processed(event_id: str) -> bool:
    return WebhookEvent.objects.filter(
        stripe_event_id=event_id, status=WebhookEventStatus.IGNORED
    ).exists()


@pytest.fixture
def not_eager(settings):
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    settings.CELERY_TASK_ALWAYS_EAGER = False
    yield
    celery_app.conf.task_always_eager = previous


def test_the_endpoints_are_under_the_prefix_the_middleware_answers():
    assert reverse("payments:webhook_platform").startswith(PREFIX)
    assert reverse("payments:webhook_connect").startswith(PREFIX)


@pytest.mark.django_db
def test_a_delivery_skips_the_sites_middleware_and_is_counted(client, settings):
    counted = DELIVERIES.labels("connect", "200")
    before = counted._value.get()
    # when: a delivery and a page
    delivery = _deliver(client, "evt_lean_1", settings, path="/payments/webhooks/stripe/connect/")
    page = client.get("/")
    # then: the page went through the stack (its security headers), the delivery did not
    assert page.has_header("Content-Security-Policy") and page.has_header("X-Frame-Options")
    assert delivery.status_code == 200
    assert not delivery.has_header("Content-Security-Policy")
    assert not delivery.has_header("X-Frame-Options")
    assert not delivery.cookies
    assert counted._value.get() == before + 1
    # and the view's own checks still hold: a bad signature is 400, a GET 405
    bad = client.post(
        "/payments/webhooks/stripe/",
        data="{}",
        content_type="application/json",
        headers={"Stripe-Signature": "t=1,v1=00"},
    )
    assert bad.status_code == 400
    assert client.get("/payments/webhooks/stripe/").status_code == 405
    assert WebhookEvent.objects.count() == 1


@pytest.mark.django_db
def test_receipt_does_not_touch_the_broker(not_eager, client, settings):
    # given: a broker nobody listens on
    previous = celery_app.conf.broker_url
    use_broker(f"redis+socket:///tmp/cc-no-broker-{uuid.uuid4().hex[:12]}.sock")
    try:
        # when: an event arrives twice
        assert _deliver(client, "evt_nobroker", settings).status_code == 200
        assert _deliver(client, "evt_nobroker", settings).status_code == 200
    finally:
        use_broker(previous)
    # then: one row, waiting for a dispatcher; nothing written for the broker
    event = WebhookEvent.objects.get(stripe_event_id="evt_nobroker")
    assert event.status == WebhookEventStatus.RECEIVED
    assert not OutboxMessage.objects.exists()


@pytest.mark.worker
def test_an_event_accepted_while_no_worker_runs_is_processed_when_one_starts(
    transactional_db, not_eager, settings, tmp_path
):
    # given: events accepted with no worker running (one of them twice)
    client = Client()
    for event_id in ("evt_early_1", "evt_early_2", "evt_early_1"):
        assert _deliver(client, event_id, settings).status_code == 200
    assert WebhookEvent.objects.filter(status=WebhookEventStatus.RECEIVED).count() == 2
    # when: a worker starts
    worker = start_celery_worker(tmp_path)
    previous_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = worker.queue
    try:
        # then: its dispatcher queues both, each processed once
        wait_for(
            lambda: _processed("evt_early_1") and _processed("evt_early_2"),
            message="not processed:\n" + worker.output(),
        )
        assert set(WebhookEvent.objects.values_list("attempts", flat=True)) == {1}
    finally:
        celery_app.conf.task_default_queue = previous_queue
        os.killpg(worker.process.pid, signal.SIGTERM)
        worker.process.wait(timeout=15)


@pytest.mark.worker
def test_when_the_dispatching_worker_dies_another_takes_over(
    transactional_db, not_eager, settings, tmp_path
):
    # given: two workers; the first started holds the dispatcher's lock
    first = start_celery_worker(tmp_path)
    second = start_celery_worker(tmp_path, queue=first.queue)
    previous_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = first.queue
    client = Client()
    try:
        assert _deliver(client, "evt_before", settings).status_code == 200
        wait_for(lambda: _processed("evt_before"), message=first.output() + second.output())
        # when: the first is killed (as a crash would) and an event arrives at once
        first.kill()
        assert _deliver(client, "evt_after", settings).status_code == 200
        # then: the second worker's dispatcher takes over and it is processed
        wait_for(lambda: _processed("evt_after"), message=second.output())
    finally:
        celery_app.conf.task_default_queue = previous_queue
        for worker in (first, second):
            if worker.process.poll() is None:
                os.killpg(worker.process.pid, signal.SIGTERM)
                worker.process.wait(timeout=15)


@pytest.mark.worker
def test_an_event_is_processed_within_a_fraction_of_a_second(celery_worker, settings):
    # given: a worker whose dispatcher runs
    client = Client()
    assert _deliver(client, "evt_warm", settings).status_code == 200
    wait_for(lambda: _processed("evt_warm"), message=celery_worker.output())
    # when: events arrive one at a time
    lags = []
    for number in range(10):
        event_id = f"evt_lag_{number}"
        started = time.monotonic()
        assert _deliver(client, event_id, settings).status_code == 200
        while not _processed(event_id):
            time.sleep(0.005)
        lags.append((time.monotonic() - started) * 1000)
    # then: each is processed (received -> queued -> ignored by the worker) well within a second
    print(f"receipt to processed: p50 {statistics.median(lags):.0f} ms, max {max(lags):.0f} ms")
    assert statistics.median(lags) < 500, lags
