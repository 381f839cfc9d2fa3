"""The network's and Stripe's bad days, on request: deliveries held back and sent in a random
order (some twice), answers lost after the work is done, and the network's latency.

Both are switched on in ``SandboxState`` (``controls.set_delivery_chaos``,
``controls.set_lost_answers``, the developer page) and drawn from one random generator per
process, seeded by ``chaos_seed``, so a test that sets a seed gets the same run again.
"""

from __future__ import annotations

import math
import random
import threading

from django.conf import settings

from payments.sandbox import store

_lock = threading.Lock()
_rng: random.Random | None = None
_rng_seed: int | None = None


def reseed(seed: int) -> None:
    """Start this process's random choices again from ``seed``."""
    global _rng, _rng_seed
    with _lock:
        _rng = random.Random(seed)
        _rng_seed = seed


def _generator(seed: int) -> random.Random:
    if _rng is None or _rng_seed != seed:
        reseed(seed)
    assert _rng is not None
    return _rng


def settings_row() -> tuple[bool, int, int, int]:
    """``(deliveries_shuffled, duplicate_percent, lost_answer_percent, chaos_seed)``, as the
    request being answered sees them."""
    state = store.current_state()
    return (
        state.deliveries_shuffled,
        state.duplicate_percent,
        state.lost_answer_percent,
        state.chaos_seed,
    )


def deliveries_shuffled() -> bool:
    return settings_row()[0]


def delivery_order(delivery_ids: list[int]) -> list[int]:
    """The deliveries to send, in a random order, some of them twice (a duplicate is sent
    again at a random later place), when shuffling is on; else as given."""
    shuffled, duplicate_percent, _lost, seed = settings_row()
    if not shuffled:
        return delivery_ids
    with _lock:
        rng = _generator(seed)
        order = list(delivery_ids)
        rng.shuffle(order)
        for delivery_id in list(order):
            if rng.randrange(100) < duplicate_percent:
                order.insert(rng.randint(order.index(delivery_id) + 1, len(order)), delivery_id)
    return order


# What the caller sees when its answer is lost: the two ways a dropped network shows itself.
LOST_CONNECTION = "connection"
LOST_TIMEOUT = "timeout"


def answer_lost() -> str | None:
    """Whether this answer is lost (``LOST_CONNECTION`` or ``LOST_TIMEOUT``), drawn with
    ``lost_answer_percent``; None when it arrives."""
    _shuffled, _duplicates, lost_percent, seed = settings_row()
    if not lost_percent:
        return None
    with _lock:
        rng = _generator(seed)
        if rng.randrange(100) >= lost_percent:
            return None
        return LOST_TIMEOUT if rng.random() < 0.5 else LOST_CONNECTION


# The standard normal's 95th percentile: a log-normal's p95 is exp(mu + Z95 * sigma).
Z95 = 1.6448536269514722


def latency_ms() -> tuple[int, int]:
    """``(p50, p95)`` of the simulated latency in milliseconds, ``(0, 0)`` when off: the
    developer page's choice, else the settings."""
    state = store.current_state()
    p50, p95 = state.latency_p50_ms, state.latency_p95_ms
    if p50 is None:
        p50, p95 = settings.STRIPE_SANDBOX_LATENCY_P50_MS, settings.STRIPE_SANDBOX_LATENCY_P95_MS
    return p50, max(p95 or 0, p50)


def latency_seconds(p50_ms: int, p95_ms: int, rng: random.Random | None = None) -> float:
    """One draw of a log-normal latency with median ``p50_ms`` and 95th percentile
    ``p95_ms`` (equal: always the median), in seconds."""
    if p50_ms <= 0:
        return 0.0
    sigma = math.log(max(p95_ms, p50_ms) / p50_ms) / Z95
    with _lock:
        draw = (rng or _latency_rng).lognormvariate(math.log(p50_ms), sigma)
    return draw / 1000


# Latency draws need no repeatable seed (they change no outcome, only when it arrives).
_latency_rng = random.Random()
