"""Queue Celery tasks only once the surrounding transaction has committed.

A task queued inside a transaction can run before the commit and read nothing, or run for a
change that was rolled back. Every task in the project is queued through ``enqueue``.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from celery import Task
from django.db import transaction


def enqueue(task: Task, *args: Any, countdown: float | None = None, **kwargs: Any) -> None:
    """Queue ``task`` with ``args``/``kwargs`` (ids, not model instances) after commit.

    Outside a transaction (autocommit) it is queued at once.
    """
    transaction.on_commit(partial(task.apply_async, args=args, kwargs=kwargs, countdown=countdown))
