"""Celery tasks of the community: thin wrappers that take ids and call services."""

from __future__ import annotations

from celery import shared_task

from messaging.community.services import notifications


@shared_task(
    name="community.send_notification_email",
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_kwargs={"max_retries": 5},
)
def send_notification_email(*, notification_id: int) -> bool:
    """E-mail one notification to someone who asked for e-mail immediately."""
    return notifications.notification_email_send(notification_id=notification_id)


@shared_task(name="community.send_daily_digests")
def send_daily_digests() -> int:
    """Beat, hourly: the daily digest for everyone due one."""
    return notifications.daily_digests_send()
