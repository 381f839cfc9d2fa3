"""Webhook handlers: one function per Stripe event type and endpoint, found through
``HANDLERS``.

Each of the two webhook endpoints has its own table, because Stripe sends different events
to each: the platform endpoint receives the platform's own events (Checkout, destination
charges, refunds, disputes, transfers), the Connect endpoint the events of connected
accounts (``event.account`` set: ``account.updated``, capabilities, payouts). An event type
that arrives on an endpoint whose table does not list it is recorded ``ignored``, never
failed: a platform payout or a platform ``capability.updated`` is not a coach's.

Handlers live in ``payments/webhook_handlers.py`` (imported by ``PaymentsConfig.ready``); the
owner of a payment's purpose hears of it through ``payments.purposes``, never through its own
webhook handler. Registering one::

    from payments.handlers import CONNECT, handles

    @handles("checkout.session.completed", "checkout.session.async_payment_succeeded")
    def handle_checkout_session_completed(event: WebhookEvent) -> None: ...

    @handles("payout.paid", "payout.failed", endpoints=(CONNECT,))
    def handle_payout(event: WebhookEvent) -> None: ...

``endpoints`` defaults to the platform endpoint. ``"transfer.*"`` registers for every
``transfer.`` event type; an exact type wins over a wildcard. A handler receives the stored
``WebhookEvent`` (``.type``, ``.object_id``, ``.stripe_account_id``, ``.payload``), must
re-read the object from Stripe through ``payments.gateway`` instead of trusting ``payload``,
must be safe to run twice, and raises ``RetryLater`` when the event refers to something we
do not have yet (it is retried with backoff, then marked failed and shown in admin). Any
other exception is retried the same way. A handler runs outside any transaction (the event is
claimed first, ``payments.services.webhooks``), so it waits on Stripe with no lock held; its
writes go through services that each commit in a short transaction of their own, and a
handler that writes twice makes them atomic itself or is safe to run again after the first.

``enabled_events(endpoint)`` is the list of event types to enable on each endpoint at
Stripe (``docs/webhooks.md``, ``manage.py stripe_webhook_endpoints``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from payments.models import WebhookEvent

logger = logging.getLogger("payments.webhooks")

Handler = Callable[["WebhookEvent"], None]

# The values of ``payments.models.WebhookEndpoint`` (this module is imported before models).
PLATFORM = "platform"
CONNECT = "connect"
ENDPOINTS = (PLATFORM, CONNECT)

HANDLERS: dict[str, dict[str, Handler]] = {endpoint: {} for endpoint in ENDPOINTS}


class RetryLater(Exception):
    """The event refers to an object we do not have yet; process it again later."""


def handles(
    *event_types: str, endpoints: Iterable[str] = (PLATFORM,)
) -> Callable[[Handler], Handler]:
    """Register the decorated function for ``event_types`` on ``endpoints``. Registering the
    same function twice (a module imported twice) is harmless; two different functions for
    one type on one endpoint is a configuration error."""
    chosen = tuple(endpoints)
    for endpoint in chosen:
        if endpoint not in HANDLERS:
            raise ImproperlyConfigured(f"unknown webhook endpoint {endpoint!r}")

    def register(handler: Handler) -> Handler:
        for endpoint in chosen:
            table = HANDLERS[endpoint]
            for event_type in event_types:
                existing = table.get(event_type)
                if existing is not None and _qualname(existing) != _qualname(handler):
                    raise ImproperlyConfigured(
                        f"{event_type} on the {endpoint} endpoint already has the handler "
                        f"{_qualname(existing)}"
                    )
                table[event_type] = handler
        return handler

    return register


def _qualname(handler: Handler) -> str:
    return f"{handler.__module__}.{handler.__qualname__}"


def handler_for(endpoint: str, event_type: str) -> Handler | None:
    """The endpoint's exact handler, else its longest matching ``prefix.*`` wildcard, else
    None (the event is not for this endpoint, or nobody handles it)."""
    table = HANDLERS.get(endpoint, {})
    if event_type in table:
        return table[event_type]
    parts = event_type.split(".")
    for size in range(len(parts) - 1, 0, -1):
        wildcard = ".".join(parts[:size]) + ".*"
        if wildcard in table:
            return table[wildcard]
    return None


def enabled_events(endpoint: str) -> list[str]:
    """The event types to enable on ``endpoint`` at Stripe, sorted: exactly the table's.

    Stripe's ``enabled_events`` takes exact types (or ``*``, everything), so a ``prefix.*``
    wildcard handler cannot be enabled as it is: register its types one by one."""
    wildcards = sorted(name for name in HANDLERS[endpoint] if name.endswith(".*"))
    if wildcards:
        raise ImproperlyConfigured(
            f"the {endpoint} endpoint has wildcard handlers {wildcards}: Stripe enables exact "
            "event types only"
        )
    return sorted(HANDLERS[endpoint])
