"""What the benchmarks share: uvicorn servers run as in production, and a light HTTP load.

``start_server`` runs ``uvicorn <app> --workers WORKERS`` (the Procfile's server with two
worker processes, one per core of this machine). Its workers share one listening socket, so
a handful of keep-alive connections opened at once can all land in one process and leave
the other core idle (seen: 60% of the samples in one worker, 11% in the other).
``start_balanced`` therefore runs WORKERS single-process servers, and ``closed_loop`` deals
the connections out to them in turn, as a load balancer in front of them would.

``closed_loop`` plays N clients over keep-alive HTTP/1.1 connections from one asyncio loop
with pre-built requests: the load generator shares the machine's two cores with the
servers, so it must cost far less than what it measures (an ``httpx`` client spends more
CPU per request than a bare Django view).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
WORKERS = 2


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(
    app: str, env: dict[str, str], workdir: Path, *, workers: int = WORKERS
) -> tuple[subprocess.Popen, str]:
    """``uvicorn <app> --workers WORKERS`` as a production server would run it."""
    port = free_port()
    log = workdir / f"{app.split(':')[0]}-{port}.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--no-access-log",
            "--lifespan",
            "off",
            "--ws",
            "websockets-sansio",
        ],
        cwd=BASE_DIR,
        env={**env, "PYTHONPATH": os.pathsep.join([str(workdir), str(BASE_DIR)])},
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{app} exited: {log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                time.sleep(1.0)  # let every worker process finish starting
                return process, f"127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{app} did not start")


def start_balanced(
    app: str, env: dict[str, str], workdir: Path
) -> tuple[list[subprocess.Popen], list[str]]:
    """WORKERS one-process servers of ``app``, for ``closed_loop`` to balance over."""
    started = [start_server(app, env, workdir, workers=1) for _ in range(WORKERS)]
    return [process for process, _ in started], [host for _, host in started]


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def http_request(
    method: str, path: str, *, body: bytes = b"", headers: dict[str, str] | None = None
) -> bytes:
    """One HTTP/1.1 request, ready to write on a keep-alive connection to 127.0.0.1."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class Answer:
    status: int
    body: bytes
    ms: float
    # which request it answers: ``per_client[client][number]``
    client: int = -1
    number: int = -1


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
        elif name.strip().lower() == b"transfer-encoding" and b"chunked" in value.lower():
            return status, await _read_chunked(reader)
    return status, (await reader.readexactly(length) if length else b"")


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = b""
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        chunk = await reader.readexactly(size + 2)
        if size == 0:
            return body
        body += chunk[:-2]


async def _connect(
    hosts: list[str], count: int
) -> list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """``count`` keep-alive connections, dealt out to the hosts in turn."""
    connections = []
    for index in range(count):
        address, port = hosts[index % len(hosts)].rsplit(":", 1)
        connections.append(await asyncio.open_connection(address, int(port)))
    return connections


async def _closed_loop(
    hosts: list[str], per_client: list[list[bytes]]
) -> tuple[list[Answer], float]:
    connections = await _connect(hosts, len(per_client))
    answers: list[Answer] = []

    async def client(index: int) -> None:
        reader, writer = connections[index]
        for number, request in enumerate(per_client[index]):
            started = time.perf_counter()
            writer.write(request)
            status, body = await _read_answer(reader)
            answers.append(
                Answer(status, body, (time.perf_counter() - started) * 1000, index, number)
            )

    started = time.perf_counter()
    await asyncio.gather(*(client(index) for index in range(len(per_client))))
    seconds = time.perf_counter() - started
    for _reader, writer in connections:
        writer.close()
    return answers, seconds


def closed_loop(
    hosts: str | list[str], per_client: list[list[bytes]]
) -> tuple[list[Answer], float]:
    """Each client sends its requests one after another (the next when the answer is in),
    all clients at once, client i on ``hosts[i % len(hosts)]``; returns every answer with
    its latency, and the wall time."""
    return asyncio.run(_closed_loop([hosts] if isinstance(hosts, str) else hosts, per_client))


async def _paced(
    hosts: list[str], per_client: list[list[bytes]], rate_per_s: float
) -> tuple[list[Answer], float]:
    clients = len(per_client)
    interval = clients / rate_per_s  # each client's time between two requests
    connections = await _connect(hosts, clients)
    answers: list[Answer] = []
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05

    async def client(index: int) -> None:
        reader, writer = connections[index]
        for number, request in enumerate(per_client[index]):
            due = start + (index / clients + number) * interval
            await asyncio.sleep(max(0.0, due - loop.time()))
            writer.write(request)
            status, body = await _read_answer(reader)
            # from when it was due, not when it could be sent: waiting counts
            answers.append(Answer(status, body, (loop.time() - due) * 1000, index, number))

    began = time.perf_counter()
    await asyncio.gather(*(client(index) for index in range(clients)))
    seconds = time.perf_counter() - began
    for _reader, writer in connections:
        writer.close()
    return answers, seconds


def paced(
    hosts: str | list[str], per_client: list[list[bytes]], rate_per_s: float
) -> tuple[list[Answer], float]:
    """The clients together send ``rate_per_s`` requests a second on a fixed schedule (each
    client every ``len(per_client) / rate_per_s`` seconds, the clients staggered); a request
    whose client is still waiting for its previous answer goes when that answer is in. Each
    latency counts from when the request was due, so time spent queued behind a slow answer
    is measured too."""
    return asyncio.run(_paced([hosts] if isinstance(hosts, str) else hosts, per_client, rate_per_s))
