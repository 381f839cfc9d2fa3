"""Tasks every app shares: sending e-mail, sending the tasks the outbox kept."""

from __future__ import annotations

from celery import shared_task
from django.core.mail import EmailMultiAlternatives

from marketplace import queue


@shared_task(
    name="marketplace.send_email",
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_kwargs={"max_retries": 5},
)
def send_email(
    *,
    to: list[str],
    subject: str,
    body: str,
    html_body: str = "",
    attachments: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> int:
    """Send one e-mail. ``attachments`` are ``{"filename", "content", "mimetype"}`` dicts;
    ``headers`` extra mail headers."""
    message = EmailMultiAlternatives(subject=subject, body=body, to=to, headers=headers or None)
    if html_body:
        message.attach_alternative(html_body, "text/html")
    for attachment in attachments or []:
        message.attach(attachment["filename"], attachment["content"], attachment["mimetype"])
    return message.send()


@shared_task(name="marketplace.drain_outbox", ignore_result=True)
def drain_outbox(older_than_seconds: float | None = None) -> int:
    """Beat, every minute: publish the tasks whose publish after commit failed (broker down)."""
    return queue.outbox_drain(older_than=older_than_seconds)
