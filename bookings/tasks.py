"""Bookings and money tasks: thin, take ids, named, safe to run twice.

They live here (the bookings app is autodiscovered by Celery) and call
``bookings.services`` / ``payments.charges``.
"""

from __future__ import annotations

from celery import shared_task

from marketplace.queue import enqueue
from payments import charges, gateway
from payments.models import Refund, RefundStatus

# Package transfers wait for the platform's balance: retried with backoff for about a day.
TRANSFER_MAX_RETRIES = 12


@shared_task(name="bookings.expire_stale_holds")
def expire_stale_holds() -> int:
    from bookings.services import bookings_expire_stale_holds

    return bookings_expire_stale_holds()


@shared_task(name="bookings.send_reminders")
def send_reminders() -> int:
    from bookings.services import bookings_send_reminders

    return bookings_send_reminders()


@shared_task(name="bookings.auto_complete")
def auto_complete() -> int:
    from bookings.services import bookings_auto_complete

    return bookings_auto_complete()


@shared_task(
    name="payments.execute_refund",
    autoretry_for=(gateway.GatewayError,),
    retry_backoff=True,
    retry_kwargs={"max_retries": 8},
)
def execute_refund(refund_id: int) -> str:
    refund = charges.refund_execute(refund_id=refund_id)
    if refund.status == RefundStatus.SUCCEEDED and refund.reason in (
        Refund.Reason.STAFF,
        Refund.Reason.PACKAGE_UNUSED,
    ):
        from bookings import notifications

        notifications.refund_sent(refund)
    return refund.status


@shared_task(
    name="payments.expire_checkout_session",
    autoretry_for=(gateway.GatewayError,),
    retry_backoff=True,
    retry_kwargs={"max_retries": 5},
)
def expire_checkout_session(checkout_session_id: str) -> bool:
    """Close the Checkout Session of an ended hold, so the client cannot pay for it."""
    return gateway.checkout_session_expire(session_id=checkout_session_id) is not None


@shared_task(name="payments.transfer_package_share", bind=True, max_retries=TRANSFER_MAX_RETRIES)
def transfer_package_share(self, transfer_id: int) -> str:
    """Pay one completed package session's share to the coach (exactly once: the row is
    unique per session and the Stripe call's idempotency key is the row id)."""
    try:
        return charges.package_transfer_execute(transfer_id=transfer_id).status
    except charges.PlatformBalanceTooLow as error:
        if self.request.retries == 2:
            charges.package_transfer_balance_alert(transfer_id=transfer_id)
        raise self.retry(exc=error, countdown=min(60 * 2**self.request.retries, 3600)) from error
    except gateway.GatewayError as error:
        raise self.retry(exc=error, countdown=min(30 * 2**self.request.retries, 3600)) from error


@shared_task(name="payments.retry_stalled_transfers")
def retry_stalled_transfers(older_than_seconds: int = 600) -> int:
    """Queue again every package transfer not paid some minutes after it was recorded (a
    worker died mid-task, a message was lost); safe because each send is idempotent."""
    from datetime import timedelta

    from django.utils import timezone

    from payments.models import Transfer, TransferStatus

    stalled = Transfer.objects.filter(
        status__in=[TransferStatus.PENDING, TransferStatus.WAITING_FOR_BALANCE],
        created_at__lte=timezone.now() - timedelta(seconds=older_than_seconds),
    ).values_list("pk", flat=True)
    count = 0
    for transfer_id in stalled[:500]:
        enqueue(transfer_package_share, transfer_id)
        count += 1
    return count
