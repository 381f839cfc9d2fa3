"""``make run`` (marketplace/devrun.py) stops what it started: its processes' group, and the
embedded PostgreSQL and Redis when this run started them; and it prints the demo sign-ins
again once the site answers."""

from __future__ import annotations

import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import pytest

from marketplace import devrun

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def _run(code: str, data_dir: Path) -> str:
    env = {**os.environ, "COACH_DATA_DIR": str(data_dir)}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout.strip()


@pytest.fixture
def data_dir():
    # a unix socket's path has at most 107 bytes: keep the data directory's short
    path = Path(tempfile.mkdtemp(prefix="cc-run-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_the_embedded_services_a_run_started_are_stopped(data_dir):
    tmp_path = data_dir
    # given: a data directory with nothing running, as on a fresh `make run`
    before = _run(
        """
        from marketplace import devrun
        print(devrun.embedded_services_before())
        """,
        tmp_path,
    )
    assert before == "(True, True)"
    # when: the run starts both (as migrate does) and is stopped
    out = _run(
        """
        from marketplace import devrun, embedded
        started = devrun.Started(*devrun.embedded_services_before())
        embedded.postgres_url(); embedded.redis_url()
        print(embedded.postgres_running(), embedded.redis_running())
        print(devrun.embedded_services_before())
        print(devrun.stop_started(started))
        print(embedded.postgres_running(), embedded.redis_running())
        """,
        tmp_path,
    )
    running, second_run, stopped, after = out.splitlines()
    # then: both ran, a second run would not have owned them, and both are stopped
    assert running == "True True"
    assert second_run == "(False, False)"
    assert "the embedded Redis" in stopped and "the embedded PostgreSQL" in stopped
    assert after == "False False"


def test_services_running_before_the_run_are_left_running(data_dir):
    out = _run(
        """
        from marketplace import devrun, embedded
        embedded.redis_url()  # someone else's, started before this run
        started = devrun.Started(*devrun.embedded_services_before())
        print(started.redis, devrun.stop_started(started), embedded.redis_running())
        embedded.stop_redis()
        """,
        data_dir,
    )
    assert out == "False [] True"


def test_stopping_ends_the_whole_process_group():
    # a stand-in for honcho: a shell with two children, in its own process group
    group = subprocess.Popen(
        ["sh", "-c", "sleep 300 & echo $!; sleep 300 & echo $!; wait"],
        start_new_session=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    children = [int(group.stdout.readline()) for _ in range(2)]
    started = devrun.Started(processes=[group])
    assert devrun.stop_started(started) == ["web, worker and beat"]
    assert group.poll() is not None
    # the children are gone too (or dead, waiting to be reaped)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not all(map(_ended, children)):
        time.sleep(0.05)
    assert all(map(_ended, children))


def _ended(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def test_the_sign_ins_are_printed_again_once_the_site_answers(capsys):
    seed_output = "Migrated.\nDemo data ready. Sign in with:\n  client@demo.coach  demo-pass\n"
    lines = devrun.sign_in_lines(seed_output)
    assert lines == ["Demo data ready. Sign in with:", "  client@demo.coach  demo-pass"]

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(503)  # a site that answers, even unhealthy, is up
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Health)
    url = f"http://127.0.0.1:{server.server_port}/healthz"
    stop = threading.Event()
    # nothing answers yet: the banner waits
    server_thread = threading.Thread(target=server.serve_forever, daemon=True)
    announcer = threading.Thread(
        target=devrun.announce_when_up, args=(url, ["Site up", *lines], stop)
    )
    announcer.start()
    time.sleep(0.3)
    assert "client@demo.coach" not in capsys.readouterr().out
    server_thread.start()
    announcer.join(timeout=10)
    server.shutdown()
    printed = capsys.readouterr().out
    assert "Site up" in printed and "client@demo.coach  demo-pass" in printed
