"""``make run``: set up, start every process of the ``Procfile``, and stop what it started.

Run as ``python -m marketplace.devrun``. It notes whether the embedded PostgreSQL and Redis
were already running (another ``make run``, a test run), migrates and seeds the demo data
(which starts them when nothing is configured), starts honcho in its own process group,
prints the demo sign-ins again once the site answers (they would have scrolled away under
the processes' logs), and on Ctrl-C (or SIGTERM) stops honcho's processes and then the
embedded services this run started. Services that were running before are left running.

Only this module and ``marketplace.embedded`` are imported before the subprocesses: loading
Django's settings would start the embedded services before they were looked at.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from marketplace import embedded

BASE_DIR = Path(__file__).resolve().parent.parent
# How long the site has to answer before the sign-ins are printed anyway, and how long the
# processes have to stop after Ctrl-C before they are killed.
ANSWER_TIMEOUT = 120.0
STOP_TIMEOUT = 20.0


@dataclass
class Started:
    """What this run started and must stop."""

    postgres: bool = False
    redis: bool = False
    processes: list[subprocess.Popen] = field(default_factory=list)


def embedded_services_before() -> tuple[bool, bool]:
    """Which embedded services this run will start: the ones configured as embedded (no
    ``DATABASE_URL`` / ``REDIS_URL``) that are not running yet."""
    postgres = not os.environ.get("DATABASE_URL") and not embedded.postgres_running()
    redis = not os.environ.get("REDIS_URL") and not embedded.redis_running()
    return postgres, redis


def sign_in_lines(seed_output: str) -> list[str]:
    """The demo sign-ins ``seed_demo`` printed: from "Demo data ready" to the end."""
    lines = seed_output.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("Demo data ready"):
            return lines[index:]
    return []


def wait_until_answering(url: str, *, timeout: float, stop: threading.Event) -> bool:
    """Poll ``url`` until any HTTP answer (an error status counts: the server is up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stop.is_set():
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own http URL
                return True
        except urllib.error.HTTPError:
            return True
        except (urllib.error.URLError, OSError):
            stop.wait(0.5)
    return False


def announce_when_up(url: str, banner: Sequence[str], stop: threading.Event) -> None:
    if wait_until_answering(url, timeout=ANSWER_TIMEOUT, stop=stop):
        print("\n".join(["", "=" * 72, *banner, "=" * 72, ""]), flush=True)


def stop_processes(processes: Sequence[subprocess.Popen], *, timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM each process group, then SIGKILL what is still there after ``timeout``."""
    for process in processes:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def stop_started(started: Started) -> list[str]:
    """Stop this run's processes, then the embedded services it started; what was stopped."""
    stopped = []
    stop_processes(started.processes)
    if started.processes:
        stopped.append("web, worker and beat")
    if started.redis and embedded.stop_redis():
        stopped.append("the embedded Redis")
    if started.postgres and embedded.stop_postgres():
        stopped.append("the embedded PostgreSQL")
    return stopped


def _manage(*args: str, capture: bool = False) -> str:
    result = subprocess.run(  # noqa: S603 - our own manage.py, fixed arguments
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        check=True,
        text=True,
        stdout=subprocess.PIPE if capture else None,
    )
    if capture:
        print(result.stdout, end="", flush=True)
    return result.stdout or ""


def main(argv: Sequence[str] | None = None) -> int:
    site_url = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
    started = Started(*embedded_services_before())
    interrupted = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        interrupted.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        _manage("migrate", "--no-input")
        _manage("stripe_sandbox_setup")
        seed_output = _manage("seed_demo", capture=True)
        _manage("collectstatic", "--no-input", "--verbosity", "0")
        print(f"Coach Connect on {site_url}/  (dev inbox: /dev/mail/, admin: /admin/)", flush=True)
        honcho = subprocess.Popen(  # noqa: S603 - honcho from this virtualenv, our Procfile
            [str(Path(sys.executable).parent / "honcho"), "start", "-f", "Procfile"],
            cwd=BASE_DIR,
            start_new_session=True,  # Ctrl-C reaches this process; it stops the group
        )
        started.processes.append(honcho)
        banner = [f"Coach Connect answers on {site_url}/", *sign_in_lines(seed_output)]
        threading.Thread(
            target=announce_when_up,
            args=(f"{site_url}/healthz", banner, interrupted),
            daemon=True,
        ).start()
        return honcho.wait()
    except KeyboardInterrupt:
        return 0
    except subprocess.CalledProcessError as error:
        return error.returncode or 1
    finally:
        interrupted.set()
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the stop
        stopped = stop_started(started)
        if stopped:
            print(f"Stopped {', '.join(stopped)}.", flush=True)


if __name__ == "__main__":
    sys.exit(main())
