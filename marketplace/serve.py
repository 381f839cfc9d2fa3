"""The web process: uvicorn serving ``marketplace.asgi`` with one worker process per core,
all behind one port (``python -m marketplace.serve``; the ``Procfile``'s and
``docker-compose.yml``'s ``web``).

``WEB_CONCURRENCY`` sets the number of workers (default: the machine's cores,
``os.cpu_count()``); each serves HTTP on ``WEB_THREADS`` threads (``asgi.py``). Before it
starts, the database connections all of them may hold are compared with what PostgreSQL
accepts: a web worker keeps at most one persistent connection per thread of its pools (a
second pool serves the local Stripe when it is in use) and two more (Channels' database
thread and the outbox's publisher), and ``DATABASE_RESERVED_CONNECTIONS`` stay free for the
Celery worker and beat, ``manage.py`` and the administrator. A configuration that could
exhaust ``max_connections`` is refused with the figures, instead of failing under load.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# Connections a web worker holds besides its HTTP threads': Channels runs a consumer's
# database work on one thread of its own, and the outbox publishes on another.
EXTRA_CONNECTIONS_PER_WORKER = 2


class ConnectionBudgetExceeded(Exception):
    """More database connections could be held than PostgreSQL accepts."""


def web_workers(environ: Mapping[str, str] | None = None, cpu_count: int | None = None) -> int:
    """``WEB_CONCURRENCY`` when set, else one worker per core."""
    environ = os.environ if environ is None else environ
    configured = environ.get("WEB_CONCURRENCY", "").strip()
    if configured:
        workers = int(configured)
        if workers < 1:
            raise ValueError("WEB_CONCURRENCY is at least 1")
        return workers
    return max(1, cpu_count if cpu_count is not None else (os.cpu_count() or 1))


def connections_per_worker(*, threads: int, local_stripe: bool) -> int:
    """The most database connections one web worker holds: one per thread of its HTTP pool
    (and of the local Stripe's pool when it serves the local Stripe), and the extra two."""
    return threads * (2 if local_stripe else 1) + EXTRA_CONNECTIONS_PER_WORKER


@dataclass(frozen=True)
class ConnectionBudget:
    workers: int
    per_worker: int
    max_connections: int
    reserved: int

    @property
    def web(self) -> int:
        return self.workers * self.per_worker

    @property
    def available(self) -> int:
        return self.max_connections - self.reserved

    def check(self) -> None:
        """Refuse a configuration whose web workers could hold more connections than
        PostgreSQL has left after the reserve."""
        if self.web > self.available:
            raise ConnectionBudgetExceeded(
                f"{self.workers} web workers x {self.per_worker} database connections each = "
                f"{self.web}, more than PostgreSQL's max_connections ({self.max_connections}) "
                f"less the {self.reserved} reserved (DATABASE_RESERVED_CONNECTIONS) = "
                f"{self.available}. Lower WEB_CONCURRENCY or WEB_THREADS, raise max_connections, "
                "or put PgBouncer in front of PostgreSQL."
            )


def web_command(*, workers: int, host: str, port: str) -> list[str]:
    return [
        "uvicorn",
        "marketplace.asgi:application",
        "--host",
        host,
        "--port",
        port,
        "--workers",
        str(workers),
    ]


def database_max_connections() -> int:
    """PostgreSQL's ``max_connections``."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW max_connections")
        (value,) = cursor.fetchone()
    return int(value)


def connection_budget(workers: int) -> ConnectionBudget:
    from django.conf import settings

    return ConnectionBudget(
        workers=workers,
        per_worker=connections_per_worker(
            threads=settings.WEB_THREADS, local_stripe=settings.STRIPE_SANDBOX
        ),
        max_connections=database_max_connections(),
        reserved=settings.DATABASE_RESERVED_CONNECTIONS,
    )


def main(argv: Sequence[str] | None = None) -> int:
    import django

    # A server started without a choice runs production settings, which fail closed.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings.production")
    django.setup()
    from django.db import connection

    workers = web_workers()
    try:
        connection_budget(workers).check()
    except ConnectionBudgetExceeded as error:
        print(f"Not starting the web server: {error}", file=sys.stderr, flush=True)
        return 2
    finally:
        connection.close()
    command = web_command(
        workers=workers,
        host=os.environ.get("HOST", "127.0.0.1"),
        port=os.environ.get("PORT", "8000"),
    )
    print(f"web: {' '.join(command)}", flush=True)
    os.execv(sys.executable, [sys.executable, "-m", *command, *(argv or [])])  # noqa: S606 - uvicorn from this interpreter, our arguments
    return 0  # not reached: uvicorn replaced this process


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
