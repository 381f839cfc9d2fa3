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

import json
from collections.abc import Mapping
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
        from payments.sandbox.api import handle

        if settings.STRIPE_REQUEST_CHECK_FILE:
            _record_problems(method, url, post_data)
            _record_open_transactions(method, url)
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
