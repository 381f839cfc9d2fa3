"""Payments tasks: thin wrappers that take ids and call services. All safe to run twice."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.db.models import Q
from django.utils import timezone

from marketplace.queue import enqueue
from payments import selectors
from payments.errors import PaymentProviderError
from payments.models import (
    AccountStateChange,
    ConnectedAccount,
    Transfer,
    TransferKind,
    TransferStatus,
)
from payments.services import (
    accounts,
    charges,
    disputes,
    invoices,
    payout_requests,
    reconciliation,
    refunds,
    subscriptions,
    transfers,
    webhooks,
)

# A package share's transient failures are retried with backoff (1 minute doubling, at most
# an hour) about a dozen times; the stalled-transfer sweep takes over after that.
TRANSFER_MAX_RETRIES = 12


# Its outcome is the row's status: no result is stored, and sending one does not subscribe
# to a result channel on Redis (two round trips per webhook received).
@shared_task(name="payments.process_webhook_event", ignore_result=True)
def process_webhook_event(event_id: int) -> str | None:
    """Run the handler of one stored Stripe event (retries are scheduled by the service)."""
    return webhooks.webhook_event_process(event_id=event_id)


@shared_task(
    name="payments.refresh_connected_account",
    autoretry_for=(PaymentProviderError,),
    retry_backoff=30,
    retry_backoff_max=30 * 60,
    retry_kwargs={"max_retries": 5},
)
def refresh_connected_account(account_id: int, source: str = AccountStateChange.Source.POLL) -> str:
    """Re-read one connected account from Stripe and apply its state."""
    account = ConnectedAccount.objects.get(pk=account_id)
    return accounts.connected_account_refresh(account=account, source=source).state


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


@shared_task(
    name="payments.execute_refund",
    autoretry_for=(PaymentProviderError,),
    retry_backoff=True,
    retry_kwargs={"max_retries": 8},
)
def execute_refund(refund_id: int) -> str:
    """Make one recorded refund at Stripe (the owner is told through its purpose)."""
    return refunds.refund_execute(refund_id=refund_id).status


@shared_task(name="payments.poll_subscriptions")
def poll_subscriptions() -> int:
    """Beat: queue a re-read of every subscription a lost webhook may have left behind (a
    renewal not heard of, a Checkout Session past its expiry). Returns how many."""
    subscription_ids = selectors.subscriptions_due_for_poll()
    for subscription_id in subscription_ids:
        enqueue(refresh_subscription, subscription_id)
    return len(subscription_ids)


@shared_task(
    name="payments.refresh_subscription",
    autoretry_for=(PaymentProviderError,),
    retry_backoff=True,
    max_retries=5,
)
def refresh_subscription(subscription_id: int) -> str:
    """Re-read one subscription and its latest invoice (the period's credits follow it)."""
    subscription = subscriptions.subscription_poll(subscription_id=subscription_id)
    if subscription is None:
        return "missing"
    if subscription.latest_invoice_id:
        invoices.invoice_sync(stripe_invoice_id=subscription.latest_invoice_id)
    return subscription.status


@shared_task(name="payments.poll_pending_refunds")
def poll_pending_refunds() -> int:
    """Beat: re-read every refund Stripe still holds as pending (and make those whose call
    never reached it), so a lost webhook never leaves a refund pending in our books."""
    refund_ids = selectors.refunds_due_for_poll()
    for refund_id in refund_ids:
        enqueue(execute_refund, refund_id)
    return len(refund_ids)


@shared_task(
    name="payments.reverse_lost_dispute",
    autoretry_for=(PaymentProviderError,),
    retry_backoff=True,
    retry_kwargs={"max_retries": 8},
)
def reverse_lost_dispute(dispute_id: int) -> int:
    """After a lost dispute, take the coach's share back (one reversal, whatever the retries)."""
    return disputes.dispute_reverse_transfer(dispute_id=dispute_id).transfer_reversal_amount


@shared_task(name="payments.reconcile")
def reconcile() -> str:
    """Beat, nightly: our money rows against Stripe's balance transactions since the last run."""
    return reconciliation.reconciliation_run().outcome


@shared_task(
    name="payments.expire_checkout_session",
    autoretry_for=(PaymentProviderError,),
    retry_backoff=True,
    retry_kwargs={"max_retries": 5},
)
def expire_checkout_session(checkout_session_id: str) -> bool:
    """Close the Checkout Session of an ended hold, so the client cannot pay for it."""
    return charges.checkout_session_close(checkout_session_id=checkout_session_id)


@shared_task(name="payments.transfer_package_share", bind=True, max_retries=TRANSFER_MAX_RETRIES)
def transfer_package_share(self, transfer_id: int) -> str:
    """Pay one completed package session's share to the coach (exactly once: the row is
    unique per session, each attempt has its own idempotency key and a new attempt first
    looks for a transfer an earlier one made). A permanent refusal ends it ``failed``."""
    try:
        return transfers.transfer_execute(transfer_id=transfer_id).status
    except transfers.TransferRetry as error:
        raise self.retry(exc=error, countdown=error.countdown) from error
    except PaymentProviderError as error:
        # Stripe could not be asked whether an earlier attempt made the transfer.
        countdown = transfers.backoff_seconds(self.request.retries + 1)
        raise self.retry(exc=error, countdown=countdown) from error


@shared_task(name="payments.execute_payout_request", bind=True, max_retries=TRANSFER_MAX_RETRIES)
def execute_payout_request(self, payout_request_id: int) -> str:
    """Send an approved staff payout's transfer (exactly once: one transfer row per request,
    each attempt under its own idempotency key, a new attempt first looks for a transfer an
    earlier one made; the platform's balance is checked before the first). A permanent
    refusal ends it ``failed``."""
    try:
        return payout_requests.payout_request_execute(payout_request_id=payout_request_id)
    except transfers.TransferRetry as error:
        raise self.retry(exc=error, countdown=error.countdown) from error
    except PaymentProviderError as error:
        countdown = transfers.backoff_seconds(self.request.retries + 1)
        raise self.retry(exc=error, countdown=countdown) from error


@shared_task(name="payments.retry_stalled_transfers")
def retry_stalled_transfers(older_than_seconds: int = 600) -> int:
    """Queue again every separate transfer (package share or staff payout) not paid some
    minutes after it was recorded (a worker died mid-task, a message was lost, its retries
    ran out) whose next attempt is due; safe because each attempt is idempotent. Failed and
    cancelled transfers are left alone."""
    now = timezone.now()
    stalled = (
        Transfer.objects.filter(
            status__in=[TransferStatus.PENDING, TransferStatus.WAITING_FOR_BALANCE],
            created_at__lte=now - timedelta(seconds=older_than_seconds),
        )
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .values_list("pk", "kind", "payout_request_id")
    )
    count = 0
    for transfer_id, kind, payout_request_id in stalled[:500]:
        if kind == TransferKind.STAFF_PAYOUT:
            enqueue(execute_payout_request, payout_request_id)
        else:
            enqueue(transfer_package_share, transfer_id)
        count += 1
    return count
