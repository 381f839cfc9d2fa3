"""Bookings' tasks: thin, take ids, named, safe to run twice. Money tasks (refunds,
transfers, Checkout Sessions) are payments'."""

from __future__ import annotations

from celery import shared_task

from bookings.services import after_session, holds, plans, reminders


@shared_task(name="bookings.expire_stale_holds")
def expire_stale_holds() -> int:
    return holds.bookings_expire_stale_holds()


@shared_task(name="bookings.send_reminders")
def send_reminders() -> int:
    return reminders.bookings_send_reminders()


@shared_task(name="bookings.auto_complete")
def auto_complete() -> int:
    return after_session.bookings_auto_complete()


@shared_task(
    name="bookings.plans_follow_coach_payable",
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=8,
)
def plans_follow_coach_payable(coach_id: int) -> int:
    return plans.plans_follow_coach_payable(coach_id=coach_id)
