"""Benchmark: Stripe webhook acceptance beside a bare verify-and-insert floor.

Run: ``.venv/bin/python tests/bench/webhooks.py`` (PostgreSQL at DATABASE_URL's server, Redis
at REDIS_URL; the data goes into its own fresh database ``cc_bench_webhooks``, migrated at the
start and dropped at the end). ``--events N`` sets the events per round (smaller for a quick
look while developing).

Both are served the same way: two single-process ``uvicorn`` servers of the product's ASGI
application (``marketplace/asgi.py``: HTTP through Django's WSGI handler on threads), DEBUG
off, persistent database connections, production settings; 20 closed-loop keep-alive clients
dealt out to the two servers (``_harness.closed_loop``) post signed ``charge.succeeded``
events, each event once.

- the product: ``POST /payments/webhooks/stripe/``, everything it does for Stripe (the
  signature checked against every configured secret with the stripe library, the event
  inserted into ``WebhookEvent`` with insert-or-ignore, its processing handed off, the
  answer); no worker runs, so the inbox keeps what it accepted;
- the floor: a bare Django view, ahead of every middleware of the site (the least Django
  does for a request), that verifies the signature with ``stripe.WebhookSignature
  .verify_header``, parses the body and inserts the event's row with one ``INSERT ... ON
  CONFLICT DO NOTHING`` into a table shaped as ``WebhookEvent`` (its indexes too), answering
  200.

Three rounds, the product's and the floor's in turn (this machine's speed varies by a third
from minute to minute); each figure is the median round, and the ratio also per round (the
product's against the floor's right after it). The web processes' CPU time per event (user +
system, from ``/proc``) is the figure other processes disturb least. Other engineers load the
same 2-core machine while it runs: the figures are pessimistic.

Prints one JSON line: events/s of both, the ratio and ``webhook_accept_vs_floor_target_met``
(>= 0.80), CPU ms per event of both.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import WORKERS, closed_loop, http_request, start_balanced, stop_server  # noqa: E402

BENCH_DB = "cc_bench_webhooks"
CLIENTS = 20
ROUNDS = 3
EVENTS_PER_ROUND = 1200
TARGET_RATIO = 0.80
FLOOR_TABLE = "bench_webhook_event"

# The floor: a view served ahead of every middleware (a middleware placed first that answers
# its path itself), as bare as Django serves a request.
BENCH_FLOOR = f"""
import json

import stripe
from django.conf import settings
from django.db import connection
from django.http import HttpResponse

SQL = '''
    INSERT INTO {FLOOR_TABLE}
        (stripe_event_id, endpoint, type, stripe_account_id, object_id, api_version, livemode,
         stripe_created_at, payload, status, attempts, last_error, received_at, ignored_reason)
    VALUES (%s, 'platform', %s, %s, %s, %s, %s, to_timestamp(%s), %s, 'received', 0, '',
            now(), '')
    ON CONFLICT (stripe_event_id) DO NOTHING
'''


def floor(request):
    text = request.body.decode()
    try:
        stripe.WebhookSignature.verify_header(
            text,
            request.headers.get("Stripe-Signature", ""),
            settings.STRIPE_WEBHOOK_SECRETS[0],
            tolerance=stripe.Webhook.DEFAULT_TOLERANCE,
        )
    except stripe.SignatureVerificationError:
        return HttpResponse(status=400)
    event = json.loads(text)
    with connection.cursor() as cursor:
        cursor.execute(
            SQL,
            [
                event["id"],
                event["type"],
                event.get("account") or "",
                event["data"]["object"]["id"],
                event["api_version"],
                event["livemode"],
                event["created"],
                text,
            ],
        )
    return HttpResponse("ok")


def floor_first(get_response):
    def middleware(request):
        if request.path == "/bench/floor/":
            return floor(request)
        return get_response(request)

    return middleware
"""

BENCH_APP = """
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings.production")
import django
from django.conf import settings

settings.MIDDLEWARE = ["bench_webhooks_floor.floor_first", *settings.MIDDLEWARE]
django.setup()
from marketplace.asgi import application  # noqa: E402,F401
"""


def _setup() -> dict[str, str]:
    """A fresh database, migrated, with the floor's table; returns the servers' environment."""
    server = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    os.environ["DATABASE_URL"] = server.rsplit("/", 1)[0] + "/" + BENCH_DB
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/6")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-" + uuid.uuid4().hex)
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"
    os.environ["CELERY_TASK_DEFAULT_QUEUE"] = f"bench-{uuid.uuid4().hex[:8]}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "marketplace.settings.production"
    os.environ["STRIPE_SANDBOX"] = "true"  # production settings on the local Stripe's keys
    os.environ["DJANGO_SECURE_SSL_REDIRECT"] = "false"  # as behind a TLS proxy
    os.environ["DJANGO_ALLOWED_HOSTS"] = "127.0.0.1"
    os.environ["SITE_URL"] = "http://127.0.0.1"
    os.environ["DATABASE_CONN_MAX_AGE"] = "600"
    os.environ["LOG_LEVEL"] = "WARNING"
    import psycopg

    admin = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}"')
        connection.execute(f'CREATE DATABASE "{BENCH_DB}"')

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from payments.models import WebhookEvent

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {FLOOR_TABLE} "
            f"(LIKE {WebhookEvent._meta.db_table} INCLUDING DEFAULTS INCLUDING INDEXES)"
        )
        cursor.execute(
            f"CREATE SEQUENCE {FLOOR_TABLE}_id_seq OWNED BY {FLOOR_TABLE}.id;"
            f"ALTER TABLE {FLOOR_TABLE} ALTER COLUMN id SET DEFAULT nextval('{FLOOR_TABLE}_id_seq')"
        )
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


def _signed(payload: str, secret: str) -> str:
    timestamp = int(time.time())
    signature = hmac.new(
        secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256
    ).hexdigest()
    return f"t={timestamp},v1={signature}"


def _cpu_seconds(processes: list) -> float:
    """The user and system CPU time the processes have used so far (Linux ``/proc``)."""
    total = 0
    for process in processes:
        stat = Path(f"/proc/{process.pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may have spaces
        total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def _requests(path: str, count: int, prefix: str) -> list[bytes]:
    from django.conf import settings

    secret = settings.STRIPE_WEBHOOK_SECRETS[0]
    requests = []
    for _ in range(count):
        body = json.dumps(
            {
                "id": f"evt_{prefix}" + uuid.uuid4().hex[:20],
                "object": "event",
                "api_version": settings.STRIPE_API_VERSION,
                "created": int(time.time()),
                "livemode": False,
                "pending_webhooks": 1,
                "request": {"id": None, "idempotency_key": None},
                "type": "charge.succeeded",
                "data": {"object": {"id": "ch_bench" + uuid.uuid4().hex[:16], "object": "charge"}},
            }
        )
        headers = {"Content-Type": "application/json", "Stripe-Signature": _signed(body, secret)}
        requests.append(http_request("POST", path, body=body.encode(), headers=headers))
    return requests


def _round(hosts: list[str], servers: list, requests: list[bytes]) -> tuple[float, float]:
    """Events/s and web CPU ms per event of one closed-loop round."""
    cpu_before = _cpu_seconds(servers)
    answers, seconds = closed_loop(hosts, [requests[i::CLIENTS] for i in range(CLIENTS)])
    cpu_ms = (_cpu_seconds(servers) - cpu_before) * 1000 / len(requests)
    unexpected = [answer.body[:300] for answer in answers if answer.status != 200]
    assert not unexpected, unexpected
    return len(requests) / seconds, cpu_ms


def bench(hosts: list[str], servers: list, per_round: int) -> dict:
    from django.db import connection

    from payments.models import WebhookEvent

    # warm both paths in every process (connections, imports, first queries)
    closed_loop(hosts, [_requests("/payments/webhooks/stripe/", 10, "warm")] * 2)
    closed_loop(hosts, [_requests("/bench/floor/", 10, "warm")] * 2)
    product, floor = [], []
    for _ in range(ROUNDS):
        product.append(
            _round(hosts, servers, _requests("/payments/webhooks/stripe/", per_round, "bench"))
        )
        floor.append(_round(hosts, servers, _requests("/bench/floor/", per_round, "bench")))
    assert WebhookEvent.objects.filter(stripe_event_id__startswith="evt_bench").count() == (
        per_round * ROUNDS
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM {FLOOR_TABLE} WHERE stripe_event_id LIKE 'evt_bench%%'"
        )
        assert cursor.fetchone()[0] == per_round * ROUNDS
    rates = [rate for rate, _ in product]
    floor_rates = [rate for rate, _ in floor]
    ratio = statistics.median(rates) / statistics.median(floor_rates)
    return {
        "webhook_events_per_round": per_round,
        "webhook_rounds": ROUNDS,
        "webhook_accept_per_s": round(statistics.median(rates), 1),
        "webhook_accept_per_s_rounds": [round(rate, 1) for rate in rates],
        "floor_accept_per_s": round(statistics.median(floor_rates), 1),
        "floor_accept_per_s_rounds": [round(rate, 1) for rate in floor_rates],
        "webhook_accept_vs_floor_ratio": round(ratio, 3),
        "webhook_accept_vs_floor_ratio_rounds": [
            round(mine / theirs, 3) for mine, theirs in zip(rates, floor_rates, strict=True)
        ],
        "webhook_web_cpu_ms_per_event": round(statistics.median(ms for _, ms in product), 3),
        "floor_web_cpu_ms_per_event": round(statistics.median(ms for _, ms in floor), 3),
        "target_webhook_accept_vs_floor_ratio": TARGET_RATIO,
        "webhook_accept_vs_floor_target_met": ratio >= TARGET_RATIO,
    }


def _teardown() -> None:
    from django.conf import settings
    from django.db import connections

    try:
        import redis

        redis.Redis.from_url(settings.REDIS_URL).delete(settings.CELERY_TASK_DEFAULT_QUEUE)
    except Exception as error:  # leftover bench tasks are harmless
        print(f"could not delete the bench queue: {error}", file=sys.stderr)
    connections.close_all()
    import psycopg

    admin = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=EVENTS_PER_ROUND, help="events per round")
    parser.add_argument(
        "--keep-servers",
        type=float,
        default=0,
        help="seconds to wait before starting (attach a profiler to the printed pids)",
    )
    options = parser.parse_args()
    env = _setup()
    workdir = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    (workdir / "bench_webhooks_floor.py").write_text(BENCH_FLOOR)
    (workdir / "bench_webhooks_app.py").write_text(BENCH_APP)
    servers: list = []
    figures: dict = {}
    try:
        servers, hosts = start_balanced("bench_webhooks_app:application", env, workdir)
        if options.keep_servers:
            print("server pids:", *(server.pid for server in servers), file=sys.stderr)
            time.sleep(options.keep_servers)
        figures = bench(hosts, servers, options.events)
    finally:
        for server in servers:
            stop_server(server)
        _teardown()
        if figures:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"server logs kept in {workdir}", file=sys.stderr)
    figures.update(
        {
            "webhook_clients": CLIENTS,
            "server": f"{WORKERS} uvicorn processes, clients balanced over them, DEBUG off",
            "note": "2-core machine shared with other engineers' runs: pessimistic",
        }
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
