"""An HTTP client for the ``stripe`` library that calls the local Stripe in-process.

``payments.gateway`` gives it to ``stripe.StripeClient`` when
``settings.STRIPE_SANDBOX_IN_PROCESS`` (tests, and workers started by tests): every request
goes to ``payments.sandbox.api.handle`` — the same function the HTTP view at ``/_stripe/``
calls — in this process, on this database connection, with no sockets.

With ``STRIPE_REQUEST_CHECK_FILE`` set (the test suite), each request is first checked
against the parameters the ``stripe`` package declares for it
(``payments.sandbox.request_check``) and for a database transaction the product holds open
across it (``payments.sandbox.transaction_check``); what is found is appended to that file.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Mapping
from typing import Any
from urllib.parse import urlsplit

import stripe
from django.conf import settings

from payments.sandbox import chaos


class InProcessHTTPClient(stripe.HTTPClient):
    name = "local-stripe-in-process"

    def __init__(self) -> None:
        super().__init__()

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[str, int, Mapping[str, str]]:
        if settings.STRIPE_REQUEST_CHECK_FILE:
            _record_problems(method, url, post_data)
            _record_open_transactions(method, url)
        return self._answer(method, url, headers, post_data)

    def _answer(
        self, method: str, url: str, headers: Mapping[str, str] | None, post_data: Any
    ) -> tuple[str, int, Mapping[str, str]]:
        from payments.sandbox.api import handle

        parts = urlsplit(url)
        path = parts.path
        # The base address ends in /_stripe (or anything); the API path starts at /v1/.
        index = path.find("/v1/")
        path = path[index:] if index >= 0 else path
        response = handle(method, path, parts.query, post_data or b"", dict(headers or {}))
        if response.lost:
            # What the library's own HTTP client raises when the network drops: retryable.
            reason = (
                "ReadTimeout: Read timed out."
                if response.lost == chaos.LOST_TIMEOUT
                else ("ConnectionError: Connection aborted, remote end closed the connection")
            )
            raise stripe.APIConnectionError(
                "Unexpected error communicating with Stripe.  If this problem persists, let us "
                f"know at support@stripe.com.\n\n(Network error: {reason})",
                should_retry=True,
            )
        lowered = {key.lower(): value for key, value in response.headers.items()}
        return response.content(), response.status, lowered

    def request_stream(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[Any, int, Mapping[str, str]]:
        import io

        content, status, headers_out = self.request(method, url, headers, post_data)
        return io.BytesIO(content.encode()), status, headers_out

    def _sleep_time_seconds(self, num_retries: int, response: Any = None) -> float:
        # Retries (409 idempotency_key_in_use) wait briefly: the other request is in-process.
        # A lost answer (no response) is retried at once: there is no network to wait for.
        if response is None:
            return 0.0
        return min(0.2 * num_retries, 1.0)

    def close(self) -> None:
        return None

    # The async interface (``StripeClient``'s ``*_async`` methods): the same checks, made in
    # the awaiting code's thread (the one whose transactions count), then the local Stripe
    # on a thread of its own, as over the network the caller's thread waits for nothing.

    async def request_async(
        self, method: str, url: str, headers: Mapping[str, str] | None, post_data: Any = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        if settings.STRIPE_REQUEST_CHECK_FILE:
            _record_problems(method, url, post_data)
            _record_open_transactions(method, url)
        content, status, headers_out = await asyncio.to_thread(
            _answer_on_a_thread, self, method, url, headers, post_data
        )
        return content.encode(), status, headers_out

    async def request_stream_async(
        self, method: str, url: str, headers: Mapping[str, str] | None, post_data: Any = None
    ) -> tuple[AsyncIterable[bytes], int, Mapping[str, str]]:
        content, status, headers_out = await self.request_async(method, url, headers, post_data)

        async def chunks() -> AsyncIterator[bytes]:
            yield content

        return chunks(), status, headers_out

    def sleep_async(self, secs: float) -> Awaitable[None]:
        return asyncio.sleep(self._sleep_time_seconds(1) if secs else 0)

    async def close_async(self) -> None:
        return None


def _answer_on_a_thread(
    client: InProcessHTTPClient,
    method: str,
    url: str,
    headers: Mapping[str, str] | None,
    post_data: Any,
) -> tuple[str, int, Mapping[str, str]]:
    from django.db import connections

    from payments.sandbox.transaction_check import local_stripe_transactions

    try:
        # Checked already, in the caller's thread: this thread is the local Stripe's.
        with local_stripe_transactions():
            return client._answer(method, url, headers, post_data)
    finally:
        connections.close_all()  # a worker thread's connection is not kept


def _record_problems(method: str, url: str, post_data: Any) -> None:
    from payments.sandbox.request_check import check_request

    problems = check_request(method, url, post_data)
    if problems:
        with open(settings.STRIPE_REQUEST_CHECK_FILE, "a", encoding="utf-8") as log:
            log.write(json.dumps(problems) + "\n")


def _record_open_transactions(method: str, url: str) -> None:
    from payments.sandbox.transaction_check import open_transactions, problem

    aliases = open_transactions()
    if aliases:
        with open(settings.STRIPE_REQUEST_CHECK_FILE, "a", encoding="utf-8") as log:
            log.write(json.dumps({"open_transaction": problem(method, url, aliases)}) + "\n")
