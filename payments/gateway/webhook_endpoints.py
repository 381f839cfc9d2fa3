"""Webhook endpoints at Stripe (``/v1/webhook_endpoints``): list, create, update."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from payments.gateway.client import stripe_client
from payments.gateway.errors import call
from payments.gateway.fields import field_value, plain_dict


@dataclass(frozen=True)
class WebhookEndpointSummary:
    id: str
    url: str
    enabled_events: list[str]
    status: str
    livemode: bool
    metadata: dict[str, str] = field(default_factory=dict)
    # Stripe shows an endpoint's signing secret only in the answer that created it.
    secret: str = ""


def _summary(endpoint: Any) -> WebhookEndpointSummary:
    return WebhookEndpointSummary(
        id=endpoint["id"],
        url=field_value(endpoint, "url", ""),
        enabled_events=list(field_value(endpoint, "enabled_events", [])),
        status=field_value(endpoint, "status", ""),
        livemode=bool(field_value(endpoint, "livemode", False)),
        metadata={str(k): str(v) for k, v in plain_dict(field_value(endpoint, "metadata")).items()},
        secret=field_value(endpoint, "secret", ""),
    )


def webhook_endpoints_list() -> list[WebhookEndpointSummary]:
    page = call(stripe_client().v1.webhook_endpoints.list, params={"limit": 100})
    return [_summary(endpoint) for endpoint in call(page.auto_paging_iter)]


def webhook_endpoint_create(
    *, url: str, enabled_events: list[str], connect: bool, description: str, name: str
) -> WebhookEndpointSummary:
    """Create an endpoint rendering events in our pinned API version; ``connect`` makes it
    receive the events of connected accounts (it cannot be changed later)."""
    created = call(
        stripe_client().v1.webhook_endpoints.create,
        params={
            "url": url,
            "enabled_events": enabled_events,
            "connect": connect,
            "api_version": settings.STRIPE_API_VERSION,
            "description": description,
            "metadata": {"coach_connect_endpoint": name},
        },
    )
    return _summary(created)


def webhook_endpoint_update(
    endpoint_id: str, *, url: str, enabled_events: list[str], description: str, name: str
) -> WebhookEndpointSummary:
    updated = call(
        stripe_client().v1.webhook_endpoints.update,
        endpoint_id,
        params={
            "url": url,
            "enabled_events": enabled_events,
            "disabled": False,
            "description": description,
            "metadata": {"coach_connect_endpoint": name},
        },
    )
    return _summary(updated)
