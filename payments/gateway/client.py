"""The ``stripe`` client: Stripe itself with ``STRIPE_SECRET_KEY``; without it the local
Stripe (``payments/sandbox/``), over HTTP at ``STRIPE_API_BASE`` when the product runs and
in-process (no sockets) with ``STRIPE_SANDBOX_IN_PROCESS``."""

from __future__ import annotations

import asyncio
import weakref
from functools import cache

import stripe
from django.conf import settings

from marketplace.checks import stripe_key_livemode


def api_key() -> str:
    """The key the product calls Stripe with: ``STRIPE_SECRET_KEY`` (a secret ``sk_`` or a
    restricted ``rk_`` key), or the local Stripe's."""
    return (
        settings.STRIPE_SECRET_KEY
        if not settings.STRIPE_SANDBOX
        else (settings.STRIPE_SANDBOX_SECRET_KEY)
    )


def key_livemode() -> bool:
    """Whether our key is a live-mode key (``sk_live_``/``rk_live_``); test keys are not."""
    return bool(stripe_key_livemode(api_key()))


@cache
def stripe_client() -> stripe.StripeClient:
    if not settings.STRIPE_SANDBOX:
        return stripe.StripeClient(
            api_key=api_key(),
            stripe_version=settings.STRIPE_API_VERSION,
            max_network_retries=2,
        )
    http_client: stripe.HTTPClient | None = None
    if settings.STRIPE_SANDBOX_IN_PROCESS:
        from payments.sandbox.client import InProcessHTTPClient

        http_client = InProcessHTTPClient()
    base = settings.STRIPE_API_BASE
    return stripe.StripeClient(
        api_key=api_key(),
        stripe_version=settings.STRIPE_API_VERSION,
        base_addresses={"api": base, "connect": base, "files": base},
        http_client=http_client,
        max_network_retries=2,
    )


_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, stripe.StripeClient] = (
    weakref.WeakKeyDictionary()
)


def stripe_client_async() -> stripe.StripeClient:
    """The client for the ``*_async`` methods, one per event loop (its httpx connections
    belong to the loop): the same key, version and addresses as ``stripe_client``, over
    ``stripe.AIOHTTPClient`` (aiohttp's C parser and keep-alive pool cost a fraction of
    httpx's CPU a request: docs/architecture.md, "Waiting on Stripe"), or the local Stripe's
    in-process client (whose ``request_async`` runs the request on a thread)."""
    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is not None:
        return client
    http_client: stripe.HTTPClient
    if settings.STRIPE_SANDBOX and settings.STRIPE_SANDBOX_IN_PROCESS:
        from payments.sandbox.client import InProcessHTTPClient

        http_client = InProcessHTTPClient()
    else:
        http_client = stripe.AIOHTTPClient()
    options: dict = {}
    if settings.STRIPE_SANDBOX:
        base = settings.STRIPE_API_BASE
        options["base_addresses"] = {"api": base, "connect": base, "files": base}
    client = stripe.StripeClient(
        api_key=api_key(),
        stripe_version=settings.STRIPE_API_VERSION,
        http_client=http_client,
        max_network_retries=2,
        **options,
    )
    _async_clients[loop] = client
    return client
