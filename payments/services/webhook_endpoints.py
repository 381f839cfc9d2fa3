"""The product's two webhook endpoints at Stripe, made or brought up to date through the API
with exactly the event types their handler tables handle (``payments.handlers``)."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from payments import gateway
from payments.errors import stripe_errors
from payments.handlers import CONNECT, ENDPOINTS, enabled_events

URL_NAMES = {"platform": "payments:webhook_platform", CONNECT: "payments:webhook_connect"}
DESCRIPTIONS = {
    "platform": "Coach Connect: the platform's events (Checkout, charges, refunds, disputes)",
    CONNECT: "Coach Connect: connected accounts' events (accounts, capabilities, payouts)",
}
SECRET_SETTINGS = {"platform": "STRIPE_WEBHOOK_SECRETS", CONNECT: "STRIPE_CONNECT_WEBHOOK_SECRETS"}


@dataclass(frozen=True)
class ConfiguredEndpoint:
    endpoint: str  # platform | connect
    stripe_id: str
    url: str
    enabled_events: list[str]
    created: bool
    secret: str  # only for a new endpoint: Stripe shows it once
    secret_setting: str


def webhook_endpoints_configure(*, base_url: str) -> list[ConfiguredEndpoint]:
    """Create each endpoint at ``base_url`` that Stripe does not have, update the others.

    An endpoint is ours when its metadata names it (``coach_connect_endpoint``), else when its
    URL is ours. ``connect`` can only be set when an endpoint is created, so an endpoint found
    by URL alone is trusted to be of the right kind.
    """
    base_url = base_url.rstrip("/")
    with stripe_errors():
        existing = gateway.webhook_endpoints_list()
    configured = []
    for endpoint in ENDPOINTS:
        url = base_url + reverse(URL_NAMES[endpoint])
        events = enabled_events(endpoint)
        match = next(
            (
                found
                for found in existing
                if found.metadata.get("coach_connect_endpoint") == endpoint
            ),
            None,
        ) or next((found for found in existing if found.url == url), None)
        with stripe_errors():
            if match is None:
                result = gateway.webhook_endpoint_create(
                    url=url,
                    enabled_events=events,
                    connect=endpoint == CONNECT,
                    description=DESCRIPTIONS[endpoint],
                    name=endpoint,
                )
            else:
                result = gateway.webhook_endpoint_update(
                    match.id,
                    url=url,
                    enabled_events=events,
                    description=DESCRIPTIONS[endpoint],
                    name=endpoint,
                )
        configured.append(
            ConfiguredEndpoint(
                endpoint=endpoint,
                stripe_id=result.id,
                url=result.url,
                enabled_events=result.enabled_events,
                created=match is None,
                secret=result.secret,
                secret_setting=SECRET_SETTINGS[endpoint],
            )
        )
    return configured
