"""The local Stripe as a server of its own, as Stripe is to production (the benchmarks run it
so): ``uvicorn payments.sandbox.asgi:application`` serves ``/_stripe/`` on a pool of
``STRIPE_SANDBOX_THREADS`` threads (default 8) and nothing else.

Stripe's simulated network latency (``STRIPE_SANDBOX_LATENCY_P50_MS``/``_P95_MS``, the
developer page) is not slept on the request's thread here: the request's work is done on a
pool thread and its answer is held back on the event loop for the drawn delay, so any
number of answers can be waiting at once, as on Stripe's side of a network, and the pool
only bounds the work itself.
"""

from __future__ import annotations

import asyncio
import contextvars
import io
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from a2wsgi.wsgi import build_environ
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings.production")
django_wsgi_app = get_wsgi_application()

from payments.sandbox.api import DEFERRED_LATENCY  # noqa: E402

Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


def _answer(wsgi_app: Any, environ: dict[str, Any]) -> Answer:
    """The whole WSGI request, and the reading of its answer, on one pool thread."""
    started: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
        started["status"], started["headers"] = status, headers

    response = wsgi_app(environ, start_response)
    try:
        content = b"".join(response)
    finally:
        if hasattr(response, "close"):
            response.close()  # request_finished, on this thread
    status = int(started["status"].split(" ", 1)[0])
    headers = [(k.lower().encode("latin1"), v.encode("latin1")) for k, v in started["headers"]]
    return status, headers, content


def local_stripe_application(wsgi_app: Any, threads: int) -> Any:
    # One hop to a pool thread per request (the body read first, the answer sent after), as
    # ``bookings.asgi`` serves a hold: a2wsgi's bridge crosses between the loop and the
    # thread for every message, which cost about a quarter of this server's CPU a request.
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="local-stripe")

    async def serve(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/_stripe/"):
            if scope["type"] == "http":
                await send({"type": "http.response.start", "status": 404, "headers": []})
                await send({"type": "http.response.body", "body": b""})
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        environ: dict[str, Any] = dict(build_environ(scope, io.BytesIO(bytes(body))))  # type: ignore[arg-type]
        waits: list[float] = []
        token = DEFERRED_LATENCY.set(waits)
        try:
            context = contextvars.copy_context()  # the thread sees ``waits``
        finally:
            DEFERRED_LATENCY.reset(token)
        status, headers, content = await asyncio.get_running_loop().run_in_executor(
            pool, context.run, _answer, wsgi_app, environ
        )
        if waits:
            await asyncio.sleep(sum(waits))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    return serve


application = local_stripe_application(
    django_wsgi_app, int(os.environ.get("STRIPE_SANDBOX_THREADS", "8"))
)
