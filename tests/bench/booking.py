"""Benchmark: hold creation beside a bare Django baseline.

Run: ``.venv/bin/python tests/bench/booking.py`` (PostgreSQL at DATABASE_URL's server, Redis
at REDIS_URL; the data goes into its own fresh database ``cc_bench_booking``, migrated at the
start and dropped at the end). Webhook acceptance has its own benchmark,
``tests/bench/webhooks.py``.

The product runs as in production: ``uvicorn marketplace.asgi:application --workers 2`` (one
worker process per core; HTTP through Django's WSGI handler on threads, see
``marketplace/asgi.py``), DEBUG off, persistent database connections, the bench's two bare
views added to its URLs. The local Stripe runs inside the web processes
(``STRIPE_SANDBOX_IN_PROCESS``): it stands in for Stripe's servers, whose network wait a
real deployment would have instead of this CPU. Clients are keep-alive HTTP connections
driven from one asyncio loop in this process (``_harness.closed_loop``), each sending its
next request when the last answer is in (closed loop), all at once:

- hold creation: ``POST /api/bookings/`` with an API token (coach row lock, slot check, the
  hold and its pending Payment, then the Checkout Session on the local Stripe); 20 clients,
  20 coaches, each client booking one coach's hourly slots (a fifth of the attempts collide
  on purpose with another client's slot and get 409 "that time was just taken");
- baseline: a bare Django view that authenticates the same token and inserts one row;
- and, for the service time without queueing, both with a single client first;
- and, for context, the same 20 clients sending holds on a fixed schedule at half the
  throughput the closed loop reached (``_harness.paced``; latency counted from when each
  request was due): what a client waits when the machine is busy but not saturated;

Each concurrent measurement runs three rounds, the product's and its baseline's in turn,
and reports the median round (this machine's speed varies by a third between minutes).

Prints one JSON line: hold p50/p95 (ms) and throughput (holds/s), the baselines, the ratios,
and whether the hold targets are met. Other engineers load
the same 2-core machine while it runs: the figures are pessimistic.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import (  # noqa: E402
    WORKERS,
    closed_loop,
    http_request,
    paced,
    percentile,
    start_balanced,
    start_server,
    stop_server,
)

BENCH_DB = "cc_bench_booking"
CLIENTS = 20
HOLDS_PER_CLIENT = 15
# Each measurement is made ROUNDS times, the product's and its baseline's in turn; the
# figures are the medians (this machine's speed varies by a third from minute to minute).
ROUNDS = 3
# Stripe's latency as the local Stripe simulates it in the first part (log-normal).
LATENCY_P50_MS = 300
LATENCY_P95_MS = 800
LATENCY_CLIENTS = 50
LATENCY_HOLDS_PER_CLIENT = 10
LATENCY_PACED_RATE_PER_S = 50
TARGET_LATENCY_THROUGHPUT_PER_S = 100
TARGET_LATENCY_PACED_P95_MS = LATENCY_P95_MS + 150
# Without latency: closed-loop throughput against the bare insert's, p95 at half that rate.
TARGET_THROUGHPUT_VS_BASELINE = 0.25
TARGET_HALF_RATE_P95_MS = 60

# The product's URLs plus the two bare views of the baselines.
BENCH_URLS = """
from django.db import connection
from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from rest_framework.authtoken.models import Token


@csrf_exempt
def bare_insert(request):
    key = request.headers.get("Authorization", "").removeprefix("Token ")
    user_id = Token.objects.filter(key=key).values_list("user_id", flat=True).first()
    if user_id is None:
        return HttpResponse(status=401)
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_row (v) VALUES (%s)", [str(user_id)])
    return HttpResponse(status=201)


urlpatterns = [
    path("bench/insert/", bare_insert),
    path("", include("marketplace.urls")),
]
"""

BENCH_APP = """
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings.production")
import django

django.setup()
from django.conf import settings

settings.ROOT_URLCONF = "bench_booking_urls"
from marketplace.asgi import application  # noqa: E402,F401
"""


def _setup() -> dict[str, str]:
    """A fresh database, migrated; returns the environment of the servers."""
    server = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    os.environ["DATABASE_URL"] = server.rsplit("/", 1)[0] + "/" + BENCH_DB
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/6")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-" + uuid.uuid4().hex)
    os.environ["STRIPE_SANDBOX_IN_PROCESS"] = "true"
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"
    os.environ["CELERY_TASK_DEFAULT_QUEUE"] = f"bench-{uuid.uuid4().hex[:8]}"
    # production settings, on the local Stripe asked for on purpose
    os.environ["DJANGO_SETTINGS_MODULE"] = "marketplace.settings.production"
    os.environ["STRIPE_SANDBOX"] = "true"
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

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_row (id bigserial primary key, v text)")
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


def _hold_data(clients: int = CLIENTS) -> tuple[list, list[str]]:
    """``clients`` bookable coaches known to the local Stripe, and as many clients with API
    tokens."""
    from rest_framework.authtoken.models import Token

    from payments.sandbox import controls
    from payments.services import accounts as connect
    from tests.bookings.factories import open_coach
    from tests.factories import UserFactory

    controls.reset()
    coaches = [open_coach(stripe_account_id=None) for _ in range(clients)]
    for coach, _session_type in coaches:
        # the local Stripe must know the destination account
        coach.user.connected_account.delete()
        account = connect.connected_account_create(coach=coach.user, country="US")
        controls.complete_onboarding(account.stripe_account_id, "complete")
        connect.connected_account_refresh(account=account)
    tokens = [Token.objects.create(user=UserFactory()).key for _ in range(clients)]
    return coaches, tokens


def _ms_and_statuses(answers) -> tuple[list[float], list[int]]:
    return [answer.ms for answer in answers], [answer.status for answer in answers]


def bench_holds(hosts: list[str], servers: list, stripe_servers: list) -> dict:
    from django.utils import timezone

    from payments.sandbox import controls

    coaches, tokens = _hold_data(LATENCY_CLIENTS)

    def hold(index: int, session_type_id: int, starts_at) -> bytes:
        body = json.dumps({"session_type": session_type_id, "starts_at": starts_at.isoformat()})
        return http_request(
            "POST",
            "/api/bookings/",
            body=body.encode(),
            headers={
                "Authorization": f"Token {tokens[index]}",
                "Content-Type": "application/json",
            },
        )

    def insert(index: int) -> bytes:
        return http_request(
            "POST", "/bench/insert/", headers={"Authorization": f"Token {tokens[index]}"}
        )

    base = (timezone.now() + timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)

    def round_of_holds(day: int, clients: int, per_client_holds: int) -> list[list[bytes]]:
        per_client = []
        for index in range(clients):
            mine = []
            for slot in range(per_client_holds):
                # every fifth attempt goes for the neighbour's coach at the same time: a
                # collision with the neighbour's own attempt
                coach_index = (index + 1) % clients if slot % 5 == 4 else index
                hour = slot if slot % 5 != 4 else slot - 1
                starts_at = base + timedelta(days=day, hours=hour)
                mine.append(hold(index, coaches[coach_index][1].pk, starts_at))
            per_client.append(mine)
        return per_client

    def checked(answers) -> list[float]:
        unexpected = [a.body[:300] for a in answers if a.status not in (201, 409)]
        assert not unexpected, unexpected
        return [answer.ms for answer in answers]

    def cpu() -> tuple[float, float]:
        return _cpu_seconds(servers), _cpu_seconds(stripe_servers)

    # warm both paths in every worker (connections, URL resolver, first queries)
    controls.set_latency(0, 0)
    warm = [[hold(0, coaches[0][1].pk, base + timedelta(days=3, hours=hour))] for hour in range(8)]
    closed_loop(hosts, warm)
    closed_loop(hosts, [[insert(0)]] * 8)
    # one client alone (service time, no queueing), on slots the others do not use
    solo = [[hold(0, coaches[0][1].pk, base + timedelta(days=1, hours=hour)) for hour in range(20)]]
    solo_ms, solo_statuses = _ms_and_statuses(closed_loop(hosts, solo)[0])
    assert set(solo_statuses) == {201}, solo_statuses
    solo_base_ms, _ = _ms_and_statuses(closed_loop(hosts, [[insert(0)] * 20])[0])

    # Without latency: 20 clients, closed loop, beside the bare insert, ROUNDS times.
    holds, baselines, web_cpu, stripe_cpu = [], [], [], []
    created = conflicts = 0
    for round_index in range(ROUNDS):
        before = cpu()
        answers, seconds = closed_loop(
            hosts, round_of_holds(4 + round_index, CLIENTS, HOLDS_PER_CLIENT)
        )
        after = cpu()
        hold_ms = checked(answers)
        statuses = [answer.status for answer in answers]
        created += statuses.count(201)
        conflicts += statuses.count(409)
        web_cpu.append((after[0] - before[0]) * 1000 / len(answers))
        stripe_cpu.append((after[1] - before[1]) * 1000 / len(answers))
        holds.append(_figures(hold_ms, seconds))
        base_answers, base_seconds = closed_loop(
            hosts, [[insert(index)] * HOLDS_PER_CLIENT for index in range(CLIENTS)]
        )
        base_ms, base_statuses = _ms_and_statuses(base_answers)
        assert set(base_statuses) == {201}, base_statuses
        baselines.append(_figures(base_ms, base_seconds))
    half_rate = round(statistics.median(r["throughput_per_s"] for r in holds) / 2, 1)
    answers, _seconds = paced(
        hosts, round_of_holds(4 + ROUNDS, CLIENTS, HOLDS_PER_CLIENT), half_rate
    )
    half_load_ms = checked(answers)

    # With Stripe's latency: 50 clients closed loop, then 50 holds/s paced.
    controls.set_latency(LATENCY_P50_MS, LATENCY_P95_MS)
    before = cpu()
    answers, seconds = closed_loop(
        hosts, round_of_holds(10, LATENCY_CLIENTS, LATENCY_HOLDS_PER_CLIENT)
    )
    after = cpu()
    latency_ms = checked(answers)
    latency_closed = _figures(latency_ms, seconds)
    answers, _seconds = paced(
        hosts,
        round_of_holds(11, LATENCY_CLIENTS, LATENCY_HOLDS_PER_CLIENT),
        LATENCY_PACED_RATE_PER_S,
    )
    latency_paced_ms = checked(answers)
    controls.set_latency(0, 0)
    return {
        "hold_single_client_p50_ms": round(statistics.median(solo_ms), 1),
        "baseline_insert_single_client_p50_ms": round(statistics.median(solo_base_ms), 1),
        "hold_attempts": ROUNDS * CLIENTS * HOLDS_PER_CLIENT,
        "hold_created": created,
        "hold_conflicts_409": conflicts,
        **_median_of(holds, "hold"),
        "hold_web_cpu_ms_per_hold": round(statistics.median(web_cpu), 2),
        "hold_local_stripe_cpu_ms_per_hold": round(statistics.median(stripe_cpu), 2),
        "hold_at_half_throughput_rate_per_s": half_rate,
        "hold_at_half_throughput_p50_ms": round(statistics.median(half_load_ms), 1),
        "hold_at_half_throughput_p95_ms": round(percentile(half_load_ms, 0.95), 1),
        **_median_of(baselines, "baseline_insert"),
        "latency_simulated_p50_ms": LATENCY_P50_MS,
        "latency_simulated_p95_ms": LATENCY_P95_MS,
        "latency_clients": LATENCY_CLIENTS,
        "latency_hold_throughput_per_s": round(latency_closed["throughput_per_s"], 1),
        "latency_hold_p50_ms": round(latency_closed["p50_ms"], 1),
        "latency_hold_p95_ms": round(latency_closed["p95_ms"], 1),
        "latency_web_cpu_ms_per_hold": round((after[0] - before[0]) * 1000 / len(latency_ms), 2),
        "latency_local_stripe_cpu_ms_per_hold": round(
            (after[1] - before[1]) * 1000 / len(latency_ms), 2
        ),
        "latency_paced_rate_per_s": LATENCY_PACED_RATE_PER_S,
        "latency_paced_p50_ms": round(statistics.median(latency_paced_ms), 1),
        "latency_paced_p95_ms": round(percentile(latency_paced_ms, 0.95), 1),
    }


def _figures(ms: list[float], seconds: float) -> dict[str, float]:
    return {
        "p50_ms": statistics.median(ms),
        "p95_ms": percentile(ms, 0.95),
        "throughput_per_s": len(ms) / seconds,
    }


def _median_of(rounds: list[dict[str, float]], name: str) -> dict:
    """Each figure's median over the rounds, and the rounds' p95s as measured."""
    figures = {
        f"{name}_{key}": round(statistics.median(r[key] for r in rounds), 1) for key in rounds[0]
    }
    figures[f"{name}_p95_ms_rounds"] = [round(r["p95_ms"], 1) for r in rounds]
    return figures


def _cpu_seconds(processes: list) -> float:
    """The user and system CPU time the processes have used so far (Linux ``/proc``)."""
    total = 0
    for process in processes:
        stat = Path(f"/proc/{process.pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may have spaces
        total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


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


def _hold_figures(holds: dict) -> dict:
    ratio = holds["hold_throughput_per_s"] / holds["baseline_insert_throughput_per_s"]
    return {
        **holds,
        "hold_p95_vs_baseline_ratio": round(
            holds["hold_p95_ms"] / max(holds["baseline_insert_p95_ms"], 0.001), 2
        ),
        "hold_throughput_vs_baseline_ratio": round(ratio, 3),
        "concurrent_clients": CLIENTS,
        "target_latency_throughput_per_s": TARGET_LATENCY_THROUGHPUT_PER_S,
        "target_latency_throughput_met": (
            holds["latency_hold_throughput_per_s"] >= TARGET_LATENCY_THROUGHPUT_PER_S
        ),
        "target_latency_paced_p95_ms": TARGET_LATENCY_PACED_P95_MS,
        "target_latency_paced_p95_met": (
            holds["latency_paced_p95_ms"] <= TARGET_LATENCY_PACED_P95_MS
        ),
        "target_throughput_vs_baseline": TARGET_THROUGHPUT_VS_BASELINE,
        "target_throughput_vs_baseline_met": ratio >= TARGET_THROUGHPUT_VS_BASELINE,
        "target_half_rate_p95_ms": TARGET_HALF_RATE_P95_MS,
        "target_half_rate_p95_met": (
            holds["hold_at_half_throughput_p95_ms"] <= TARGET_HALF_RATE_P95_MS
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    env = _setup()
    workdir = Path(tempfile.mkdtemp(prefix="bench-booking-"))
    (workdir / "bench_booking_urls.py").write_text(BENCH_URLS)
    (workdir / "bench_booking_app.py").write_text(BENCH_APP)
    servers: list = []
    stripe_servers: list = []
    try:
        # The local Stripe in a server of its own, as Stripe is (its latency waited out on
        # its event loop: payments/sandbox/asgi.py); the product calls it over HTTP.
        stripe_server, stripe_host = start_server(
            "payments.sandbox.asgi:application", env, workdir, workers=1
        )
        stripe_servers = [stripe_server]
        product_env = {
            **env,
            "STRIPE_SANDBOX_IN_PROCESS": "false",
            "STRIPE_API_BASE": f"http://{stripe_host}/_stripe",
        }
        servers, hosts = start_balanced("bench_booking_app:application", product_env, workdir)
        holds = bench_holds(hosts, servers, stripe_servers)
    finally:
        for server in [*servers, *stripe_servers]:
            stop_server(server)
        _teardown()
        if "holds" in locals():
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"server logs kept in {workdir}", file=sys.stderr)
    figures = {
        **_hold_figures(holds),
        "server": f"{WORKERS} uvicorn processes, clients balanced over them, DEBUG off, "
        "the local Stripe in its own uvicorn process",
        "note": "2-core machine shared with other engineers' runs: pessimistic",
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
