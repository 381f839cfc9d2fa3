"""Queue Celery tasks only once the surrounding transaction has committed.

A task queued inside a transaction can run before the commit and read nothing, or run for a
change that was rolled back. Every task in the project is queued through ``enqueue``.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from celery import Task, current_app
from django.db import transaction


def enqueue(task: Task | str, *args: Any, countdown: float | None = None, **kwargs: Any) -> None:
    """Queue ``task`` with ``args``/``kwargs`` (ids, not model instances) after commit.

    ``task`` is the task or its registered name (``"payments.execute_refund"``): a service
    names the task it queues, so it need not import the tasks module that imports it. Outside
    a transaction (autocommit) it is queued at once.
    """
    if isinstance(task, str):
        task = _task_named(task)
    transaction.on_commit(partial(task.apply_async, args=args, kwargs=kwargs, countdown=countdown))


def _task_named(name: str) -> Task:
    """The registered task called ``name``; every app's ``tasks`` module is imported when the
    Celery app loads (``autodiscover_tasks``), so an unknown name is a mistake."""
    tasks = current_app.tasks
    if name not in tasks:
        current_app.loader.import_default_modules()
    return tasks[name]
