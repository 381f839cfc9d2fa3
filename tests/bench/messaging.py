"""Benchmark: WebSocket delivery latency with 100 concurrent conversations, and message-posting
throughput beside a bare Django baseline, in the same run.

    .venv/bin/python tests/bench/messaging.py

It starts two uvicorn servers (``--workers 2``, DEBUG off, the project's settings): the
product (``marketplace.asgi:application``) and a bare Django app (same settings and
middleware, one view that answers ``{"ok": true}``, written to a temporary module).
It creates 100 client/coach pairs with a thread each on the configured database
(``DATABASE_URL``, else the embedded Postgres), then:

1. Delivery: each coach's browser is played by a WebSocket on its conversation; each client
   posts through the REST API (token auth) one message every ~10 s (jittered) for 30 s. The
   latency of a message is from the moment its POST starts to the moment the coach's socket
   receives it (one clock: both ends live in this process); ``fanout`` is from the POST's
   answer to the receipt. Every message must arrive.
2. Posting throughput: 20 clients post as fast as they can (closed loop) for 8 s; then the
   same load against the bare Django view.

It ends by printing one JSON line. Other engineers load this machine at the same time, so
the figures are pessimistic. The bench data is deleted at the end.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import WORKERS, percentile, start_server, stop_server  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings.development")

CONVERSATIONS = 100
DELIVERY_SECONDS = 30.0
# A person in a live chat writes about one message every ten seconds or slower.
SEND_INTERVAL_SECONDS = 10.0
THROUGHPUT_SECONDS = 8.0
TARGET_P95_MS = 200.0
# Django's ASGI handler runs each request's sync code in its own thread, so every request in
# flight holds a database connection: the closed loop stays well under Postgres's
# max_connections, which this machine's other test runs share.
THROUGHPUT_CONCURRENCY = 20


# --- the bare Django baseline app -----------------------------------------------------------

BASELINE_MODULE = """
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings.production")
import django

django.setup()
from a2wsgi import WSGIMiddleware
from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def bare(request):
    return JsonResponse({"ok": True}, status=201)


urlpatterns = [path("bare/", bare)]
settings.ROOT_URLCONF = __name__
# served like the product's HTTP (marketplace/asgi.py): Django's WSGI handler on threads
application = WSGIMiddleware(get_wsgi_application(), workers=settings.WEB_THREADS)
"""


# --- driver ---------------------------------------------------------------------------------


def create_data(prefix: str):
    """100 client/coach pairs, a thread each, API tokens and browser sessions."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from rest_framework.authtoken.models import Token

    from marketplace.models import Role, User
    from messaging import services

    pairs = []
    for index in range(CONVERSATIONS):
        client = User(email=f"{prefix}-client{index}@bench.test", role=Role.CLIENT)
        coach = User(email=f"{prefix}-coach{index}@bench.test", role=Role.COACH)
        for user in (client, coach):
            user.set_unusable_password()
            user.save()
        thread = services.thread_open(by=client, coach=coach)
        token = Token.objects.create(user=client).key
        session = SessionStore()
        session[SESSION_KEY] = str(coach.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = coach.get_session_auth_hash()
        session.create()
        pairs.append({"thread": thread.pk, "token": token, "coach_session": session.session_key})
    return pairs


def delete_data(prefix: str, pairs) -> None:
    from django.contrib.sessions.models import Session

    from marketplace.models import User

    Session.objects.filter(session_key__in=[pair["coach_session"] for pair in pairs]).delete()
    User.objects.filter(email__startswith=f"{prefix}-").delete()


async def measure_delivery(host: str, pairs) -> dict:
    import httpx
    import websockets

    sent_at: dict[tuple[int, int], float] = {}
    answered_at: dict[tuple[int, int], float] = {}
    received_at: dict[tuple[int, int], float] = {}
    post_ms: list[float] = []
    errors: list[str] = []

    async def listen(pair, ready: asyncio.Event, stop: asyncio.Event) -> None:
        headers = {"Cookie": f"sessionid={pair['coach_session']}", "Origin": f"http://{host}"}
        async with websockets.connect(
            f"ws://{host}/ws/messages/threads/{pair['thread']}/",
            additional_headers=headers,
            max_queue=None,
        ) as socket_:
            ready.set()
            while not stop.is_set():
                try:
                    raw = await asyncio.wait_for(socket_.recv(), timeout=0.5)
                except TimeoutError:
                    continue
                now = time.perf_counter()
                event = json.loads(raw)
                if event.get("kind") == "message":
                    received_at.setdefault(
                        (event["message"]["thread"], event["message"]["seq"]), now
                    )

    async def talk(pair, http: httpx.AsyncClient, until: float) -> None:
        await asyncio.sleep(random.uniform(0, SEND_INTERVAL_SECONDS))
        index = 0
        while time.perf_counter() < until:
            index += 1
            started = time.perf_counter()
            try:
                response = await http.post(
                    f"/api/messages/threads/{pair['thread']}/messages/",
                    json={"body": f"bench message {index}"},
                    headers={"Authorization": f"Token {pair['token']}"},
                )
            except httpx.HTTPError as error:
                errors.append(repr(error))
                continue
            if response.status_code != 201:
                errors.append(f"{response.status_code} {response.text[:200]}")
            else:
                seq = response.json()["seq"]
                answered = time.perf_counter()
                sent_at[(pair["thread"], seq)] = started
                answered_at[(pair["thread"], seq)] = answered
                post_ms.append((answered - started) * 1000)
            await asyncio.sleep(SEND_INTERVAL_SECONDS * random.uniform(0.75, 1.25))

    stop = asyncio.Event()
    readies = [asyncio.Event() for _ in pairs]
    listeners = [
        asyncio.create_task(listen(pair, ready, stop)) for pair, ready in zip(pairs, readies)
    ]
    await asyncio.wait_for(asyncio.gather(*(ready.wait() for ready in readies)), timeout=60)
    limits = httpx.Limits(max_connections=CONVERSATIONS, max_keepalive_connections=CONVERSATIONS)
    async with httpx.AsyncClient(base_url=f"http://{host}", limits=limits, timeout=30) as http:
        until = time.perf_counter() + DELIVERY_SECONDS
        await asyncio.gather(*(talk(pair, http, until) for pair in pairs))
    # let the last messages arrive
    deadline = time.perf_counter() + 5
    while time.perf_counter() < deadline and not set(sent_at) <= set(received_at):
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.gather(*listeners, return_exceptions=True)

    latencies = [
        (received_at[key] - started) * 1000
        for key, started in sent_at.items()
        if key in received_at
    ]
    fanout = [
        (received_at[key] - answered) * 1000
        for key, answered in answered_at.items()
        if key in received_at
    ]
    return {
        "messages_sent": len(sent_at),
        "messages_delivered": len(latencies),
        "messages_lost": len(set(sent_at) - set(received_at)),
        "post_errors": len(errors),
        "first_error": errors[0] if errors else None,
        "offered_rate_msgs_per_s": round(len(sent_at) / DELIVERY_SECONDS, 1),
        "delivery_p50_ms": round(percentile(latencies, 0.50), 1),
        "delivery_p95_ms": round(percentile(latencies, 0.95), 1),
        "delivery_max_ms": round(max(latencies), 1) if latencies else None,
        "post_p95_ms_during_delivery": round(percentile(post_ms, 0.95), 1),
        "fanout_after_post_answered_p95_ms": round(percentile(fanout, 0.95), 1),
    }


async def measure_throughput(host: str, pairs, path: str | None) -> dict:
    """Closed loop: each client posts again as soon as its last post was answered."""
    import httpx

    done: list[float] = []
    failures = 0
    first_failure: list[str] = []

    async def hammer(pair, http: httpx.AsyncClient, until: float) -> None:
        nonlocal failures
        while time.perf_counter() < until:
            started = time.perf_counter()
            try:
                response = await http.post(
                    path or f"/api/messages/threads/{pair['thread']}/messages/",
                    json={"body": "throughput"},
                    headers={"Authorization": f"Token {pair['token']}"},
                )
            except httpx.HTTPError as error:
                failures += 1
                first_failure.append(repr(error))
                continue
            if response.status_code == 201:
                done.append((time.perf_counter() - started) * 1000)
            else:
                failures += 1
                if not first_failure:
                    first_failure.append(f"{response.status_code} {response.text[:200]}")

    limits = httpx.Limits(max_connections=CONVERSATIONS, max_keepalive_connections=CONVERSATIONS)
    async with httpx.AsyncClient(base_url=f"http://{host}", limits=limits, timeout=60) as http:
        started = time.perf_counter()
        until = started + THROUGHPUT_SECONDS
        await asyncio.gather(
            *(hammer(pair, http, until) for pair in pairs[:THROUGHPUT_CONCURRENCY])
        )
        elapsed = time.perf_counter() - started
    return {
        "per_s": round(len(done) / elapsed, 1),
        "p95_ms": round(percentile(done, 0.95), 1),
        "failures": failures,
        "first_failure": first_failure[0] if first_failure else None,
    }


def main() -> None:
    # The servers verify the sessions this process signs: one secret for both.
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-" + uuid.uuid4().hex * 2)
    import django

    django.setup()
    import channels
    import django as django_module
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    queue = f"{prefix}-queue"
    env = {
        **os.environ,
        # production settings, on the local Stripe asked for on purpose
        "DJANGO_SETTINGS_MODULE": "marketplace.settings.production",
        "STRIPE_SANDBOX": "true",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "MESSAGE_RATE_LIMIT": "1000000/m",
        "MESSAGES_BEFORE_BOOKING_LIMIT": "1000000",
        "API_THROTTLE_USER": "1000000/min",
        "API_THROTTLE_ANON": "1000000/min",
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    pairs = create_data(prefix)
    workdir = Path(tempfile.mkdtemp(prefix="bench-messaging-"))
    (workdir / "bench_bare_django.py").write_text(BASELINE_MODULE)
    product, product_host = start_server("marketplace.asgi:application", env, workdir)
    baseline, baseline_host = start_server("bench_bare_django:application", env, workdir)
    try:
        delivery = asyncio.run(measure_delivery(product_host, pairs))
        posting = asyncio.run(measure_throughput(product_host, pairs, None))
        bare_django = asyncio.run(measure_throughput(baseline_host, pairs, "/bare/"))
    finally:
        stop_server(product)
        stop_server(baseline)
        delete_data(prefix, pairs)
        if "bare_django" in locals() and not (posting["failures"] or delivery["post_errors"]):
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"server logs kept in {workdir}", file=sys.stderr)
        try:
            import redis

            redis.Redis.from_url(settings.REDIS_URL).delete(queue)
        except Exception as error:  # the bench's queued e-mail checks are harmless leftovers
            print(f"could not delete the bench queue: {error}", file=sys.stderr)

    result = {
        "bench": "messaging",
        "conversations": CONVERSATIONS,
        "server": f"uvicorn --workers {WORKERS} for each app, DEBUG off",
        "throughput_concurrency": THROUGHPUT_CONCURRENCY,
        **delivery,
        "target_delivery_p95_ms": TARGET_P95_MS,
        "meets_delivery_target": delivery["delivery_p95_ms"] <= TARGET_P95_MS
        and delivery["messages_lost"] == 0,
        "posting_throughput_msgs_per_s": posting["per_s"],
        "posting_p95_ms": posting["p95_ms"],
        "posting_failures": posting["failures"],
        "posting_first_failure": posting["first_failure"],
        "baseline_bare_django_requests_per_s": bare_django["per_s"],
        "baseline_bare_django_p95_ms": bare_django["p95_ms"],
        "posting_vs_baseline_ratio": round(posting["per_s"] / bare_django["per_s"], 3)
        if bare_django["per_s"]
        else None,
        "cpu_count": os.cpu_count(),
        "django": django_module.get_version(),
        "channels": channels.__version__,
        "note": "measured while other engineers load the same machine: pessimistic figures",
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
