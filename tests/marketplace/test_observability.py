"""Observability: a request's id on its JSON log lines and on those of the task it queued (a
real worker), Sentry only with a DSN, and ``/metrics`` with our own figures for a scraper's
token or staff, refused to anyone else."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone

from bookings.models import BookingStatus, BookingStatusChange
from marketplace import observability
from marketplace.models import SentMail, StatusChange
from payments.models import WebhookEndpoint, WebhookEvent
from tests.bookings.factories import BookingFactory
from tests.conftest import BASE_DIR, wait_for
from tests.factories import UserFactory
from tests.mfa import sign_in_with_totp


def _json_lines(text: str) -> list[dict]:
    lines = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return lines


@pytest.fixture
def web_log():
    """The JSON lines this process logs, as the web's console handler writes them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(observability.formatter("json"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


@pytest.mark.worker
@pytest.mark.urls("tests.marketplace.queueing_urls")
def test_a_requests_id_is_on_its_log_line_and_on_the_lines_of_the_task_it_queued(
    celery_worker, client, settings, web_log
):
    # when a request that queues a task (an e-mail) is made
    response = client.get("/test/queue-mail/")
    assert response.status_code == 200
    # then its lines carry one request id, and the task it queued is named with it
    web = _json_lines(web_log.getvalue())
    finished = [line for line in web if line["event"] == "request_finished"]
    assert finished, web
    request_id = finished[-1]["request_id"]
    assert finished[-1]["code"] == 200
    enqueued = [
        line
        for line in web
        if line["event"] == "task_enqueued" and line.get("request_id") == request_id
    ]
    assert enqueued and enqueued[0]["child_task_name"] == "marketplace.send_email"
    task_id = enqueued[0]["child_task_id"]
    wait_for(
        lambda: SentMail.objects.filter(subject="[Coach Connect] Queued").exists(),
        message="the worker did not send the e-mail",
    )

    # and the worker's lines of that task carry the request's id and the task's own id
    def task_lines():
        lines = [
            line for line in _json_lines(celery_worker.output()) if line.get("task_id") == task_id
        ]
        return lines if any(line["event"] == "task_succeeded" for line in lines) else None

    lines = wait_for(task_lines, message="no log line of the task:\n" + celery_worker.output())
    assert {line["event"] for line in lines} >= {"task_started", "task_succeeded"}
    assert all(line.get("request_id") == request_id for line in lines), lines


def _sentry_in_a_fresh_process(**env: str) -> dict:
    code = (
        "import json, django; django.setup(); import sentry_sdk; client = sentry_sdk.get_client();"
        "print(json.dumps({'active': client.is_active(),"
        " 'integrations': sorted(client.integrations)}))"
    )
    environment = {key: value for key, value in os.environ.items() if key != "SENTRY_DSN"}
    environment.update({"DJANGO_SETTINGS_MODULE": "marketplace.settings.test", **env})
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_sentry_is_started_only_with_a_dsn():
    assert _sentry_in_a_fresh_process() == {"active": False, "integrations": []}
    # a DSN on this machine that nothing listens on: the client starts, nothing is sent
    started = _sentry_in_a_fresh_process(SENTRY_DSN="http://public@127.0.0.1:9/1")
    assert started["active"] is True
    assert {"celery", "django"} <= set(started["integrations"])


# --- /metrics ----------------------------------------------------------------------------------


@pytest.fixture
def history(db):
    """Two holds (one expired), one confirmed by its payment, one made by a reschedule; two
    webhook events processed 1 and 3 s after Stripe made them, one waiting; a failed
    transfer."""
    held, expired = (
        BookingFactory(status=BookingStatus.CONFIRMED),
        BookingFactory(status=BookingStatus.EXPIRED),
    )
    moved = BookingFactory(status=BookingStatus.CONFIRMED)
    for booking, moves in (
        (held, [("", "held"), ("held", "confirmed")]),
        (expired, [("", "held"), ("held", "expired")]),
        (moved, [("", "confirmed")]),
    ):
        for before, after in moves:
            BookingStatusChange.objects.create(
                booking=booking, from_status=before, to_status=after, source="test"
            )
    now = timezone.now()
    for number, lag, status in ((1, 1, "succeeded"), (2, 3, "succeeded"), (3, None, "received")):
        WebhookEvent.objects.create(
            stripe_event_id=f"evt_metrics_{number}",
            endpoint=WebhookEndpoint.PLATFORM,
            type="charge.succeeded",
            stripe_created_at=now - timedelta(minutes=2),
            payload={},
            status=status,
            processed_at=now - timedelta(minutes=2) + timedelta(seconds=lag) if lag else None,
        )
    StatusChange.objects.create(
        model="payments.transfer",
        object_id=1,
        from_state="pending",
        to_state="failed",
        changed_at=now,
    )


def test_metrics_expose_our_figures_to_the_scrapers_token(client, history, settings):
    settings.METRICS_TOKEN = "scrape-token-for-tests"
    response = client.get("/metrics", headers={"Authorization": "Bearer scrape-token-for-tests"})
    assert response.status_code == 200
    text = response.content.decode()
    assert "coach_connect_holds_created_total 2.0" in text
    assert "coach_connect_holds_expired_total 1.0" in text
    assert "coach_connect_bookings_confirmed_total 1.0" in text
    assert 'coach_connect_webhook_lag_seconds{quantile="0.5"} 2.0' in text
    assert 'coach_connect_webhook_lag_seconds{quantile="0.95"} 2.9' in text
    assert "coach_connect_webhook_backlog 1.0" in text
    assert "coach_connect_transfers_failed_total 1.0" in text
    # and django-prometheus' own request figures
    assert "django_http_requests_total_by_method_total" in text


def test_metrics_refuse_anyone_but_the_token_and_staff(client, history, settings):
    settings.METRICS_TOKEN = "scrape-token-for-tests"
    anonymous = client.get("/metrics")
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"].startswith("Bearer")
    assert b"coach_connect" not in anonymous.content
    wrong = client.get("/metrics", headers={"Authorization": "Bearer guessed"})
    assert wrong.status_code == 403
    client.force_login(UserFactory())
    assert client.get("/metrics").status_code == 403
    # a staff member past the second factor reads them in the browser
    sign_in_with_totp(client, UserFactory(is_staff=True))
    assert client.get("/metrics").status_code == 200


def test_without_a_token_no_bearer_is_accepted(client, history, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 403
