"""Coaches tasks: thin wrappers over coaches.services, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from coaches import services
from coaches.models import CoachProfile

BATCH = 500


@shared_task(name="coaches.refresh_availability_index", acks_late=True)
def refresh_availability_index() -> int:
    """Rebuild search's availability index of every public coach (Celery beat)."""
    ids = list(CoachProfile.objects.bookable().order_by("pk").values_list("pk", flat=True))
    written = 0
    for offset in range(0, len(ids), BATCH):
        written += services.availability_index_refresh(coach_ids=ids[offset : offset + BATCH])
    return written


@shared_task(
    name="coaches.refresh_coach_availability",
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_kwargs={"max_retries": 3},
)
def refresh_coach_availability(coach_id: int) -> int:
    """Rebuild one coach's availability index (e.g. after a booking changed)."""
    return services.availability_index_refresh(coach_ids=[coach_id])
