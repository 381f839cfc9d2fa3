"""``POST /api/bookings/`` without a thread waiting on Stripe.

A hold is a short transaction (the coach's row lock) and then a Checkout Session, which takes
Stripe a few hundred milliseconds. On the WSGI thread pool every hold would keep a thread
(and its database connection) for all of that time, so ``WEB_THREADS`` holds at once would
bound the site whatever the CPU. This ASGI endpoint serves the path in three steps:

1. on a thread of the web process's pool (the same threads and connections as every other
   request), the request goes through Django's WSGI handler as any other: every middleware,
   DRF's authentication, CSRF, throttling and validation, and the view, which holds the slot
   (committed, lock released) and, seeing ``DEFERRED_CHECKOUT``, leaves the Checkout
   Session's request to this endpoint instead of sending it;
2. on the event loop, Stripe is awaited with the ``stripe`` library's async client: no
   thread, no connection and no transaction is held while it answers;
3. on a pool thread again, the session is recorded (or, when Stripe failed, the hold is
   freed and the answer is the same 503 as on the thread path), and the view's answer is
   replaced by the final one: the status and body change, the headers and cookies that
   the middleware set stay.

Any other answer of the view (a validation error, a slot taken, a package session) is
sent as it is. The middleware see the view's own answer, a 201 with an empty body, so the
request log line and the request counters record a hold whose Stripe call then fails as
201 (the 503 is logged by this endpoint).
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

from a2wsgi.wsgi import build_environ
from rest_framework.renderers import JSONRenderer

from bookings.api import DEFERRED_CHECKOUT, DeferredCheckout
from bookings.services import checkout
from marketplace.api import exception_handler
from marketplace.errors import DomainError
from payments.services import charges

logger = logging.getLogger("bookings.asgi")

T = TypeVar("T")
# An answer: status, headers, body.
Answer = tuple[int, list[tuple[bytes, bytes]], bytes]

PATH = "/api/bookings/"


def is_hold(scope: dict[str, Any]) -> bool:
    return scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == PATH


class HoldEndpoint:
    """The ASGI application for ``POST /api/bookings/``: ``wsgi_app`` (Django's WSGI handler)
    runs on ``executor``'s threads, Stripe is awaited on the event loop."""

    def __init__(self, wsgi_app: Callable[..., Any], executor: Executor) -> None:
        self.wsgi_app = wsgi_app
        self.executor = executor

    async def _on_thread(self, function: Callable[..., T], *args: Any) -> T:
        # No copy of the loop's context: a pool thread keeps its own database connection,
        # as under the WSGI pool.
        return await asyncio.get_running_loop().run_in_executor(self.executor, function, *args)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        environ: dict[str, Any] = dict(build_environ(scope, io.BytesIO(bytes(body))))  # type: ignore[arg-type]
        deferred: list[DeferredCheckout] = []
        environ[DEFERRED_CHECKOUT] = deferred
        answer, response = await self._on_thread(self._view, environ)
        if deferred:
            (hold,) = deferred
            try:
                made = await charges.checkout_session_create_async(hold.pending.request)
                outcome: tuple[Any, Any] | BaseException = made
            except DomainError as error:
                outcome = error
            answer = await self._on_thread(self._finish, answer, response, hold, outcome)
        status, headers, content = answer
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    def _view(self, environ: dict[str, Any]) -> tuple[Answer, Any]:
        """Step 1: the whole request through Django, on a pool thread."""
        started: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
            started["status"], started["headers"] = status, headers

        response = self.wsgi_app(environ, start_response)
        try:
            content = b"".join(response)
        finally:
            if not environ[DEFERRED_CHECKOUT] and hasattr(response, "close"):
                response.close()  # request_finished; a deferred one closes in step 3
        status = int(started["status"].split(" ", 1)[0])
        headers = [(k.lower().encode("latin1"), v.encode("latin1")) for k, v in started["headers"]]
        return (status, headers, content), response

    def _finish(
        self,
        answer: Answer,
        response: Any,
        hold: DeferredCheckout,
        outcome: tuple[Any, Any] | BaseException,
    ) -> Answer:
        """Step 3: record the session (or free the hold) and make the final answer."""
        try:
            return self._final(answer[1], hold, outcome)
        finally:
            response.close()  # request_finished, on this thread

    def _final(
        self,
        headers: list[tuple[bytes, bytes]],
        hold: DeferredCheckout,
        outcome: tuple[Any, Any] | BaseException,
    ) -> Answer:
        pending = hold.pending
        try:
            if isinstance(outcome, BaseException):
                checkout.booking_checkout_failed(pending)
                raise outcome
            session, answered_at = outcome
            payment = checkout.booking_checkout_record(pending, session, answered_at)
            data, status = hold.finish(pending.booking, payment), 201
        except DomainError as error:
            logger.warning("hold %s: %s", pending.booking.pk, error)
            failed = exception_handler(error, {})
            assert failed is not None
            data, status = failed.data, failed.status_code
        content = JSONRenderer().render(data)
        kept = [(name, value) for name, value in headers if name != b"content-length"]
        return status, [*kept, (b"content-length", str(len(content)).encode())], content
