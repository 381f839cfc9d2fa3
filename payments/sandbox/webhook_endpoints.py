"""Webhook endpoints (``/v1/webhook_endpoints``): create, retrieve, update, list, delete.

As on Stripe: the signing secret is in the answer to the create call only; ``connect=true``
(create only) makes an endpoint receive the events of connected accounts; ``enabled_events``
takes the event types Stripe knows (the ``stripe`` package's declaration) or ``*``; an
endpoint made with a live key is a live endpoint. ``api_version`` is the version its events
are rendered in (the local Stripe renders in the pinned version whatever it is asked).
"""

from __future__ import annotations

import secrets
import typing
from typing import Any
from urllib.parse import urlsplit

from stripe.params import WebhookEndpointCreateParams

from payments.sandbox import errors, store
from payments.sandbox.events import ENDPOINTS_CACHE
from payments.sandbox.models import WebhookEndpoint

# The event types Stripe accepts in ``enabled_events`` (``*`` included), as the stripe
# package declares them for this API version.
EVENT_TYPES: tuple[str, ...] = typing.get_args(
    typing.get_args(WebhookEndpointCreateParams.__annotations__["enabled_events"])[0]
)
MAX_ENDPOINTS = 16  # Stripe's limit per account and mode


def endpoint_shape(endpoint: WebhookEndpoint, *, with_secret: bool = False) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "id": endpoint.stripe_id,
        "object": "webhook_endpoint",
        "api_version": endpoint.api_version or None,
        "application": None,
        "created": endpoint.created,
        "description": endpoint.description or None,
        "enabled_events": list(endpoint.enabled_events),
        "livemode": endpoint.livemode,
        "metadata": dict(endpoint.metadata),
        "status": endpoint.status,
        "url": endpoint.url,
    }
    if with_secret:
        shape["secret"] = endpoint.secret
    return shape


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise errors.invalid("url", f"Invalid URL: {url}", "url_invalid")
    return url


def _check_events(events: list[str]) -> list[str]:
    if not events:
        raise errors.invalid(
            "enabled_events", "You must specify at least one event type.", "parameter_missing"
        )
    for index, name in enumerate(events):
        if name not in EVENT_TYPES:
            raise errors.invalid(
                f"enabled_events[{index}]",
                f"Invalid enabled_events[{index}]: must be one of {', '.join(EVENT_TYPES)}",
                "parameter_invalid_string",
            )
    return list(dict.fromkeys(events))


def endpoint_create(
    *,
    url: str,
    enabled_events: list[str],
    connect: bool,
    livemode: bool,
    api_version: str,
    description: str = "",
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    if WebhookEndpoint.objects.filter(livemode=livemode).count() >= MAX_ENDPOINTS:
        raise errors.StripeError(
            f"You have reached the maximum of {MAX_ENDPOINTS} test webhook endpoints."
            if not livemode
            else f"You have reached the maximum of {MAX_ENDPOINTS} webhook endpoints."
        )
    endpoint = WebhookEndpoint.objects.create(
        stripe_id=store.new_id("we_"),
        url=_check_url(url),
        secret="whsec_" + secrets.token_hex(16),
        connect=connect,
        enabled_events=_check_events(enabled_events),
        created=store.now(),
        livemode=livemode,
        api_version=api_version,
        description=description,
        metadata=dict(metadata or {}),
    )
    store.request_forget(ENDPOINTS_CACHE)
    return endpoint_shape(endpoint, with_secret=True)


def _get(endpoint_id: str, *, lock: bool = False) -> WebhookEndpoint:
    query = WebhookEndpoint.objects.filter(stripe_id=endpoint_id)
    endpoint = (query.select_for_update() if lock else query).first()
    if endpoint is None:
        raise errors.no_such("webhook endpoint", endpoint_id)
    return endpoint


def endpoint_retrieve(endpoint_id: str) -> dict[str, Any]:
    return endpoint_shape(_get(endpoint_id))


def endpoint_update(endpoint_id: str, params: dict[str, Any]) -> dict[str, Any]:
    endpoint = _get(endpoint_id, lock=True)
    if "url" in params:
        endpoint.url = _check_url(params["url"])
    if "enabled_events" in params:
        endpoint.enabled_events = _check_events(params["enabled_events"])
    if "disabled" in params:
        endpoint.status = "disabled" if params["disabled"] else "enabled"
    if "description" in params:
        endpoint.description = params["description"]
    if "metadata" in params:
        metadata = {**endpoint.metadata, **params["metadata"]}
        endpoint.metadata = {key: value for key, value in metadata.items() if value != ""}
    endpoint.save()
    store.request_forget(ENDPOINTS_CACHE)
    return endpoint_shape(endpoint)


def endpoint_delete(endpoint_id: str) -> dict[str, Any]:
    endpoint = _get(endpoint_id, lock=True)
    endpoint.delete()
    store.request_forget(ENDPOINTS_CACHE)
    return {"id": endpoint_id, "object": "webhook_endpoint", "deleted": True}


def endpoints_list(*, limit: int, starting_after: str = "") -> dict[str, Any]:
    if not 1 <= limit <= 100:
        raise errors.invalid(
            "limit",
            "Invalid limit: must be an integer between 1 and 100",
            "parameter_invalid_integer",
        )
    query = WebhookEndpoint.objects.order_by("-created", "-id")
    if starting_after:
        cursor = _get(starting_after)
        query = query.filter(id__lt=cursor.id)
    rows = list(query[: limit + 1])
    return {
        "object": "list",
        "data": [endpoint_shape(endpoint) for endpoint in rows[:limit]],
        "has_more": len(rows) > limit,
        "url": "/v1/webhook_endpoints",
    }
