"""Observability: structured logs, error tracking, metrics.

- **Logs** are structlog's (django-structlog): one JSON object per line (``LOG_FORMAT=json``,
  the default; ``console`` for people, development's default). django-structlog's request
  middleware gives every request a ``request_id`` (the ``X-Request-ID`` header when a proxy
  sends one) bound to every line logged while it runs, the standard library's loggers
  included; its Celery integration carries that id in the headers of each task the request
  queues, and the worker binds it, with the ``task_id``, to every line of the task.
- **Sentry** (``sentry-sdk`` with its Django and Celery integrations) is initialised only
  when ``SENTRY_DSN`` is set; without it no client exists and nothing is sent anywhere.
- **Metrics**: django-prometheus counts requests, responses and latencies per view; the
  apps add figures read from our own rows at scrape time (``register_collector``), so work
  done by any process, web or worker, counts whichever process answers the scrape.
  ``/metrics`` answers a bearer token (``METRICS_TOKEN``) or a staff session, nobody else.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

import structlog
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger("marketplace.observability")

# Processors applied to structlog's own lines and to the standard library's alike.
SHARED_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def configure_structlog() -> None:
    """structlog hands its events to the standard library, whose handlers (``LOGGING``)
    render them: one configuration for Django's, Celery's and our own lines."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *SHARED_PROCESSORS,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.UnicodeDecoder(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def formatter(renderer: str = "json") -> structlog.stdlib.ProcessorFormatter:
    """The logging formatter of ``LOGGING``: JSON lines, or coloured columns for a console."""
    final = (
        structlog.processors.JSONRenderer()
        if renderer == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=SHARED_PROCESSORS,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            final,
        ],
    )


def logging_config(*, renderer: str, level: str) -> dict:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {"()": "marketplace.observability.formatter", "renderer": renderer}
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            # The stripe library logs every request at INFO.
            "stripe": {"level": "WARNING"},
            # django-structlog's request lines replace Django's own for each request.
            "django.server": {"level": "WARNING"},
        },
    }


def init_sentry(*, dsn: str, environment: str, release: str, traces_sample_rate: float) -> bool:
    """Start Sentry's client with the Django and Celery integrations; nothing without a DSN.
    Returns whether a client was started."""
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or None,
        traces_sample_rate=traces_sample_rate,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        # people's e-mail addresses and IP addresses stay with us
        send_default_pii=False,
    )
    return True


# --- metrics --------------------------------------------------------------------------------

_REGISTERED: set[str] = set()


def register_collector(name: str, collector: Any) -> None:
    """Add one of our collectors to Prometheus' registry, once per process."""
    from prometheus_client import REGISTRY

    if name in _REGISTERED:
        return
    REGISTRY.register(collector)
    _REGISTERED.add(name)


def _may_read_metrics(request: HttpRequest) -> tuple[bool, int]:
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        offered = header.removeprefix("Bearer ").strip()
        if token and hmac.compare_digest(offered.encode(), token.encode()):
            return True, 200
        return False, 403
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False, 401
    return bool(user.is_active and user.is_staff), 403


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus' text format, for a scraper with ``METRICS_TOKEN`` or a staff member."""
    from django_prometheus.exports import ExportToDjangoView

    allowed, status = _may_read_metrics(request)
    if not allowed:
        response = HttpResponse(
            "Metrics need a bearer token or a staff sign-in.\n",
            status=status,
            content_type="text/plain",
        )
        if status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return ExportToDjangoView(request)
