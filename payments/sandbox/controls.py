"""Controls of the local Stripe for tests and development.

These do what Stripe (or a person on a Stripe-hosted page) would do; the hosted pages call the
same functions. See docs/stripe-sandbox.md for the whole list.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db import transaction

from payments.sandbox import accounts, events, store
from payments.sandbox.models import (
    DeliveryStatus,
    IdempotencyKey,
    SandboxState,
    StripeObject,
    WebhookDelivery,
    WebhookEndpoint,
)

PLATFORM_WEBHOOK_PATH = "/payments/webhooks/stripe/"
CONNECT_WEBHOOK_PATH = "/payments/webhooks/stripe/connect/"


def reset() -> None:
    """Forget every object, key, event, delivery and endpoint; the clock returns to now."""
    with transaction.atomic():
        WebhookDelivery.objects.all().delete()
        WebhookEndpoint.objects.all().delete()
        StripeObject.objects.all().delete()
        IdempotencyKey.objects.all().delete()
        SandboxState.objects.all().delete()
        store.state()


def register_endpoint(*, url: str, secret: str, connect: bool) -> WebhookEndpoint:
    endpoint, _ = WebhookEndpoint.objects.update_or_create(
        url=url,
        connect=connect,
        defaults={"secret": secret, "enabled_events": ["*"]},
        create_defaults={
            "secret": secret,
            "enabled_events": ["*"],
            "stripe_id": store.new_id("we_"),
            "created": store.now(),
        },
    )
    return endpoint


def register_default_endpoints(site_url: str | None = None) -> list[WebhookEndpoint]:
    """The product's two endpoints on ``SITE_URL``, with the secrets from settings (idempotent)."""
    site_url = (site_url or settings.SITE_URL).rstrip("/")
    return [
        register_endpoint(
            url=site_url + PLATFORM_WEBHOOK_PATH,
            secret=settings.STRIPE_WEBHOOK_SECRET,
            connect=False,
        ),
        register_endpoint(
            url=site_url + CONNECT_WEBHOOK_PATH,
            secret=settings.STRIPE_CONNECT_WEBHOOK_SECRET,
            connect=True,
        ),
    ]


def now() -> int:
    """The sandbox clock (Unix seconds)."""
    return store.now()


# --- accounts ------------------------------------------------------------------------------


def complete_onboarding(account_id: str, outcome: str = "complete", **details: Any) -> dict:
    """Finish onboarding as the hosted page does: ``complete``, ``leave_due``,
    ``pending_verification`` or ``reject``. ``details`` may carry ``individual`` and
    ``bank_account`` (``account_number`` 000111111116 makes payouts fail)."""
    with transaction.atomic():
        return accounts.onboarding_complete(account_id=account_id, outcome=outcome, **details)


def verify_account(account_id: str) -> dict:
    """Stripe finished a pending verification: charges and payouts become enabled."""
    with transaction.atomic():
        return accounts.account_verify(account_id=account_id)


def update_account(account_id: str, **changes: Any) -> dict:
    """Change an account as Stripe would: ``past_due=[...]``, ``currently_due=[...]`` with
    ``current_deadline``, ``disabled_reason="rejected.fraud"`` / ``"platform_paused"`` ...,
    ``charges_enabled``/``payouts_enabled``, or ``deauthorize=True`` (the account holder
    disconnects the platform: ``account.application.deauthorized``)."""
    with transaction.atomic():
        return accounts.account_change(account_id=account_id, **changes)


# --- events and deliveries -----------------------------------------------------------------


def pause_deliveries() -> None:
    """Record events and deliveries but send nothing until ``resume_deliveries`` or
    ``deliver_pending_events``."""
    SandboxState.objects.filter(pk=store.state().pk).update(deliveries_paused=True)


def resume_deliveries() -> None:
    """Send again from now on (pending deliveries wait for ``deliver_pending_events``)."""
    SandboxState.objects.filter(pk=store.state().pk).update(deliveries_paused=False)


@contextlib.contextmanager
def deliveries_paused() -> Iterator[None]:
    pause_deliveries()
    try:
        yield
    finally:
        resume_deliveries()


def pending_events() -> list[dict]:
    """Events with a delivery not yet answered with 2xx, oldest first."""
    event_ids = list(
        WebhookDelivery.objects.exclude(status=DeliveryStatus.SUCCEEDED)
        .order_by("id")
        .values_list("event_id", flat=True)
        .distinct()
    )
    seen: list[str] = []
    for event_id in event_ids:
        if event_id not in seen:
            seen.append(event_id)
    return [store.get(event_id, "event").data for event_id in seen]


def events_of_type(event_type: str) -> list[dict]:
    """Every recorded event of ``event_type``, oldest first."""
    return [
        row.data
        for row in StripeObject.objects.filter(object_type="event", data__type=event_type).order_by(
            "created", "id"
        )
    ]


def deliver_pending_events(order: list[str] | None = None) -> list[int]:
    """Deliver now, synchronously, and return the answers' HTTP statuses.

    Without ``order``: every delivery not yet answered 2xx, oldest first. With ``order`` (a
    list of event ids, repeats allowed): those events' deliveries in that order, again even if
    already delivered — so tests can deliver out of order and duplicate.
    """
    statuses: list[int] = []
    if order is None:
        ids = list(
            WebhookDelivery.objects.exclude(status=DeliveryStatus.SUCCEEDED)
            .order_by("id")
            .values_list("pk", flat=True)
        )
        for delivery_id in ids:
            status = events.deliver(delivery_id, schedule_retry=False)
            if status is not None:
                statuses.append(status)
        return statuses
    for event_id in order:
        store.get(event_id, "event")  # a wrong id fails loudly
        for delivery_id in WebhookDelivery.objects.filter(event_id=event_id).values_list(
            "pk", flat=True
        ):
            status = events.deliver(delivery_id, force=True, schedule_retry=False)
            if status is not None:
                statuses.append(status)
    return statuses


def deliveries(event_id: str | None = None) -> list[WebhookDelivery]:
    """Delivery rows (with their attempt logs), optionally of one event."""
    query = WebhookDelivery.objects.select_related("endpoint").order_by("id")
    if event_id:
        query = query.filter(event_id=event_id)
    return list(query)
