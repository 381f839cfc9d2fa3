"""The local Stripe simulates Stripe's network latency on request: each API answer waits a
log-normal time with the chosen median and 95th percentile; off by default."""

from __future__ import annotations

import random
import statistics
import time

import pytest
from django.test import Client

from marketplace.settings import base
from payments import gateway
from payments.sandbox import chaos, controls
from tests.factories import UserFactory
from tests.mfa import sign_in_with_totp


def test_off_by_default():
    assert (base.STRIPE_SANDBOX_LATENCY_P50_MS, base.STRIPE_SANDBOX_LATENCY_P95_MS) == (0, 0)
    assert chaos.latency_seconds(0, 0) == 0.0


def test_the_draws_have_the_chosen_median_and_95th_percentile():
    rng = random.Random(19)
    draws = sorted(chaos.latency_seconds(300, 800, rng) * 1000 for _ in range(4000))
    median, p95 = draws[len(draws) // 2], draws[int(len(draws) * 0.95)]
    assert 280 <= median <= 320, median
    assert 720 <= p95 <= 880, p95
    assert min(draws) > 0


def _median_answer_ms(requests: int) -> float:
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        gateway.balance_retrieve(stripe_account_id="")
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


@pytest.mark.django_db
def test_each_answer_waits_for_the_simulated_latency(stripe_local, settings):
    # given: the answers' own time, latency off (the default)
    assert chaos.latency_ms() == (0, 0)
    baseline = _median_answer_ms(15)
    # when: a median of 20 ms (95th percentile 40 ms) is asked for in the settings
    settings.STRIPE_SANDBOX_LATENCY_P50_MS = 20
    settings.STRIPE_SANDBOX_LATENCY_P95_MS = 40
    delayed = _median_answer_ms(31)
    # then: the median answer is later by about the median latency
    assert 12 <= delayed - baseline <= 40, (baseline, delayed)


@pytest.mark.django_db
def test_the_developer_page_sets_the_latency(stripe_local, settings):
    settings.DEBUG = False
    browser = Client()
    sign_in_with_totp(browser, UserFactory(is_staff=True))
    outcomes = {
        "action": "outcomes",
        "refund_outcome": "succeeded",
        "duplicate_percent": "0",
        "lost_answer_percent": "0",
        "chaos_seed": "0",
    }
    # when: the page asks for 300 ms, 95th percentile 800 ms
    answer = browser.post(
        "/_stripe/", {**outcomes, "latency_p50_ms": "300", "latency_p95_ms": "800"}
    )
    # then: the local Stripe answers with that latency, and the page shows it
    assert answer.status_code == 302
    assert chaos.latency_ms() == (300, 800)
    page = browser.get("/_stripe/").content.decode()
    assert 'name="latency_p50_ms" value="300"' in page
    # a 95th percentile below the median is refused with the reason; the latency stays
    browser.post("/_stripe/", {**outcomes, "latency_p50_ms": "300", "latency_p95_ms": "100"})
    assert chaos.latency_ms() == (300, 800)
    # empty fields go back to the settings (off)
    browser.post("/_stripe/", outcomes)
    assert chaos.latency_ms() == (0, 0)
    controls.set_latency(None)
