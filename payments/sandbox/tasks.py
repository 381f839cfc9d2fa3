"""Celery tasks of the local Stripe: thin wrappers over ``events``."""

from __future__ import annotations

from celery import shared_task

from payments.sandbox import events


@shared_task(name="stripe_sandbox.deliver_webhook")
def deliver_webhook(delivery_id: int) -> int | None:
    """Send one webhook delivery; a non-2xx answer schedules the next attempt with backoff."""
    return events.deliver(delivery_id)


@shared_task(name="stripe_sandbox.sweep_deliveries")
def sweep_deliveries() -> int:
    """Beat, every minute: deliver what is due (see ``events.due_deliveries``)."""
    count = 0
    sent: set[int] = set()
    for delivery_id in events.due_deliveries():
        # The sweeper itself is the next retry: no extra countdown task. A delivery listed
        # twice (shuffled deliveries with duplicates) is sent again.
        events.deliver(delivery_id, force=delivery_id in sent, schedule_retry=False)
        sent.add(delivery_id)
        count += 1
    return count
