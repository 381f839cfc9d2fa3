"""The one Celery app: the worker and beat both run it."""

import logging
import os

from celery import Celery
from celery.app.defaults import DEFAULTS
from celery.signals import setup_logging, task_failure
from django_structlog.celery.steps import DjangoStructLogInitStep

logger = logging.getLogger("marketplace.celery")

# A worker or beat started without a choice runs production settings, which fail closed.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings.production")

app = Celery("marketplace")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The worker binds the queuing request's id and the task's own id to every line of a task.
app.steps["worker"].add(DjangoStructLogInitStep)


@setup_logging.connect(dispatch_uid="marketplace-worker-logging")
def configure_worker_logging(**kwargs: object) -> None:
    """Workers and beat log as the web does (``LOGGING``: JSON lines with the ids bound),
    instead of Celery's own format."""
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


def settle_configuration() -> None:
    """Give Celery its configuration as plain values, once Django's settings are loaded
    (``MarketplaceConfig.ready()``).

    Read through ``django.conf:settings``, every key is looked up again each time it is
    used: under each of its names, in Celery's own changes and then in Django's settings,
    with a caught exception for every miss (most keys are left to Celery's defaults). An
    ``apply_async`` reads several, and every Stripe webhook received queues one. Copied
    into Celery's own configuration with the public ``conf.update``, a webhook received
    cost 0.1-0.4 ms of CPU less in a web process (docs/settings.md). Celery then no longer
    follows later changes to Django's settings: change ``app.conf`` itself, as the tests'
    worker fixtures do.
    """
    app.conf.update({name: app.conf[name] for name in DEFAULTS})


@task_failure.connect(dispatch_uid="marketplace-record-task-failure")
def record_task_failure(
    sender: object = None,
    task_id: str | None = None,
    exception: BaseException | None = None,
    args: object = None,
    **kwargs: object,
) -> None:
    """Keep a task that failed for good as a ``TaskFailure`` row, which the staff operations
    page counts (a retry is not a failure: Celery sends ``task_retry`` for it)."""
    from django.db import DatabaseError

    from marketplace.models import TaskFailure

    try:
        TaskFailure.objects.create(
            task_name=str(getattr(sender, "name", sender)),
            task_id=task_id or "",
            args=list(args) if isinstance(args, list | tuple) else [],
            error=f"{type(exception).__name__}: {exception}"[:5000] if exception else "",
        )
    except (DatabaseError, TypeError, ValueError):
        logger.exception("could not record the failure of task %s", task_id)
