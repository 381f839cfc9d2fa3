"""Coaches tasks: thin wrappers over coaches.services, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from coaches.models import CoachProfile
from coaches.services import memberships, search_index
from marketplace.queue import enqueue
from payments.errors import PaymentProviderError

BATCH = 500


@shared_task(name="coaches.refresh_availability_index")
def refresh_availability_index() -> int:
    """Celery beat: queue one rebuild of search's availability index per batch of public
    coaches, so several workers share the work. Returns the number of batches queued."""
    ids = list(CoachProfile.objects.bookable().order_by("pk").values_list("pk", flat=True))
    batches = [ids[offset : offset + BATCH] for offset in range(0, len(ids), BATCH)]
    for batch in batches:
        enqueue(refresh_availability_index_batch, batch)
    return len(batches)


@shared_task(
    name="coaches.refresh_availability_index_batch",
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_kwargs={"max_retries": 3},
)
def refresh_availability_index_batch(coach_ids: list[int]) -> int:
    """Rebuild the availability index of these coaches; returns the windows written."""
    return search_index.availability_index_refresh(coach_ids=coach_ids)


@shared_task(
    name="coaches.refresh_coach_availability",
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_kwargs={"max_retries": 3},
)
def refresh_coach_availability(coach_id: int) -> int:
    """Rebuild one coach's availability index (e.g. after a booking was held or freed)."""
    return search_index.availability_index_refresh(coach_ids=[coach_id])


@shared_task(
    name="coaches.membership_plan_stripe_sync",
    autoretry_for=(PaymentProviderError,),
    retry_backoff=True,
    retry_kwargs={"max_retries": 8},
)
def membership_plan_stripe_sync(plan_id: int) -> str:
    """Make a membership plan's Stripe Product and current Price; returns the Price id."""
    return memberships.membership_plan_stripe_sync(plan_id=plan_id).stripe_price_id


@shared_task(
    name="coaches.coach_subscription_fees_refresh",
    autoretry_for=(PaymentProviderError,),
    retry_backoff=True,
    retry_kwargs={"max_retries": 8},
)
def coach_subscription_fees_refresh(coach_id: int) -> int:
    """A coach's fee changed: their running coaching plans' invoices take it."""
    return memberships.coach_subscription_fees_refresh(coach_id=coach_id)
