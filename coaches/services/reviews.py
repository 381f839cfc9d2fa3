"""Clients' reviews of completed sessions, the coach's reply, staff hiding, and the coach's
rating that follows them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Avg, Count
from django.utils import timezone

from coaches.models import CoachProfile, Review
from coaches.providers import booking_reader
from coaches.services.catalogue import home_catalogue_changed
from marketplace.errors import Conflict, DomainError, NotAllowed
from marketplace.models import User

REVIEW_WINDOW = timedelta(days=14)


def coach_rating_refresh(*, coach_id: int) -> None:
    """Set the coach's average and count from their visible reviews. Call it with the
    coach row locked, after any change to their reviews."""
    figures = Review.objects.filter(coach_id=coach_id, is_hidden=False).aggregate(
        average=Avg("rating"), count=Count("id")
    )
    average = figures["average"]
    CoachProfile.objects.filter(pk=coach_id).update(
        rating_average=round(average, 2) if average is not None else None,
        rating_count=figures["count"],
    )
    home_catalogue_changed()


def review_create(
    *, booking: Any, client: User, rating: int, text: str, now: datetime | None = None
) -> Review:
    """A client's review of their completed booking: once, within 14 days after its end."""
    now = now or timezone.now()
    if booking.client_id != client.pk:
        raise NotAllowed("Only the client of this session can review it.")
    if not booking_reader().booking_is_completed(booking=booking):
        raise DomainError("You can review a session once it has taken place.", code="not_completed")
    if now > booking.ends_at + REVIEW_WINDOW:
        raise DomainError(
            "Reviews are open for 14 days after the session.", code="review_window_closed"
        )
    if not 1 <= rating <= 5:
        raise DomainError("A rating is 1 to 5 stars.", fields={"rating": ["1 to 5 stars."]})
    with transaction.atomic():
        CoachProfile.objects.select_for_update().filter(pk=booking.coach_id).first()
        if Review.objects.filter(booking=booking).exists():
            raise Conflict("You already reviewed this session.", code="already_reviewed")
        review = Review.objects.create(
            booking=booking, coach_id=booking.coach_id, client=client, rating=rating, text=text
        )
        coach_rating_refresh(coach_id=booking.coach_id)
    return review


def review_reply(*, review: Review, by: User, text: str) -> Review:
    """The coach answers a review, once."""
    text = text.strip()
    if not text:
        raise DomainError("Write a reply first.", fields={"text": ["This field is required."]})
    with transaction.atomic():
        review = Review.objects.select_for_update().select_related("coach").get(pk=review.pk)
        if review.coach.user_id != by.pk:
            raise NotAllowed("Only the reviewed coach can answer.")
        if review.coach_reply:
            raise Conflict("You already answered this review.", code="already_replied")
        review.coach_reply = text
        review.replied_at = timezone.now()
        review.save(update_fields=["coach_reply", "replied_at"])
    return review


def review_set_hidden(*, review: Review, hidden: bool, by: User, reason: str = "") -> Review:
    """Staff hide (or show again) a review; the coach's average follows at once."""
    if not by.is_staff:
        raise NotAllowed("Only staff can hide reviews.")
    with transaction.atomic():
        CoachProfile.objects.select_for_update().filter(pk=review.coach_id).first()
        review = Review.objects.select_for_update().get(pk=review.pk)
        if review.is_hidden == hidden:
            return review
        review.is_hidden = hidden
        review.hidden_reason = reason if hidden else ""
        review.save(update_fields=["is_hidden", "hidden_reason"])
        coach_rating_refresh(coach_id=review.coach_id)
    return review
