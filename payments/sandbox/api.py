"""The local Stripe's API: one ``handle`` function that both the HTTP view and the in-process
HTTP client call, so tests exercise exactly what the running product talks to.

``handle`` authenticates the secret key, decodes the form body, finds the route, validates
the parameters against the route's spec (``parameter_unknown``/``parameter_missing``),
applies ``Stripe-Account`` and ``Idempotency-Key`` and answers Stripe-shaped JSON.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import logging
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

import payments.sandbox.routes  # noqa: F401 - importing the endpoints registers them
from payments.sandbox import chaos, errors, events, store
from payments.sandbox.expansion import expand, without_includable
from payments.sandbox.models import IdempotencyKey
from payments.sandbox.params import decode_form, validate
from payments.sandbox.routing import ROUTES, Context, Route

logger = logging.getLogger("payments.sandbox.api")

IDEMPOTENCY_KEY_LIFETIME = timedelta(hours=24)


@dataclass
class Response:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    # Set when the answer is lost on its way back (``chaos.answer_lost``): the work is done,
    # the caller sees a connection error or a timeout.
    lost: str | None = None

    def content(self) -> str:
        return json.dumps(self.body, indent=2)


# Set by the local Stripe's own server (``payments.sandbox.asgi``): the simulated latency is
# appended here instead of slept on the request's thread.
DEFERRED_LATENCY: contextvars.ContextVar[list[float] | None] = contextvars.ContextVar(
    "local_stripe_deferred_latency", default=None
)


def handle(
    method: str, path: str, query: str, body: bytes | str, headers: Mapping[str, str]
) -> Response:
    """Answer one Stripe API request. ``path`` starts at ``/v1/``."""
    method = method.upper()
    lower = {key.lower(): value for key, value in headers.items()}
    request_id = store.new_id("req_", 14)
    base_headers = {
        "Request-Id": request_id,
        "Stripe-Version": lower.get("stripe-version", settings.STRIPE_API_VERSION),
        "Content-Type": "application/json",
    }
    with store.request_scope():
        try:
            response = _handle(method, path, query, body, lower, request_id)
        except errors.StripeError as error:
            response = Response(error.status, error.body(), dict(error.headers))
        response.lost = chaos.answer_lost()
        # Stripe's network latency, when simulated: the answer arrives later, the work is done
        # (and its transactions committed) already.
        p50_ms, p95_ms = chaos.latency_ms()
    if p50_ms:
        delay = chaos.latency_seconds(p50_ms, p95_ms)
        waits = DEFERRED_LATENCY.get()
        if waits is None:
            time.sleep(delay)
        else:
            waits.append(delay)  # the server waits it out on its event loop (sandbox/asgi.py)
    response.headers = {**base_headers, **response.headers}
    logger.debug("%s %s -> %s%s", method, path, response.status, " (lost)" if response.lost else "")
    return response


def _handle(
    method: str, path: str, query: str, body: bytes | str, headers: dict[str, str], request_id: str
) -> Response:
    authorization = headers.get("authorization", "")
    if authorization.removeprefix("Bearer ") not in accepted_keys():
        raise errors.StripeError(
            "Invalid API Key provided: the local Stripe accepts only "
            "settings.STRIPE_SANDBOX_SECRET_KEY and its restricted (rk_) twin.",
            status=401,
        )
    if isinstance(body, bytes):
        try:
            body = body.decode()
        except UnicodeDecodeError:
            raise errors.StripeError("Invalid request: the body is not UTF-8.") from None
    pairs = parse_qsl(query, keep_blank_values=True)
    if method == "POST":
        content_type = headers.get("content-type", "application/x-www-form-urlencoded")
        if body and not content_type.startswith("application/x-www-form-urlencoded"):
            raise errors.StripeError(
                "Invalid request: the Stripe API takes application/x-www-form-urlencoded bodies."
            )
        pairs += parse_qsl(body, keep_blank_values=True)
    raw_params = decode_form(pairs)
    match: tuple[Route, dict[str, str]] | None = None
    for candidate in ROUTES:
        found = candidate.pattern.match(path)
        if found and candidate.method == method:
            match = (candidate, found.groupdict())
            break
    if match is None:
        raise errors.StripeError(
            f"Unrecognized request URL ({method}: {path}). The local Stripe does not simulate "
            "this endpoint; see docs/stripe-sandbox.md.",
            status=404,
        )
    chosen, path_ids = match
    params = validate(raw_params, chosen.spec)
    ctx = Context(
        account=headers.get("stripe-account", ""),
        idempotency_key=headers.get("idempotency-key") if method == "POST" else None,
        request_id=request_id,
        expand=params.pop("expand", []),
    )
    if ctx.account:
        _check_connected_account(ctx.account)
        if not chosen.connect_allowed:
            raise errors.StripeError(
                "This request cannot be made on behalf of a connected account "
                "(remove the Stripe-Account header).",
                status=400,
            )
    if ctx.idempotency_key is None:
        return _run(chosen, ctx, params, path_ids)
    return _idempotent(chosen, ctx, params, path_ids, path)


def accepted_keys() -> set[str]:
    """The local Stripe's secret key and the restricted key (``rk_``) of the same mode, which
    may do everything the secret key may."""
    secret = settings.STRIPE_SANDBOX_SECRET_KEY
    return {secret, "rk_" + secret.removeprefix("sk_")}


def _check_connected_account(account_id: str) -> None:
    row = store.find(account_id)
    if (
        row is None
        or row.object_type != "account"
        or row.internal.get("deleted")
        or row.internal.get("deauthorized")
    ):
        raise errors.StripeError(
            f"The provided key '{settings.STRIPE_SANDBOX_SECRET_KEY[:8]}***' does not have access "
            f"to account '{account_id}' (or that account does not exist). Application access may "
            "have been revoked.",
            status=403,
            code="account_invalid",
        )


def _run(chosen: Route, ctx: Context, params: dict[str, Any], path_ids: dict[str, str]) -> Response:
    token = events.current_request.set(ctx.request)
    # A write is all or nothing; a read needs no transaction of its own (each statement sees
    # committed data, as it would inside one).
    writes = transaction.atomic() if chosen.method != "GET" else contextlib.nullcontext()
    committed: errors.CommittedError | None = None
    try:
        with writes:
            try:
                result = chosen.handler(ctx, params, **path_ids)
            except errors.CommittedError as error:
                # what the request did stays (a failed charge is recorded), its error is answered
                committed = error
            else:
                result = expand(result, ctx.expand, account=ctx.account)
                result = without_includable(result, ctx.expand)
    except errors.StripeError as error:
        return Response(error.status, error.body(), dict(error.headers))
    finally:
        events.current_request.reset(token)
    if committed is not None:
        return Response(committed.status, committed.body(), dict(committed.headers))
    return Response(200, result)


# The other expired keys are deleted at most once a minute per process, not on every request.
_KEY_SWEEP_SECONDS = 60.0
_key_sweep_at = 0.0


def _sweep_expired_keys(cutoff: datetime) -> None:
    global _key_sweep_at
    if time.monotonic() - _key_sweep_at < _KEY_SWEEP_SECONDS:
        return
    _key_sweep_at = time.monotonic()
    IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()


def _idempotent(
    chosen: Route, ctx: Context, params: dict[str, Any], path_ids: dict[str, str], path: str
) -> Response:
    """Stripe's idempotency: a repeat with the same key and parameters replays the first
    response; other parameters or another endpoint are an ``idempotency_error``; a request
    made while another with the same key is still running gets 409 ``idempotency_key_in_use``.
    """
    key = ctx.idempotency_key or ""
    digest = hashlib.sha256(
        json.dumps({"params": params, "expand": ctx.expand}, sort_keys=True).encode()
    ).hexdigest()
    with transaction.atomic():
        # One transaction-scoped advisory lock per (account, key): held while the first
        # request runs, released when it commits, so the key row is visible to the next one.
        lock_id = zlib.crc32(f"{ctx.account}\x00{key}".encode()) - 2**31
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [7_357_357, lock_id])
            (acquired,) = cursor.fetchone()
        if not acquired:
            raise errors.StripeError(
                "There is currently another in-progress request using this Stripe API key and "
                "idempotency key. Please try again later.",
                status=409,
                code="idempotency_key_in_use",
                headers={"Stripe-Should-Retry": "true"},
            )
        # Kept 24 hours of sandbox time (``advance_clock`` ages them too).
        offset = timedelta(seconds=store.clock_offset())
        cutoff = timezone.now() + offset - IDEMPOTENCY_KEY_LIFETIME
        previous = IdempotencyKey.objects.filter(account=ctx.account, key=key).first()
        if previous is not None and previous.created_at < cutoff:
            previous.delete()
            previous = None
        _sweep_expired_keys(cutoff)
        if previous is not None:
            if previous.path != path or previous.method != chosen.method:
                raise errors.StripeError(
                    "Keys for idempotent requests can only be used for the same endpoint they "
                    f"were first used for ('{previous.method} {previous.path}' vs "
                    f"'{chosen.method} {path}'). Try using a key other than '{key}' if you meant "
                    "to execute a different request.",
                    type="idempotency_error",
                )
            if previous.params_digest != digest:
                raise errors.StripeError(
                    "Keys for idempotent requests can only be used with the same parameters they "
                    f"were first used with. Try using a key other than '{key}' if you meant to "
                    "execute a different request.",
                    type="idempotency_error",
                )
            return Response(
                previous.status_code,
                previous.response_body,
                {"Idempotent-Replayed": "true"},
            )
        response = _run(chosen, ctx, params, path_ids)
        if response.status < 500:
            IdempotencyKey.objects.create(
                account=ctx.account,
                key=key,
                method=chosen.method,
                path=path,
                params_digest=digest,
                status_code=response.status,
                response_body=response.body,
            )
        response.headers["Idempotency-Key"] = key
        return response
