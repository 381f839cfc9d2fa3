"""Tasks every app shares: sending e-mail."""

from __future__ import annotations

from celery import shared_task
from django.core.mail import EmailMultiAlternatives


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
) -> int:
    """Send one e-mail. ``attachments`` are ``{"filename", "content", "mimetype"}`` dicts."""
    message = EmailMultiAlternatives(subject=subject, body=body, to=to)
    if html_body:
        message.attach_alternative(html_body, "text/html")
    for attachment in attachments or []:
        message.attach(attachment["filename"], attachment["content"], attachment["mimetype"])
    return message.send()
