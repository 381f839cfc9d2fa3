"""The staff operations page (``/admin/operations/``): one page that catches money,
onboarding and processing trouble before users do.

Each app adds its own part through ``register`` in its ``AppConfig.ready()`` (payments: the
onboarding funnel, money health and webhooks; bookings: coaches who cannot be paid but have
sessions ahead); this module adds the task queue's. A part is a template and a function of
the request returning its context; every figure in it links to the admin list behind it.
The page is the admin's (``MarketplaceAdminSite.get_urls``), so only staff past the second
factor reach it. Nothing on it calls Stripe: it reads our own rows and the broker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from django.contrib import admin
from django.db.models import Min
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

logger = logging.getLogger("marketplace.operations")


@dataclass(frozen=True)
class OperationsSection:
    key: str
    title: str
    template: str
    context: Callable[[HttpRequest], dict]
    order: int = 100


_SECTIONS: dict[str, OperationsSection] = {}


def register(section: OperationsSection) -> None:
    _SECTIONS[section.key] = section


def sections() -> list[OperationsSection]:
    return sorted(_SECTIONS.values(), key=lambda section: (section.order, section.key))


def changelist(model: str, **filters: object) -> str:
    """The admin list of ``app_label.model`` with ``filters`` as its query string."""
    app_label, model_name = model.split(".")
    url = reverse(f"admin:{app_label}_{model_name}_changelist")
    return f"{url}?{urlencode(filters)}" if filters else url


def operations_view(request: HttpRequest) -> TemplateResponse:
    parts = []
    for section in sections():
        try:
            parts.append({"section": section, **section.context(request)})
        except Exception:
            # One part that cannot be read must not take the page down with it.
            logger.exception("operations: the %s part failed", section.key)
            parts.append({"section": section, "unreadable": True})
    context = {
        **admin.site.each_context(request),
        "title": "Operations",
        "parts": parts,
        "now": timezone.now(),
    }
    return TemplateResponse(request, "admin/operations.html", context)


# --- the task queue -----------------------------------------------------------------------


def queue_length(queue: str) -> int | None:
    """Messages waiting on the broker's ``queue``; None when the broker does not answer."""
    from celery import current_app
    from kombu.exceptions import ChannelError

    try:
        with current_app.connection_for_read() as connection:
            connection.ensure_connection(max_retries=1, timeout=1)
            return connection.default_channel.queue_declare(queue=queue, passive=True).message_count
    except ChannelError:
        # No worker has declared the queue yet: nothing can be waiting on it.
        return 0
    except Exception as error:
        logger.warning("operations: the broker did not say how long %s is: %s", queue, error)
        return None


def tasks_context(request: HttpRequest) -> dict:
    from celery import current_app

    from marketplace.models import OutboxMessage, TaskFailure

    now = timezone.now()
    day_ago = now - timedelta(days=1)
    queue = current_app.conf.task_default_queue
    waiting = OutboxMessage.objects.filter(sent_at__isnull=True)
    outbox = waiting.aggregate(oldest=Min("created_at"))
    failures = TaskFailure.objects.filter(failed_at__gte=day_ago)
    return {
        "queue": queue,
        "queue_length": queue_length(queue),
        "outbox_waiting": waiting.count(),
        "outbox_oldest": outbox["oldest"],
        "outbox_url": changelist("marketplace.outboxmessage", sent_at__isnull="True"),
        "failures": failures.count(),
        "failures_url": changelist(
            "marketplace.taskfailure", failed_at__gte=day_ago.isoformat(timespec="seconds")
        ),
        "recent_failures": list(failures[:5]),
    }


register(
    OperationsSection(
        key="tasks",
        title="Background tasks",
        template="admin/operations/tasks.html",
        context=tasks_context,
        order=90,
    )
)
