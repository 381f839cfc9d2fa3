"""Benchmark: the coach search page and the slots endpoint with 10,000 coaches.

Run: ``.venv/bin/python tests/bench/search.py`` (PostgreSQL at DATABASE_URL's server;
the data goes into its own database, ``cc_bench_search``, seeded once and reused).

Seeds 10,000 approved coaches (users, profiles, specialisations, two session types each,
weekly rules, ~10 confirmed bookings each, search vectors, the availability index) with
bulk inserts, then times 200 requests of each through Django's full request stack
(``django.test.Client``: URL routing, middleware, templates, no network):

- the search page ``/coaches/`` with a rotating mix of text, filters, sorts and pages;
- the slots endpoint ``/api/coaches/{id}/slots/`` for random coaches (14 days);
- a bare Django view doing one indexed query (a profile by primary key), the baseline.

Prints one JSON line with p50/p95 in milliseconds, the ratios to the baseline and whether
the targets (search p95 <= 150 ms, slots p95 <= 50 ms) are met. Other engineers load the
same machine while it runs, so the figures are pessimistic.
"""

from __future__ import annotations

import json
import math
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from datetime import time as wall_time
from pathlib import Path
from urllib.parse import urlencode

BASE_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(BASE_DIR))

BENCH_DB = "cc_bench_search"
COACHES = 10_000
REQUESTS = 200
WARMUP = 20
TARGET_SEARCH_P95_MS = 150
TARGET_SLOTS_P95_MS = 50


def _database_url() -> str:
    server = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    return server.rsplit("/", 1)[0] + "/" + BENCH_DB


def _create_database(url: str) -> None:
    import psycopg

    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{BENCH_DB}"')


os.environ["DATABASE_URL"] = _database_url()
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/5")
# Development settings, as this bench has always measured (Django's test client, in-process).
os.environ["DJANGO_SETTINGS_MODULE"] = "marketplace.settings.development"
os.environ["API_THROTTLE_ANON"] = "1000000/min"
os.environ["API_THROTTLE_USER"] = "1000000/min"
os.environ["CACHE_KEY_PREFIX"] = "bench-search"
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"
os.environ["LOG_LEVEL"] = "WARNING"
# Persistent connections, as production runs (the baseline gets them too).
os.environ.setdefault("DATABASE_CONN_MAX_AGE", "60")
_create_database(os.environ["DATABASE_URL"])

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import include, path  # noqa: E402

from bookings.models import Booking, BookingStatus  # noqa: E402
from coaches.models import (  # noqa: E402
    AvailabilityRule,
    CoachProfile,
    SessionType,
    Specialization,
)
from coaches.services import search_index  # noqa: E402
from marketplace.models import Role, User  # noqa: E402

WORDS = [
    "career",
    "leadership",
    "confidence",
    "growth",
    "mindset",
    "wellness",
    "burnout",
    "founders",
    "engineers",
    "managers",
    "teams",
    "habits",
    "focus",
    "clarity",
    "transitions",
    "relationships",
    "communication",
    "productivity",
    "executive",
    "presence",
    "resilience",
    "purpose",
    "balance",
    "strategy",
    "sales",
]
ZONES = [
    "Europe/Zurich",
    "America/New_York",
    "Asia/Tokyo",
    "Europe/London",
    "America/Los_Angeles",
    "Australia/Sydney",
    "Europe/Berlin",
    "Asia/Kolkata",
]
CURRENCIES = {"Asia/Tokyo": "jpy", "Europe/London": "gbp", "Europe/Zurich": "chf"}
# Bios mix a few domain words (each in about a quarter of the bios, as real bios vary) with
# ordinary prose from a wider vocabulary.
SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ne",
    "ru",
    "sa",
    "te",
    "vi",
    "do",
    "pa",
    "li",
    "mo",
    "ra",
    "se",
    "tu",
    "ne",
    "fa",
    "go",
]
FILLER = sorted({a + b + c for a in SYLLABLES for b in SYLLABLES for c in ("n", "r", "s", "l")})
LANGUAGES = [["en"], ["en", "de"], ["en", "fr"], ["es", "en"], ["ja", "en"], ["de"]]


def baseline(request: HttpRequest, pk: int) -> HttpResponse:
    """The bare Django view: one query on an indexed column (the primary key)."""
    slug = CoachProfile.objects.filter(pk=pk).values_list("slug", flat=True).first()
    return HttpResponse(slug or "")


urlpatterns = [
    path("bench/baseline/<int:pk>/", baseline),
    path("", include("marketplace.urls")),
]


def seed() -> dict[str, int]:
    rng = random.Random(7)
    call_command("migrate", verbosity=0)
    from coaches.demo import ensure_managed_lists

    ensure_managed_lists()
    have = CoachProfile.objects.filter(slug__startswith="bench-").count()
    if have >= COACHES:
        return {"coaches": have, "bookings": Booking.objects.count(), "seeded_s": 0}
    started = time.perf_counter()
    specializations = list(Specialization.objects.all())
    with transaction.atomic():
        clients = User.objects.bulk_create(
            User(email=f"bench-client{i}@bench.test", password="!", role=Role.CLIENT)
            for i in range(100)
        )
        users = User.objects.bulk_create(
            (
                User(
                    email=f"bench-coach{i}@bench.test",
                    password="!",
                    role=Role.COACH,
                    first_name=rng.choice(["Ana", "Ben", "Chen", "Dara", "Eli", "Femi", "Gus"]),
                    last_name=f"Coach{i}",
                )
                for i in range(COACHES)
            ),
            batch_size=2000,
        )
        profiles = []
        for i, user in enumerate(users):
            zone = ZONES[i % len(ZONES)]
            profiles.append(
                CoachProfile(
                    user=user,
                    slug=f"bench-{i}",
                    headline=" ".join(rng.sample(WORDS, 3)).capitalize(),
                    bio=" ".join(rng.sample(rng.sample(WORDS, 6) + rng.choices(FILLER, k=54), 60)),
                    time_zone=zone,
                    currency=CURRENCIES.get(zone, "usd"),
                    languages=rng.choice(LANGUAGES),
                    is_approved=True,
                    can_take_charges=True,
                    minimum_notice_minutes=12 * 60,
                    buffer_after_minutes=15,
                    rating_average=round(rng.uniform(3, 5), 2) if i % 4 else None,
                    rating_count=rng.randint(1, 80) if i % 4 else 0,
                )
            )
        profiles = CoachProfile.objects.bulk_create(profiles, batch_size=2000)
        through = CoachProfile.specializations.through
        through.objects.bulk_create(
            (
                through(coachprofile_id=profile.pk, specialization_id=spec.pk)
                for profile in profiles
                for spec in rng.sample(specializations, 2)
            ),
            batch_size=5000,
        )
        session_types = []
        for profile in profiles:
            scale = 100 if profile.currency == "jpy" else 1
            session_types.append(
                SessionType(
                    coach=profile,
                    name="Intro call",
                    duration_minutes=30,
                    price=rng.randint(30, 90) * 100 * scale,
                    currency=profile.currency,
                )
            )
            session_types.append(
                SessionType(
                    coach=profile,
                    name="Coaching session",
                    duration_minutes=60,
                    price=rng.randint(90, 300) * 100 * scale,
                    currency=profile.currency,
                )
            )
        session_types = SessionType.objects.bulk_create(session_types, batch_size=5000)
        AvailabilityRule.objects.bulk_create(
            (
                AvailabilityRule(coach=profile, weekday=weekday, start_time=start, end_time=end)
                for profile in profiles
                for weekday in range(5)
                for start, end in ((wall_time(9), wall_time(12)), (wall_time(13), wall_time(17)))
            ),
            batch_size=10000,
        )
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        bookings = []
        for index, profile in enumerate(profiles):
            hour_session = session_types[2 * index + 1]
            for k in range(10):
                starts_at = today + timedelta(days=1 + 3 * k, hours=8 + (index + k) % 8)
                bookings.append(
                    Booking(
                        coach=profile,
                        client=clients[(index + k) % len(clients)],
                        session_type=hour_session,
                        starts_at=starts_at,
                        ends_at=starts_at + timedelta(minutes=60),
                        status=BookingStatus.CONFIRMED,
                    )
                )
        Booking.objects.bulk_create(bookings, batch_size=10000)
        CoachProfile.objects.filter(slug__startswith="bench-").update(min_price=None)
        with connection.cursor() as cursor:
            cursor.execute(
                """UPDATE coaches_coachprofile p SET min_price = s.low
                   FROM (SELECT coach_id, min(price) AS low FROM coaches_sessiontype
                         WHERE is_active GROUP BY coach_id) s
                   WHERE s.coach_id = p.id AND p.slug LIKE 'bench-%%'"""
            )
        ids = [profile.pk for profile in profiles]
        search_index.coach_search_vectors_refresh(coach_ids=ids)
    for offset in range(0, len(ids), 500):
        search_index.availability_index_refresh(coach_ids=ids[offset : offset + 500])
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return {
        "coaches": len(profiles),
        "bookings": len(bookings),
        "seeded_s": round(time.perf_counter() - started, 1),
    }


def timed(client: Client, urls: list[str]) -> list[float]:
    for url in urls[:WARMUP]:
        assert client.get(url).status_code == 200, url
    durations = []
    for url in urls:
        started = time.perf_counter()
        response = client.get(url)
        durations.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return durations


def figures(durations: list[float]) -> tuple[float, float]:
    ordered = sorted(durations)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
    return round(statistics.median(ordered), 2), round(p95, 2)


def main() -> None:
    seeded = seed()
    settings.ROOT_URLCONF = __name__ if __name__ != "__main__" else "__main__"
    settings.ALLOWED_HOSTS = ["testserver"]
    rng = random.Random(11)
    client = Client()
    coach_rows = list(
        CoachProfile.objects.filter(slug__startswith="bench-")
        .order_by("?")
        .values_list("pk", "session_types__pk")[: REQUESTS * 2]
    )
    search_mix = [
        {},
        {"q": "leadership"},
        {"q": "career growth", "sort": "rating"},
        {"specialization": "career", "sort": "price"},
        {"language": "de", "min_rating": "4"},
        {"currency": "usd", "min_price": "50", "max_price": "150", "sort": "-price"},
        {"free_within_days": "3", "sort": "soonest"},
        {"q": "burnout founders", "page": "3"},
        {"specialization": "wellness", "language": "en", "page": "5"},
        {
            "day": (datetime.now(UTC) + timedelta(days=5)).date().isoformat(),
            "from_time": "09:00",
            "to_time": "12:00",
            "tz": "Europe/Zurich",
        },
    ]
    search_urls = [
        "/coaches/"
        + ("?" + urlencode(search_mix[i % len(search_mix)]) if i % len(search_mix) else "")
        for i in range(REQUESTS)
    ]
    slot_urls = [
        f"/api/coaches/{pk}/slots/?session_type={session_type}"
        for pk, session_type in rng.sample(coach_rows, REQUESTS)
    ]
    baseline_urls = [f"/bench/baseline/{pk}/" for pk, _ in rng.sample(coach_rows, REQUESTS)]
    baseline_ms = figures(timed(client, baseline_urls))
    search_ms = figures(timed(client, search_urls))
    slots_ms = figures(timed(client, slot_urls))
    result = {
        "benchmark": "coaches.search",
        "coaches": CoachProfile.objects.bookable().count(),
        "bookings": Booking.objects.count(),
        "seeded_s": seeded["seeded_s"],
        "requests_each": REQUESTS,
        "baseline_p50_ms": baseline_ms[0],
        "baseline_p95_ms": baseline_ms[1],
        "search_p50_ms": search_ms[0],
        "search_p95_ms": search_ms[1],
        "slots_p50_ms": slots_ms[0],
        "slots_p95_ms": slots_ms[1],
        "search_p95_to_baseline_ratio": round(search_ms[1] / baseline_ms[1], 2),
        "slots_p95_to_baseline_ratio": round(slots_ms[1] / baseline_ms[1], 2),
        "search_p95_target_ms": TARGET_SEARCH_P95_MS,
        "slots_p95_target_ms": TARGET_SLOTS_P95_MS,
        "search_target_met": search_ms[1] <= TARGET_SEARCH_P95_MS,
        "slots_target_met": slots_ms[1] <= TARGET_SLOTS_P95_MS,
        "machine_shared_with_other_engineers": True,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
