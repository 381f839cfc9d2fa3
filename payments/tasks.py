"""Payments tasks: thin wrappers that take ids and call services. All safe to run twice."""

from __future__ import annotations

from celery import shared_task

from marketplace.queue import enqueue
from payments import gateway, selectors, services, webhooks
from payments.models import AccountStateChange, ConnectedAccount


# Its outcome is the row's status: no result is stored, and sending one does not subscribe
# to a result channel on Redis (two round trips per webhook received).
@shared_task(name="payments.process_webhook_event", ignore_result=True)
def process_webhook_event(event_id: int) -> str | None:
    """Run the handler of one stored Stripe event (retries are scheduled by the service)."""
    return webhooks.webhook_event_process(event_id=event_id)


@shared_task(
    name="payments.refresh_connected_account",
    autoretry_for=(gateway.GatewayError,),
    retry_backoff=30,
    retry_backoff_max=30 * 60,
    retry_kwargs={"max_retries": 5},
)
def refresh_connected_account(account_id: int, source: str = AccountStateChange.Source.POLL) -> str:
    """Re-read one connected account from Stripe and apply its state."""
    account = ConnectedAccount.objects.get(pk=account_id)
    return services.connected_account_refresh(account=account, source=source).state


@shared_task(name="payments.poll_connected_accounts")
def poll_connected_accounts() -> int:
    """Beat: queue a refresh for every account due (not active, or not checked for a day),
    so a lost webhook never leaves a coach stuck. Returns how many were queued."""
    account_ids = selectors.connected_accounts_due_for_poll()
    for account_id in account_ids:
        enqueue(refresh_connected_account, account_id)
    return len(account_ids)


@shared_task(name="payments.sweep_webhook_events")
def sweep_webhook_events() -> int:
    """Beat: re-queue stored events whose processing was lost (broker down, worker killed)."""
    event_ids = selectors.webhook_events_due_for_retry()
    for event_id in event_ids:
        enqueue(process_webhook_event, event_id)
    return len(event_ids)
