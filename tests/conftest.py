"""Fixtures shared by every test: the cache per test, a real Celery worker, Chromium."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery.result import allow_join_result
from django.db import connection

# Playwright's sync API runs an event loop in the test thread; the tests touch the database
# from that same thread while no coroutine is running.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

BASE_DIR = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(autouse=True)
def _isolated_cache(settings) -> None:
    """Each test gets its own cache namespace, so rate limits never leak between tests."""
    caches = {**settings.CACHES}
    caches["default"] = {**caches["default"], "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}
    settings.CACHES = caches


class CeleryWorker:
    def __init__(self, process: subprocess.Popen, queue: str, log: Path) -> None:
        self.process = process
        self.queue = queue
        self.log = log

    def kill(self) -> None:
        """Kill the worker at once (SIGKILL), as a crash would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start_celery_worker(tmp_path: Path, *, queue: str | None = None) -> CeleryWorker:
    """Start ``celery -A marketplace worker`` against the test database and a fresh queue."""
    from marketplace.celery import app as celery_app

    queue = queue or f"test-{uuid.uuid4().hex[:10]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "marketplace.settings.test",
        "COACH_DATABASE_NAME": connection.settings_dict["NAME"],
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "PYTHONUNBUFFERED": "1",
    }
    log = tmp_path / f"worker-{queue}.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "marketplace",
            "worker",
            "--loglevel",
            "INFO",
            "--pool",
            "prefork",
            "--concurrency",
            "2",
            "--queues",
            queue,
            "--hostname",
            f"{queue}@%h",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("celery worker exited:\n" + log.read_text())
        replies = celery_app.control.ping(timeout=0.5)
        if any(name.startswith(f"{queue}@") for reply in replies for name in reply):
            return CeleryWorker(process, queue, log)
    process.kill()
    raise RuntimeError("celery worker did not answer a ping:\n" + log.read_text())


@pytest.fixture
def celery_worker(transactional_db, settings, tmp_path) -> Iterator[CeleryWorker]:
    """A real worker process; tasks queued by the test go to it through Redis.

    The test must use committed data (``transactional_db``) so the worker can read it.
    """
    from marketplace.celery import app as celery_app

    worker = start_celery_worker(tmp_path)
    previous = (celery_app.conf.task_always_eager, celery_app.conf.task_default_queue)
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = worker.queue
    settings.CELERY_TASK_ALWAYS_EAGER = False
    try:
        # Eager tasks run earlier in this process may leave Celery believing it is inside a
        # task, where result.get() is refused; the test process is not a task.
        with allow_join_result():
            yield worker
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.task_default_queue = previous
        if worker.process.poll() is None:
            os.killpg(worker.process.pid, signal.SIGTERM)
            try:
                worker.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()


def ensure_chromium() -> str:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            "Chromium is missing: run `make test-tools` (as root it installs Debian's chromium "
            "package) or `sudo apt-get install chromium`."
        )
    return CHROMIUM


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    executable = ensure_chromium()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, timezone_id="Europe/Zurich")
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def wait_for(predicate, *, timeout: float = 20.0, interval: float = 0.1, message: str = ""):
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(message or f"condition not met within {timeout}s")


@pytest.fixture
def eager_retries() -> Iterator[None]:
    """Eager tasks retry as a worker's would (at once, up to their ``max_retries``) instead of
    raising ``Retry`` into the caller: for tests where Stripe fails transiently."""
    from marketplace.celery import app as celery_app

    previous = celery_app.conf.task_eager_propagates
    celery_app.conf.task_eager_propagates = False
    try:
        yield
    finally:
        celery_app.conf.task_eager_propagates = previous
