"""Celery tasks of messaging: thin wrappers that take ids and call services."""

from __future__ import annotations

from celery import shared_task

from messaging import services


@shared_task(
    name="messaging.notify_unread",
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_kwargs={"max_retries": 5},
)
def notify_unread(*, thread_id: int, user_id: int) -> bool:
    """E-mail ``user_id`` if messages in ``thread_id`` are still unread (at most hourly)."""
    return services.unread_notification_send(thread_id=thread_id, user_id=user_id)


@shared_task(name="messaging.notify_unread_sweep")
def notify_unread_sweep() -> int:
    """Beat safety net: send unread e-mails whose countdown task was lost."""
    return services.unread_notification_sweep()
