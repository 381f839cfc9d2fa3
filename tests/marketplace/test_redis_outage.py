"""A frozen Redis (SIGSTOP: connections open, nothing answered) slows the site a little and
loses nothing queued.

The test's own redis-server carries the cache, the Channels layer and Celery's broker, for
the test process, the web server it runs (Django on a pool of four threads, as ``make run``
serves pages) and a real worker. While it is frozen, pages that need no Redis answer within
a second, ``/healthz`` says 503 naming Redis without internal detail, a sign-in attempt (rate
limited through the cache) is answered, and a booking's confirmation e-mails wait in the
outbox; once it is thawed the drain sends them and the worker delivers them, and every
thread the server started has finished.
"""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from a2wsgi import WSGIMiddleware
from django.core.wsgi import get_wsgi_application
from django.db import transaction
from django.utils import timezone

from bookings.models import Booking, BookingStatus
from bookings.services import holds
from marketplace.celery import app as celery_app
from marketplace.models import OutboxMessage, SentMail
from marketplace.tasks import drain_outbox
from tests.bookings.factories import BookingFactory, open_coach
from tests.conftest import wait_for
from tests.factories import UserFactory
from tests.marketplace.own_redis import RedisServer, point_at
from tests.messaging.conftest import AsgiServer, session_cookie

# The acceptance: a page that needs no Redis, and /healthz, answer within a second.
WITHIN = 1.0
WEB_THREADS = 4


@pytest.fixture
def own_redis(settings, monkeypatch):
    server = RedisServer()
    try:
        with point_at(server, settings, monkeypatch, retry_after=1.0):
            yield server
    finally:
        server.stop()


@pytest.fixture
def worker_on_own_redis(own_redis, celery_worker):
    """A real worker whose broker is the test's own Redis (started after ``own_redis``)."""
    return celery_worker


def timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def test_a_frozen_redis_slows_nothing_that_does_not_need_it_and_loses_no_task(
    own_redis, worker_on_own_redis
):
    # given: a coach's public profile, a client's hold, a signed-in client, and the server
    coach, session_type = open_coach()
    client = UserFactory()
    starts_at = (timezone.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    booking = BookingFactory(
        session_type=session_type,
        client=client,
        starts_at=starts_at,
        status=BookingStatus.HELD,
        hold_expires_at=timezone.now() + timedelta(minutes=30),
    )
    cookie = session_cookie(client)
    threads_before = set(threading.enumerate())
    pages = WSGIMiddleware(get_wsgi_application(), workers=WEB_THREADS)
    server = AsgiServer(pages).start()
    web = requests.Session()
    profile = f"{server.url}/coaches/{coach.slug}/"
    static = f"{server.url}/static/css/app.css"
    for url in (f"{server.url}/", profile, static, f"{server.url}/accounts/login/"):
        assert web.get(url, timeout=30).status_code == 200  # warm: templates, connections
    healthy = wait_for(lambda: _healthz(server.url).status_code == 200, timeout=30)
    assert healthy

    # when: Redis freezes
    own_redis.freeze()
    try:
        # then: the pages that need no Redis answer within a second
        home, seconds = timed(lambda: requests.get(f"{server.url}/", timeout=10))
        assert home.status_code == 200 and seconds < WITHIN, seconds
        page, seconds = timed(lambda: requests.get(profile, timeout=10))
        assert page.status_code == 200 and seconds < WITHIN, seconds
        assert coach.headline in page.text
        css, seconds = timed(lambda: requests.get(static, timeout=10))
        assert css.status_code == 200 and seconds < WITHIN, seconds
        signed_in, seconds = timed(
            lambda: requests.get(f"{server.url}/", cookies={"sessionid": cookie}, timeout=10)
        )
        assert signed_in.status_code == 200 and seconds < WITHIN, seconds

        # and /healthz names Redis, within a second, without internal detail
        health, seconds = timed(lambda: _healthz(server.url))
        assert health.status_code == 503 and seconds < WITHIN, seconds
        body = health.json()
        assert "redis" in body["failing"] and body["redis"] == {"ok": False}
        assert body["database"] == {"ok": True}
        assert str(own_redis.socket) not in health.text and "rror" not in health.text

        # and a sign-in attempt (its rate limits live in the cache) is answered, not a 500
        login_page = web.get(f"{server.url}/accounts/login/", timeout=10)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page.text)
        assert token
        attempt, seconds = timed(
            lambda: web.post(
                f"{server.url}/accounts/login/",
                data={
                    "csrfmiddlewaretoken": token.group(1),
                    "login": client.email,
                    "password": "not the password",
                },
                headers={"Referer": f"{server.url}/accounts/login/"},
                timeout=10,
            )
        )
        assert attempt.status_code == 200 and seconds < WITHIN, (attempt.status_code, seconds)
        assert "not correct" in attempt.text or "incorrect" in attempt.text.lower()

        # and twelve times as many requests at once as the server has threads all finish
        urls = [f"{server.url}/", profile, static, f"{server.url}/healthz"] * WEB_THREADS * 3
        with ThreadPoolExecutor(len(urls)) as burst:
            answers = list(burst.map(lambda url: requests.get(url, timeout=10), urls))
        assert sorted({answer.status_code for answer in answers}) == [200, 503]

        # and a booking confirmed meanwhile keeps its confirmation e-mails in the outbox
        def confirm() -> None:
            with transaction.atomic():
                locked = Booking.objects.select_for_update().get(pk=booking.pk)
                holds.confirm_locked(locked, source="payment")

        _, seconds = timed(confirm)
        assert seconds < WITHIN, seconds  # the publish gave up at its timeout
        waiting = list(OutboxMessage.objects.filter(sent_at__isnull=True))
        mails = [row for row in waiting if row.task == "marketplace.send_email"]
        assert {row.kwargs["to"][0] for row in mails} == {client.email, coach.user.email}
        assert len(mails) == 2
        assert Booking.objects.get(pk=booking.pk).status == BookingStatus.CONFIRMED
    finally:
        own_redis.thaw()

    # when: Redis is back and beat sends the drain to the worker
    drain_outbox.apply_async(kwargs={"older_than_seconds": 0}, ignore_result=True)

    # then: the worker delivers both confirmations, and the outbox shows them sent
    delivered = wait_for(
        lambda: (
            set(
                SentMail.objects.filter(
                    subject__startswith="[Coach Connect] Confirmed:"
                ).values_list("to", flat=True)
            )
            == {client.email, coach.user.email}
        ),
        timeout=40,
        message="the confirmations kept in the outbox were not delivered",
    )
    assert delivered
    assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()
    assert wait_for(lambda: _healthz(server.url).status_code == 200, timeout=30)

    # and every thread the server started has finished: none was left waiting on Redis
    server.stop()
    pages.executor.shutdown(wait=False)
    assert wait_for(
        lambda: not [t for t in set(threading.enumerate()) - threads_before if t.is_alive()],
        timeout=10,
        message=f"threads left: {set(threading.enumerate()) - threads_before}",
    )
    assert celery_app.conf.task_always_eager is False  # the outbox path, not eager tasks


def _healthz(url: str) -> requests.Response:
    return requests.get(f"{url}/healthz", timeout=10)
