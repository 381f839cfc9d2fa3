"""The cache that degrades instead of failing: Django's Redis cache, answering without Redis
when Redis does not answer (docs/security.md, "When Redis is sick").

Django's own ``RedisCache`` raises redis-py's exceptions from every call, so a stopped Redis
turns every page that reads the cache (and every rate limit: allauth's and the messages')
into a 500, and a frozen one holds the web thread as long as the socket waits. Here:

- every read and write is bounded by the connection's timeouts (``OPTIONS``
  ``socket_connect_timeout`` / ``socket_timeout``, from ``REDIS_CONNECT_TIMEOUT`` /
  ``REDIS_SOCKET_TIMEOUT``);
- a call that fails is logged and answered as a miss: ``get`` returns the default,
  ``get_many`` nothing, ``has_key`` False, writes do nothing, ``add`` reports the value
  stored and ``incr`` the first count (``delta``), so a rate limiter counting in the cache
  lets the request through (fails open);
- after a connection failure or a timeout the cache stops asking Redis for ``RETRY_AFTER``
  seconds (one process-wide circuit per Redis location): a page that reads the cache five
  times waits for one timeout, not five, and the requests after it wait for none. Then one
  call tries again; when it succeeds, Redis is used again.

``add`` on a key given in ``FAIL_CLOSED_ADD_PREFIXES`` reports *not* stored instead: those
keys guard against replay (allauth marks a TOTP code used with ``add``), where letting a
request through would weaken the check rather than only the throttle.

``ping()`` is the health check's probe: it raises instead of answering a miss.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from marketplace.circuit import circuit_for

logger = logging.getLogger("marketplace.cache")

# Failures that say Redis is unreachable or too slow (the circuit opens); any other
# RedisError (out of memory, a read-only replica, a wrong type) is answered as a miss alone.
UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)


def _safe_name(location: str) -> str:
    """The location without a password, for the log."""
    scheme, sep, rest = location.partition("://")
    if sep and "@" in rest:
        rest = rest.rsplit("@", 1)[1]
    return f"{scheme}{sep}{rest}"


class FailOpenRedisCache(RedisCache):
    """``django.core.cache.backends.redis.RedisCache`` that answers misses when Redis fails.

    ``OPTIONS`` are Django's (passed to redis-py's connection pool) plus ``RETRY_AFTER``
    (seconds, default 5) and ``FAIL_CLOSED_ADD_PREFIXES`` (a list of key prefixes).
    """

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        options = dict(params.get("OPTIONS", {}))
        retry_after = float(options.pop("RETRY_AFTER", 5.0))
        self.fail_closed_add_prefixes = tuple(options.pop("FAIL_CLOSED_ADD_PREFIXES", ()))
        super().__init__(server, {**params, "OPTIONS": options})
        servers = server.split(",") if isinstance(server, str) else list(server)
        self.circuit = circuit_for(
            ("cache", *servers),
            f"the cache's Redis at {_safe_name(servers[0])}",
            retry_after,
        )

    def _guarded(self, operation: str, miss: Any, *args: Any) -> Any:
        """Django's ``operation`` with ``args``, or ``miss`` when Redis cannot answer."""
        if not self.circuit.allows():
            return miss
        try:
            result = getattr(super(), operation)(*args)
        except UNAVAILABLE as error:
            self.circuit.failed(error)
            return miss
        except RedisError as error:
            logger.warning(
                "cache: %s failed (%s: %s); answered as a miss",
                operation,
                type(error).__name__,
                error,
            )
            return miss
        self.circuit.succeeded()
        return result

    def ping(self) -> None:
        """Ask Redis (through the circuit); raise if it cannot answer now."""
        if not self.circuit.allows():
            raise RedisConnectionError("Redis is unreachable (retrying shortly)")
        try:
            # Django's own read, outside the guard: it raises when Redis cannot answer.
            super().has_key("healthz:ping")
        except UNAVAILABLE as error:
            self.circuit.failed(error)
            raise
        self.circuit.succeeded()

    def add(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> bool:
        fail_closed = (
            bool(self.fail_closed_add_prefixes)
            and isinstance(key, str)
            and key.startswith(self.fail_closed_add_prefixes)
        )
        return self._guarded("add", not fail_closed, key, value, timeout, version)

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        return self._guarded("get", default, key, default, version)

    def set(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> None:
        self._guarded("set", None, key, value, timeout, version)

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> bool:
        return self._guarded("touch", False, key, timeout, version)

    def delete(self, key: Any, version: Any = None) -> bool:
        return self._guarded("delete", False, key, version)

    def get_many(self, keys: Any, version: Any = None) -> dict[Any, Any]:
        return self._guarded("get_many", {}, keys, version)

    def has_key(self, key: Any, version: Any = None) -> bool:
        return self._guarded("has_key", False, key, version)

    def incr(self, key: Any, delta: int = 1, version: Any = None) -> int:
        # A counter that cannot be read counts from the start: a rate limit lets it through.
        return self._guarded("incr", delta, key, delta, version)

    def set_many(self, data: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> list[Any]:
        # The keys not stored, as Django's contract says.
        return self._guarded("set_many", list(data), data, timeout, version)

    def delete_many(self, keys: Any, version: Any = None) -> None:
        self._guarded("delete_many", None, keys, version)

    def clear(self) -> None:
        self._guarded("clear", None)
