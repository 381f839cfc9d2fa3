"""The web process (``python -m marketplace.serve``, the Procfile's and docker compose's
``web``) runs one uvicorn worker per core behind one port, and refuses a configuration whose
workers could hold more database connections than PostgreSQL accepts."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings

from marketplace import serve
from tests.conftest import BASE_DIR


def _procfile() -> dict[str, str]:
    lines = (BASE_DIR / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line and not line.startswith("#"))


def test_make_run_and_compose_start_the_web_server_through_serve():
    assert _procfile()["web"] == "python -m marketplace.serve"


@pytest.mark.parametrize("cores", [1, 2, 8])
def test_one_worker_per_core_by_default(cores):
    workers = serve.web_workers(environ={}, cpu_count=cores)
    command = serve.web_command(workers=workers, host="127.0.0.1", port="8000")
    assert command[command.index("--workers") + 1] == str(cores)
    assert command[command.index("--port") + 1] == "8000"  # one port for all of them


def test_web_concurrency_sets_the_workers():
    assert serve.web_workers(environ={"WEB_CONCURRENCY": "3"}, cpu_count=8) == 3
    assert serve.web_workers(cpu_count=None) == (
        int(os.environ["WEB_CONCURRENCY"]) if os.environ.get("WEB_CONCURRENCY") else os.cpu_count()
    )
    with pytest.raises(ValueError):
        serve.web_workers(environ={"WEB_CONCURRENCY": "0"})


def test_a_worker_holds_a_connection_per_thread_of_its_pools():
    assert serve.connections_per_worker(threads=4, local_stripe=False) == 4 + 2
    assert serve.connections_per_worker(threads=4, local_stripe=True) == 8 + 2


def test_workers_that_could_exhaust_max_connections_are_refused():
    # 2 cores x (4 threads x 2 pools + 2) = 20 of 100 less 10 reserved: starts
    serve.ConnectionBudget(workers=2, per_worker=10, max_connections=100, reserved=10).check()
    # exactly the budget: starts
    serve.ConnectionBudget(workers=9, per_worker=10, max_connections=100, reserved=10).check()
    # 16 cores x 10 = 160 > 90: refused, with the figures and what to change
    with pytest.raises(serve.ConnectionBudgetExceeded) as refused:
        serve.ConnectionBudget(workers=16, per_worker=10, max_connections=100, reserved=10).check()
    assert "160" in str(refused.value) and "90" in str(refused.value)
    assert "WEB_CONCURRENCY" in str(refused.value)


@pytest.mark.django_db
def test_the_budget_reads_postgres_max_connections():
    budget = serve.connection_budget(workers=2)
    assert budget.max_connections == int(_show_max_connections())
    assert budget.per_worker == serve.connections_per_worker(
        threads=settings.WEB_THREADS, local_stripe=settings.STRIPE_SANDBOX
    )
    assert budget.reserved == settings.DATABASE_RESERVED_CONNECTIONS


def _show_max_connections() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW max_connections")
        return cursor.fetchone()[0]


def test_the_server_refuses_to_start_past_the_budget():
    # when: more workers are asked for than the database could serve
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "marketplace.settings.test",
        "WEB_CONCURRENCY": "10000",
    }
    result = subprocess.run(
        [sys.executable, "-m", "marketplace.serve"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # then: it exits before starting uvicorn, saying why
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Not starting the web server: 10000 web workers" in result.stderr
    assert "web: uvicorn" not in result.stdout


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_server_starts_the_workers_on_one_port(tmp_path):
    import signal
    import time
    import urllib.error
    import urllib.request

    port = _free_port()
    log = tmp_path / "web.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "marketplace.settings.test",
        "WEB_CONCURRENCY": "2",
        "HOST": "127.0.0.1",
        "PORT": str(port),
    }
    # when: the Procfile's web line starts
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "marketplace.serve"],
            cwd=BASE_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        answered = False
        while time.monotonic() < deadline and not answered:
            assert process.poll() is None, log.read_text()
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                answered = True
            except urllib.error.HTTPError:
                answered = True
            except OSError:
                time.sleep(0.5)
        while time.monotonic() < deadline and log.read_text().count("Started server process") < 2:
            time.sleep(0.5)
        text = log.read_text()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    # then: uvicorn runs two worker processes behind the one port, and they answer
    assert answered, text
    assert (
        f"web: uvicorn marketplace.asgi:application --host 127.0.0.1 --port {port} --workers 2"
        in text
    )
    assert text.count("Started server process") == 2, text
