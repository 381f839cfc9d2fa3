"""Fixed-window rate limits per user in the Redis cache, for what people post.

A rate is written ``"30/m"``: a count per second (s), minute (m), hour (h) or day (d).
While Redis cannot answer, the cache counts from the start every time, so a limit lets
posts through (docs/security.md, "When Redis is sick").
"""

from __future__ import annotations

import time

from django.core.cache import cache

from marketplace.errors import DomainError

_RATE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class RateLimited(DomainError):
    status_code = 429
    code = "rate_limited"


def parse_rate(rate: str) -> tuple[int, int]:
    """``"30/m"`` -> (30, 60): the count and the window in seconds."""
    count, _, unit = rate.partition("/")
    return int(count), _RATE_UNITS[unit.strip()[:1] or "m"]


def rate_limit_check(*, key: str, rate: str, what: str = "sending messages") -> None:
    """Count one more under ``key`` (atomic ``cache.add`` + ``cache.incr``); raise
    ``RateLimited`` saying how long to wait once ``rate`` is passed."""
    limit, window = parse_rate(rate)
    now = int(time.time())
    window_start = now - now % window
    counter = f"rate:{key}:{window_start}"
    cache.add(counter, 0, timeout=window + 1)
    try:
        count = cache.incr(counter)
    except ValueError:  # the key expired between add and incr
        cache.set(counter, 1, timeout=window + 1)
        count = 1
    if count > limit:
        retry = window_start + window - now
        raise RateLimited(
            f"You are {what} too quickly ({limit} per {window} seconds). "
            f"Please wait {retry} seconds and try again."
        )
