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
import os
from typing import Any

from a2wsgi import WSGIMiddleware
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings.production")
django_wsgi_app = get_wsgi_application()

from payments.sandbox.api import DEFERRED_LATENCY  # noqa: E402


def local_stripe_application(wsgi_app: Any, threads: int) -> Any:
    pool = WSGIMiddleware(wsgi_app, workers=threads)

    async def serve(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/_stripe/"):
            if scope["type"] == "http":
                await send({"type": "http.response.start", "status": 404, "headers": []})
                await send({"type": "http.response.body", "body": b""})
            return
        waits: list[float] = []
        held: list[dict] = []

        async def hold_back(message: Any) -> None:
            held.append(message)

        token = DEFERRED_LATENCY.set(waits)  # a2wsgi copies this context into the thread
        try:
            await pool(scope, receive, hold_back)
        finally:
            DEFERRED_LATENCY.reset(token)
        if waits:
            await asyncio.sleep(sum(waits))
        for message in held:
            await send(message)

    return serve


application = local_stripe_application(
    django_wsgi_app, int(os.environ.get("STRIPE_SANDBOX_THREADS", "8"))
)
