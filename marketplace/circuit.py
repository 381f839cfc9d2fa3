"""A circuit breaker: after a service fails, stop asking it for a few seconds.

A frozen Redis answers nothing until a socket timeout ends the wait. Without a breaker every
call waits that long (a page that reads the cache five times waits five times, and every web
thread soon waits); with one, the first failure is paid for and the calls after it go on at
once without the service, until one call a few seconds later finds it answering again.
"""

from __future__ import annotations

import logging
import threading
import time

logger = logging.getLogger("marketplace.circuit")


class Circuit:
    """Whether to ask a service now: closed (ask), open for ``retry_after`` seconds after a
    failure (do not), then one caller at a time tries again (half open). Process-wide and
    thread-safe; it logs when the service stops and starts answering, not every call."""

    def __init__(self, name: str, retry_after: float) -> None:
        self.name = name
        self.retry_after = retry_after
        self.lock = threading.Lock()
        self.open_until = 0.0
        self.failing = False

    def allows(self) -> bool:
        if not self.failing:
            return True
        with self.lock:
            now = time.monotonic()
            if now < self.open_until:
                return False
            # This caller tries; the others keep going without the service meanwhile.
            self.open_until = now + self.retry_after
            return True

    def failed(self, error: BaseException) -> None:
        with self.lock:
            first = not self.failing
            self.failing = True
            self.open_until = time.monotonic() + self.retry_after
        if first:
            logger.warning(
                "%s is unreachable (%s); going on without it, trying again every %.1f s",
                self.name,
                type(error).__name__,
                self.retry_after,
            )

    def succeeded(self) -> None:
        if self.failing:
            with self.lock:
                was_failing, self.failing = self.failing, False
            if was_failing:
                logger.warning("%s answers again", self.name)


_circuits: dict[tuple[str, ...], Circuit] = {}
_circuits_lock = threading.Lock()


def circuit_for(key: tuple[str, ...], name: str, retry_after: float) -> Circuit:
    """The process's one circuit for ``key`` (a service and its location), made on first use:
    Django makes a cache per thread, and every thread shares what it learns of Redis."""
    circuit = _circuits.get(key)  # every publish asks: no lock once it exists
    if circuit is None:
        with _circuits_lock:
            circuit = _circuits.setdefault(key, Circuit(name, retry_after))
    return circuit
