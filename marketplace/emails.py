"""One way to send product e-mail: render a template, queue it after commit."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.template import Context, Engine

from marketplace.queue import enqueue


def render_plain_text(template_name: str, context: dict[str, Any]) -> str:
    """Render a plain-text template with autoescaping off.

    HTML escaping protects markup; a text body has none, so a ``<`` or ``"`` a user typed (a
    topic, a reason, a name) must arrive as typed, not as ``&lt;`` or ``&quot;``. The
    project's template engine is used (same loaders and tags), only the context turns
    escaping off; pages and any HTML body keep Django's autoescaping.
    """
    template = Engine.get_default().get_template(template_name)
    return template.render(Context(context, autoescape=False))


def send_templated_email(
    *,
    to: list[str] | str,
    subject: str,
    template: str,
    context: dict[str, Any] | None = None,
    attachments: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    """Render ``templates/emails/<template>.txt`` and send it by Celery once committed.

    The body is plain text, rendered without HTML escaping (:func:`render_plain_text`), and
    signed off with the site's name and address (:func:`sign_off`), so no template repeats
    it. ``context`` gets ``site_url`` and ``site_name``; links in mails are absolute.
    ``attachments`` are ``{"filename", "content", "mimetype"}`` dicts with text content (an
    .ics, a CSV). ``headers`` are extra mail headers (``List-Unsubscribe``).
    """
    recipients = [to] if isinstance(to, str) else list(to)
    body = render_plain_text(
        f"emails/{template}.txt",
        {"site_url": settings.SITE_URL, "site_name": settings.SITE_NAME, **(context or {})},
    )
    enqueue(
        "marketplace.send_email",
        to=recipients,
        subject=f"[{settings.SITE_NAME}] {subject}",
        body=f"{body.rstrip()}\n\n{sign_off()}",
        attachments=attachments or [],
        headers=headers or {},
    )


def sign_off() -> str:
    """The last lines of every product e-mail: the site's name and address."""
    return f"The {settings.SITE_NAME} team\n{settings.SITE_URL}/\n"
