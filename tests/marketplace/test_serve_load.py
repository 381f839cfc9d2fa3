"""The web server as ``make run`` starts it (the Procfile's ``web`` line, no
``WEB_CONCURRENCY``): one uvicorn worker process per core, and under 50 signed-in clients
browsing at once, PostgreSQL never holds more connections for it than the budget
``marketplace.serve`` checks before starting (nor more than ``max_connections``)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import psycopg
import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection

from marketplace import serve
from tests.bench._harness import closed_loop, http_request
from tests.bookings.factories import open_coach
from tests.conftest import BASE_DIR
from tests.factories import UserFactory
from tests.messaging.factories import ThreadFactory, add_message

CLIENTS = 50
REQUESTS_PER_CLIENT = 3


def _procfile_web() -> list[str]:
    lines = (BASE_DIR / "Procfile").read_text().splitlines()
    command = dict(line.split(": ", 1) for line in lines if line and not line.startswith("#"))
    return command["web"].split()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _signed_in(user) -> str:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def _workers(parent: psutil.Process) -> list[psutil.Process]:
    """uvicorn's worker processes: the children that serve (multiprocessing's resource
    tracker, if any, does not)."""
    return [
        child for child in parent.children() if "resource_tracker" not in " ".join(child.cmdline())
    ]


class ConnectionSampler(threading.Thread):
    """Counts the test database's connections every 10 ms, leaving out this test process's
    own (its Django connection and the sampler's)."""

    def __init__(self, database: str, own_pids: set[int]) -> None:
        super().__init__(daemon=True)
        self.database = database
        self.own_pids = own_pids
        self.peak = 0
        self.samples = 0
        self.stop = threading.Event()

    def run(self) -> None:
        params = connection.get_connection_params()
        params.pop("cursor_factory", None)
        params.pop("context", None)
        with psycopg.connect(**params, autocommit=True) as sampler:
            own = [*self.own_pids, sampler.info.backend_pid]
            while not self.stop.is_set():
                (count,) = sampler.execute(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = %s AND NOT (pid = ANY(%s))",
                    [self.database, own],
                ).fetchone()
                self.peak = max(self.peak, count)
                self.samples += 1
                time.sleep(0.01)


@pytest.mark.django_db(transaction=True)
def test_make_run_starts_a_worker_per_core_and_stays_within_the_connection_budget(
    tmp_path: Path,
):
    # given: clients with sessions, conversations and a coach to look at, committed so the
    # server's processes read them
    coach, _session_type = open_coach(slug="maya")
    sessions = []
    threads = []
    for index in range(CLIENTS):
        client = UserFactory(email=f"browser{index}@example.com")
        thread = ThreadFactory(client=client, coach=coach.user)
        add_message(thread, coach.user, "Welcome!")
        threads.append(thread.pk)
        sessions.append(_signed_in(client))
    connection.ensure_connection()
    own_pid = connection.connection.info.backend_pid
    database = connection.settings_dict["NAME"]
    budget = serve.connection_budget(workers=os.cpu_count() or 1)

    # when: the Procfile's web line starts with the defaults (no WEB_CONCURRENCY), with
    # persistent connections as in production
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if key != "WEB_CONCURRENCY"}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "marketplace.settings.test",
            "COACH_DATABASE_NAME": database,
            "DATABASE_CONN_MAX_AGE": "600",
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "PYTHONUNBUFFERED": "1",
        }
    )
    command = _procfile_web()
    assert command[0] == "python"
    log = tmp_path / "web.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, *command[1:]],
            cwd=BASE_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    sampler = ConnectionSampler(database, {own_pid})
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and log.read_text().count("Application startup") < (
            os.cpu_count() or 1
        ):
            assert process.poll() is None, log.read_text()
            time.sleep(0.3)
        workers = _workers(psutil.Process(process.pid))

        def pages(index: int) -> list[bytes]:
            headers = {"Cookie": f"sessionid={sessions[index]}; tz=Europe/Zurich"}
            paths = ["/", "/coaches/", "/coaches/maya/", "/messages/",
                     f"/messages/{threads[index]}/", "/bookings/"]  # fmt: skip
            return [
                http_request("GET", paths[number % len(paths)], headers=headers)
                for number in range(index, index + REQUESTS_PER_CLIENT)
            ]

        sampler.start()
        # the clients' event loop runs in a thread of its own: a test before this one may have
        # left this thread's loop running (a browser test's)
        with ThreadPoolExecutor(max_workers=1) as clients:
            answers, _seconds = clients.submit(
                closed_loop, f"127.0.0.1:{port}", [pages(i) for i in range(CLIENTS)]
            ).result()
        serving = {worker.pid for worker in workers if worker.is_running()}
    finally:
        sampler.stop.set()
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        if sampler.is_alive():
            sampler.join(timeout=5)

    # then: one worker process per core, behind the one port
    assert f"--port {port} --workers {os.cpu_count()}" in log.read_text()
    assert len(workers) == os.cpu_count(), [worker.cmdline() for worker in workers]
    assert len(serving) == os.cpu_count()
    # and every page answered, signed in, while the connections stayed within the budget
    assert len(answers) == CLIENTS * REQUESTS_PER_CLIENT
    assert {answer.status for answer in answers} == {200}, log.read_text()[-3000:]
    assert sampler.samples > 10
    # (the load kept every HTTP thread of a worker busy at once: more than one per worker)
    assert (os.cpu_count() or 1) < sampler.peak <= budget.web <= budget.available
    assert budget.available < budget.max_connections
