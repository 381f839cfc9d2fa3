"""Webhook handlers: one function per Stripe event type, found through ``HANDLERS``.

Handlers live in ``payments/webhook_handlers.py`` (imported by ``PaymentsConfig.ready``); the
owner of a payment's purpose hears of it through ``payments.purposes``, never through its own
webhook handler. Registering one::

    from payments.handlers import handles

    @handles("checkout.session.completed", "checkout.session.async_payment_succeeded")
    def handle_checkout_session_completed(event: WebhookEvent) -> None: ...

``"transfer.*"`` registers for every ``transfer.`` event type; an exact type wins over a
wildcard. A handler receives the stored ``WebhookEvent`` (``.type``, ``.object_id``,
``.stripe_account_id``, ``.payload``), must re-read the object from Stripe through
``payments.gateway`` instead of trusting ``payload``, must be safe to run twice, and raises
``RetryLater`` when the event refers to something we do not have yet (it is retried with
backoff, then marked failed and shown in admin). Any other exception is retried the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from payments.models import WebhookEvent

logger = logging.getLogger("payments.webhooks")

Handler = Callable[["WebhookEvent"], None]

HANDLERS: dict[str, Handler] = {}


class RetryLater(Exception):
    """The event refers to an object we do not have yet; process it again later."""


def handles(*event_types: str) -> Callable[[Handler], Handler]:
    """Register the decorated function for ``event_types``. Registering the same function
    twice (a module imported twice) is harmless; two different functions for one type is a
    configuration error."""

    def register(handler: Handler) -> Handler:
        for event_type in event_types:
            existing = HANDLERS.get(event_type)
            if existing is not None and _qualname(existing) != _qualname(handler):
                raise ImproperlyConfigured(
                    f"{event_type} already has the handler {_qualname(existing)}"
                )
            HANDLERS[event_type] = handler
        return handler

    return register


def _qualname(handler: Handler) -> str:
    return f"{handler.__module__}.{handler.__qualname__}"


def handler_for(event_type: str) -> Handler | None:
    """The exact handler, else the longest matching ``prefix.*`` wildcard, else None."""
    if event_type in HANDLERS:
        return HANDLERS[event_type]
    parts = event_type.split(".")
    for size in range(len(parts) - 1, 0, -1):
        wildcard = ".".join(parts[:size]) + ".*"
        if wildcard in HANDLERS:
            return HANDLERS[wildcard]
    return None
