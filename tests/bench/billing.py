"""Benchmark: the client's Billing page and the coach's plans page with 1,000 plan
subscriptions and 12,000 invoices, beside a bare Django view in the same run and the same
servers; and the query count of each page at a small and at the full data size.

    .venv/bin/python tests/bench/billing.py

It makes a fresh database (``<the DATABASE_URL database>_billing_bench`` on the same
server), migrates it and writes the rows with ``bulk_create`` (``tests/bookings/
plan_history.py``: no Stripe calls; rows shaped as the webhook handlers leave them):

- small: the measured client with six plans (active, payment due, paused, awaiting payment,
  two ended: every branch of the Billing page), two saved cards and ten invoices; the
  measured coach with four plans and five subscribers. Both pages' queries are counted here.
- full: twelve coaches (the measured one with 400 subscribers over four plans), 1,000 plan
  subscriptions in all, 12,000 invoices (one a period, each with Stripe's lines, the paid
  ones with their Payment and credit), two sessions booked with each credit; the measured
  client has 40 plans over the years and some 450 invoices. The queries are counted again:
  they must be the same number as at the small size.

Then two uvicorn processes (production settings, DEBUG off; ``_harness``), every request
signed in (the client's session for Billing and the bare view, the coach's for the plans
page). Two clients, one per process, each sending its requests one after another (closed
loop). Three kinds: the Billing page, the coach's plans page (any page of its subscribers)
and a bare view (a small HTML page through the same middleware, session and server). After
a warm-up of 25 of each kind per client, 800 of each kind in four rounds, the kinds in turn
within a round (each round starting with another), so a change in the machine's load falls
on all alike. Reported per kind: p50 and p95 latency, throughput, and the servers' CPU time
per request (``/proc/<pid>/stat``), which other processes' load inflates far less than
latency. Targets: p95 <= 50 ms for both pages; queries constant.

It ends by printing one JSON line, with the load average (1 minute) before and after the
pages. The bench database is dropped at the end.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import (  # noqa: E402
    WORKERS,
    closed_loop,
    http_request,
    percentile,
    start_balanced,
    stop_server,
)

BENCH_DB = "coach_billing_bench"  # set from DATABASE_URL by _setup
SUBSCRIPTIONS = 1_000
INVOICES = 12_000
COACHES = 12  # the measured one and eleven others
MEASURED_COACH_SUBSCRIBERS = 400
MEASURED_CLIENT_PLANS = 40
OTHER_CLIENTS = 600
PAGE_REQUESTS = 800  # of each kind, over all rounds and clients
ROUNDS = 4
WARMUP_REQUESTS = 25  # of each kind, per client
CLIENTS = WORKERS
TARGET_PAGE_P95_MS = 50.0

BENCH_URLS = """
from django.http import HttpResponse
from django.urls import include, path


def bare(request):
    return HttpResponse("<!DOCTYPE html><html><body><p>ok</p></body></html>")


urlpatterns = [path("bench/bare/", bare), path("", include("marketplace.urls"))]
"""

BENCH_APP = """
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings.production")
import django

django.setup()
from django.conf import settings

settings.ROOT_URLCONF = "bench_billing_urls"
from marketplace.asgi import application  # noqa: E402,F401
"""


def _setup() -> dict[str, str]:
    """A fresh database, migrated; returns the environment of the servers."""
    global BENCH_DB
    server = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/coach")
    # beside the database named in DATABASE_URL, so runs with different ones do not collide
    BENCH_DB = server.rsplit("/", 1)[1].split("?")[0] + "_billing_bench"
    os.environ["DATABASE_URL"] = server.rsplit("/", 1)[0] + "/" + BENCH_DB
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/7")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-" + uuid.uuid4().hex)
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"
    os.environ["CELERY_TASK_DEFAULT_QUEUE"] = f"bench-{uuid.uuid4().hex[:8]}"
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
        connection.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{BENCH_DB}"')

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    # production pages name the collected, hashed static files
    call_command("collectstatic", interactive=False, verbosity=0)
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


def _teardown() -> None:
    from django.db import connections

    connections.close_all()
    import psycopg

    admin = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


def _session_for(user) -> str:
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


# --- data ------------------------------------------------------------------------------------


def _spread(total: int, count: int) -> list[int]:
    """``count`` whole numbers adding up to ``total``, as even as they come."""
    return [total // count + (1 if index < total % count else 0) for index in range(count)]


def build_small() -> dict:
    """The measured client and coach with a few rows each, every branch of both pages
    present: what the query counts are first taken on."""
    from bookings.models import PlanSubscriptionStatus as Status
    from tests.bookings.plan_history import Story, clients, coach_with_plans, plan_histories
    from tests.bookings.plan_history import saved_cards as add_cards

    coach, plans = coach_with_plans(name="maya", plans=4)
    _other, other_plans = coach_with_plans(name="omar", plans=3)
    [client] = clients(1, prefix="measured")
    add_cards(client, cards=2)
    stories = [
        Story(client, plans[0], Status.ACTIVE, periods=2),
        Story(client, plans[1], Status.PAST_DUE, periods=2),
        Story(client, other_plans[0], Status.PAUSED, periods=2),
        Story(client, other_plans[1], Status.PENDING, periods=0),
        Story(client, plans[0], Status.ENDED, periods=2, ended_periods_ago=3),
        # ended, its last period still running: its credit can still be booked
        Story(client, other_plans[2], Status.ENDED, periods=2, ended_periods_ago=0),
    ]
    stories += [
        Story(subscriber, plans[1 + index % 3], Status.ACTIVE, periods=2)
        for index, subscriber in enumerate(clients(3, prefix="early"))
    ]
    written = plan_histories(stories)
    return {
        "coach": coach,
        "coach_plans": plans,
        "other_plans": other_plans,
        "client": client,
        "written": written,
    }


def build_full(small: dict) -> dict:
    """Up to 1,000 plan subscriptions and 12,000 invoices in all (the small rows
    included)."""
    from bookings.models import PlanSubscription
    from bookings.models import PlanSubscriptionStatus as Status
    from payments.models import Invoice
    from tests.bookings.plan_history import Story, clients, coach_with_plans, plan_histories

    started = time.perf_counter()
    coach_plans = small["coach_plans"]
    other_plans = list(small["other_plans"])
    for number in range(COACHES - 2):
        _coach, plans = coach_with_plans(name=f"coach{number}", plans=3)
        other_plans += plans
    others = clients(OTHER_CLIENTS, prefix="client")
    client = small["client"]
    stories: list[Story] = []
    # the measured client: many plans over the years, all ended but the six already there
    for number in range(MEASURED_CLIENT_PLANS - 6):
        plan = (coach_plans + other_plans)[number % (len(coach_plans) + len(other_plans))]
        stories.append(Story(client, plan, Status.ENDED, periods=0, ended_periods_ago=2 + number))
    # the measured coach's subscribers, the statuses mixed as on a real list
    statuses = [Status.ACTIVE] * 14 + [Status.PAST_DUE, Status.PAUSED] + [Status.ENDED] * 4
    already = 4  # the small size's subscribers: the client and three others
    for number in range(MEASURED_COACH_SUBSCRIBERS - already):
        stories.append(
            Story(
                others[number],
                coach_plans[number % len(coach_plans)],
                statuses[number % len(statuses)],
                periods=0,
            )
        )
    # every other coach's, to 1,000 subscriptions in all
    remaining = SUBSCRIPTIONS - small["written"]["plan_subscriptions"] - len(stories)
    for number in range(remaining):
        stories.append(
            Story(
                others[number % len(others)],
                other_plans[number % len(other_plans)],
                statuses[(number * 7) % len(statuses)],
                periods=0,
            )
        )
    # 12,000 invoices in all, one a period: the periods spread over every story
    periods = _spread(INVOICES - small["written"]["invoices"], len(stories))
    stories = [
        Story(story.client, story.plan, story.status, count, story.ended_periods_ago)
        for story, count in zip(stories, periods, strict=True)
    ]
    written = plan_histories(stories)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {
        "written": {key: written[key] + small["written"][key] for key in written},
        "client_plans": PlanSubscription.objects.filter(client=client).count(),
        "client_invoices": Invoice.objects.filter(customer_user=client).count(),
        "coach_subscribers": MEASURED_COACH_SUBSCRIBERS,
        "seconds": round(time.perf_counter() - started, 1),
    }


# --- query counts ----------------------------------------------------------------------------


def _subscriber_pages(coach) -> int:
    from django.core.paginator import Paginator

    from bookings import selectors
    from bookings.views.plans import SUBSCRIBERS_PER_PAGE

    return Paginator(selectors.coach_plan_subscribers(coach=coach), SUBSCRIBERS_PER_PAGE).num_pages


def measure_queries(data: dict) -> dict[str, int]:
    """Queries of one render of each page, signed in, in this process: Billing, and the
    coach's plans page (its first and its last page of subscribers)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    def count(user, url: str, marker: str) -> int:
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user)
        client.get(url)  # warm
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        assert marker in response.content.decode(), (url, marker)
        return len(queries.captured_queries)

    billing = reverse("bookings:billing")
    plans = reverse("bookings:coach_plans")
    last = _subscriber_pages(data["coach"])
    return {
        "billing": count(data["client"], billing, 'data-testid="billing-plan"'),
        "coach_plans": count(data["coach"].user, plans, 'data-testid="coach-plan-subscribers"'),
        "coach_plans_last_page": count(
            data["coach"].user, f"{plans}?page={last}", 'data-testid="coach-plan-subscribers"'
        ),
    }


# --- pages -----------------------------------------------------------------------------------


def _server_cpu_seconds(pids: list[int]) -> float:
    """User and system CPU the server processes have used (``/proc/<pid>/stat``)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def measure_pages(hosts: list[str], pids: list[int], data: dict) -> dict:
    """Each kind of page in ROUNDS rounds, the kinds in turn within a round (so a change
    in the machine's load falls on all of them alike): latency percentiles over every
    round, and the servers' CPU time per request."""
    from django.urls import reverse

    client_headers = {"Cookie": f"sessionid={_session_for(data['client'])}", "Accept": "text/html"}
    coach_headers = {
        "Cookie": f"sessionid={_session_for(data['coach'].user)}",
        "Accept": "text/html",
    }
    billing_url = reverse("bookings:billing")
    plans_url = reverse("bookings:coach_plans")
    pages = _subscriber_pages(data["coach"])

    def billing() -> bytes:
        return http_request("GET", billing_url, headers=client_headers)

    def coach_plans() -> bytes:
        # any page of the coach's subscribers
        page = random.randint(1, pages)
        url = plans_url if page == 1 else f"{plans_url}?page={page}"
        return http_request("GET", url, headers=coach_headers)

    def bare() -> bytes:
        return http_request("GET", "/bench/bare/", headers=client_headers)

    kinds = {"billing": billing, "coach_plans": coach_plans, "bare": bare}
    # warm every process: connections, templates, caches, the interpreter's own caches
    closed_loop(
        hosts,
        [[make() for make in kinds.values() for _ in range(WARMUP_REQUESTS)] for _ in hosts],
    )
    per_round = PAGE_REQUESTS // ROUNDS // CLIENTS
    latencies: dict[str, list[float]] = {name: [] for name in kinds}
    cpu: dict[str, float] = dict.fromkeys(kinds, 0.0)
    seconds: dict[str, float] = dict.fromkeys(kinds, 0.0)
    statuses: dict[str, set[int]] = {name: set() for name in kinds}
    body_kb: dict[str, float] = dict.fromkeys(kinds, 0.0)
    names = list(kinds)
    for round_number in range(ROUNDS):
        # each round starts with another kind
        order = names[round_number % len(names) :] + names[: round_number % len(names)]
        for name in order:
            per_client = [[kinds[name]() for _ in range(per_round)] for _ in range(CLIENTS)]
            cpu_before = _server_cpu_seconds(pids)
            answers, took = closed_loop(hosts, per_client)
            cpu[name] += _server_cpu_seconds(pids) - cpu_before
            seconds[name] += took
            latencies[name] += [answer.ms for answer in answers]
            statuses[name] |= {answer.status for answer in answers}
            body_kb[name] = max(body_kb[name], max(len(a.body) for a in answers) / 1024)
    return {
        name: {
            "p50_ms": round(percentile(latencies[name], 0.50), 1),
            "p95_ms": round(percentile(latencies[name], 0.95), 1),
            "per_s": round(len(latencies[name]) / seconds[name], 1),
            "server_cpu_ms_per_request": round(cpu[name] * 1000 / len(latencies[name]), 1),
            "samples": len(latencies[name]),
            "statuses": sorted(statuses[name]),
            "largest_body_kb": round(body_kb[name], 1),
        }
        for name in kinds
    }


def _check_pages(data: dict) -> dict[str, int]:
    """What the full-size pages show, as a person would count it: plan rows on Billing and
    subscriber rows on the plans page (bounded, whatever the history)."""
    from django.test import Client
    from django.urls import reverse

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(data["client"])
    billing = client.get(reverse("bookings:billing")).content.decode()
    client.force_login(data["coach"].user)
    plans = client.get(reverse("bookings:coach_plans")).content.decode()
    return {
        "billing_plan_rows": billing.count('data-testid="billing-plan"'),
        "billing_invoice_rows": billing.count('data-testid="invoice"'),
        "coach_plans_subscriber_rows": len(
            re.findall(r"<tr>\s*<th scope=\"row\">", plans.split("coach-plan-subscribers")[-1])
        ),
    }


def main() -> None:
    env = _setup()
    import django as django_module

    workdir = Path(tempfile.mkdtemp(prefix="bench-billing-"))
    (workdir / "bench_billing_urls.py").write_text(BENCH_URLS)
    (workdir / "bench_billing_app.py").write_text(BENCH_APP)
    servers: list = []
    finished = False
    try:
        from django.test.utils import override_settings

        data = build_small()
        with override_settings(STORAGES=_plain_storages()):
            small_queries = measure_queries(data)
        full = build_full(data)
        with override_settings(STORAGES=_plain_storages()):
            full_queries = measure_queries(data)
            shown = _check_pages(data)
        servers, hosts = start_balanced("bench_billing_app:application", env, workdir)
        loads = [round(os.getloadavg()[0], 2)]
        pages = measure_pages(hosts, [server.pid for server in servers], data)
        loads.append(round(os.getloadavg()[0], 2))
        finished = True
    finally:
        for server in servers:
            stop_server(server)
        _teardown()
        if finished:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"server logs kept in {workdir}", file=sys.stderr)
    page_ok = all(pages[name]["statuses"] == [200] for name in pages)
    bare_p95 = pages["bare"]["p95_ms"]
    billing_constant = small_queries["billing"] == full_queries["billing"]
    coach_constant = (
        small_queries["coach_plans"]
        == full_queries["coach_plans"]
        == full_queries["coach_plans_last_page"]
    )
    figures = {
        "bench": "billing",
        "plan_subscriptions": full["written"]["plan_subscriptions"],
        "invoices": full["written"]["invoices"],
        "payments": full["written"]["payments"],
        "plan_credits": full["written"]["credits"],
        "plan_bookings": full["written"]["bookings"],
        "measured_client_plans": full["client_plans"],
        "measured_client_invoices": full["client_invoices"],
        "measured_coach_subscribers": full["coach_subscribers"],
        "data_build_seconds": full["seconds"],
        **shown,
        # the machine's load average (1 minute) before and after the pages
        "load_average_1m_start": loads[0],
        "load_average_1m_end": loads[1],
        "page_samples_per_kind": pages["billing"]["samples"],
        "page_rounds": ROUNDS,
        "billing_p50_ms": pages["billing"]["p50_ms"],
        "billing_p95_ms": pages["billing"]["p95_ms"],
        "coach_plans_p50_ms": pages["coach_plans"]["p50_ms"],
        "coach_plans_p95_ms": pages["coach_plans"]["p95_ms"],
        "baseline_p50_ms": pages["bare"]["p50_ms"],
        "baseline_p95_ms": bare_p95,
        "billing_p95_to_baseline_ratio": round(pages["billing"]["p95_ms"] / bare_p95, 2),
        "coach_plans_p95_to_baseline_ratio": round(pages["coach_plans"]["p95_ms"] / bare_p95, 2),
        "billing_server_cpu_ms": pages["billing"]["server_cpu_ms_per_request"],
        "coach_plans_server_cpu_ms": pages["coach_plans"]["server_cpu_ms_per_request"],
        "baseline_server_cpu_ms": pages["bare"]["server_cpu_ms_per_request"],
        "billing_per_s": pages["billing"]["per_s"],
        "coach_plans_per_s": pages["coach_plans"]["per_s"],
        "baseline_per_s": pages["bare"]["per_s"],
        "billing_body_kb": pages["billing"]["largest_body_kb"],
        "coach_plans_body_kb": pages["coach_plans"]["largest_body_kb"],
        "page_statuses_ok": page_ok,
        "billing_queries_small": small_queries["billing"],
        "billing_queries_full": full_queries["billing"],
        "coach_plans_queries_small": small_queries["coach_plans"],
        "coach_plans_queries_full": full_queries["coach_plans"],
        "coach_plans_queries_full_last_page": full_queries["coach_plans_last_page"],
        "target_page_p95_ms": TARGET_PAGE_P95_MS,
        "billing_p95_met": page_ok and pages["billing"]["p95_ms"] <= TARGET_PAGE_P95_MS,
        "coach_plans_p95_met": page_ok and pages["coach_plans"]["p95_ms"] <= TARGET_PAGE_P95_MS,
        "billing_queries_constant_met": billing_constant,
        "coach_plans_queries_constant_met": coach_constant,
        "server": f"{WORKERS} uvicorn processes, {CLIENTS} closed-loop clients balanced over "
        "them, DEBUG off",
        "cpu_count": os.cpu_count(),
        "django": django_module.get_version(),
        "note": "2-core machine shared with other test runs: latency grows with the load "
        "average; server CPU per request much less",
    }
    print(json.dumps(figures))


def _plain_storages() -> dict:
    """Static URLs as in development: this process has not loaded the collected manifest."""
    from django.conf import settings

    return {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


if __name__ == "__main__":
    main()
