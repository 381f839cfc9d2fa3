"""Celery tasks of the local Stripe: thin wrappers over ``events``."""

from __future__ import annotations

from celery import shared_task

from payments.sandbox import events


@shared_task(name="stripe_sandbox.deliver_webhook")
def deliver_webhook(delivery_id: int) -> int | None:
    """Send one webhook delivery; a non-2xx answer schedules the next attempt with backoff."""
    return events.deliver(delivery_id)
