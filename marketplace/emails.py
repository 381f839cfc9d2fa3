"""One way to send product e-mail: render a template, queue it after commit."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.template.loader import render_to_string

from marketplace.queue import enqueue


def send_templated_email(
    *,
    to: list[str] | str,
    subject: str,
    template: str,
    context: dict[str, Any] | None = None,
    attachments: list[dict[str, str]] | None = None,
) -> None:
    """Render ``templates/emails/<template>.txt`` and send it by Celery once committed.

    ``context`` gets ``site_url``; links in mails are absolute. ``attachments`` are
    ``{"filename", "content", "mimetype"}`` dicts with text content (an .ics, a CSV).
    """
    recipients = [to] if isinstance(to, str) else list(to)
    body = render_to_string(
        f"emails/{template}.txt", {"site_url": settings.SITE_URL, **(context or {})}
    )
    enqueue(
        "marketplace.send_email",
        to=recipients,
        subject=f"[Coach Connect] {subject}",
        body=body,
        attachments=attachments or [],
    )
