"""Reviews: once per completed booking, within 14 days, coach answers once, staff hide."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.sites import site
from django.urls import reverse
from django.utils import timezone

from bookings.demo import seed_demo_reviews
from bookings.models import BookingStatus
from coaches.demo import seed_demo_coaches
from coaches.models import CoachProfile, Review
from coaches.services import reviews
from marketplace.demo import seed_demo_users
from marketplace.errors import Conflict, DomainError, NotAllowed
from tests.bookings.factories import BookingFactory
from tests.factories import UserFactory
from tests.mfa import sign_in_with_totp

pytestmark = pytest.mark.django_db


def completed_booking(**fields):
    starts_at = (timezone.now() - timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    fields.setdefault("starts_at", starts_at)
    fields.setdefault("ends_at", fields["starts_at"] + timedelta(hours=1))
    return BookingFactory(status=BookingStatus.COMPLETED, **fields)


def test_a_client_reviews_a_completed_booking_once_and_the_average_follows():
    booking = completed_booking()
    reviews.review_create(booking=booking, client=booking.client, rating=4, text="Good")
    second = completed_booking(session_type=booking.session_type)
    reviews.review_create(booking=second, client=second.client, rating=5, text="")
    coach = CoachProfile.objects.get(pk=booking.coach_id)
    assert (coach.rating_average, coach.rating_count) == (Decimal("4.50"), 2)
    with pytest.raises(Conflict):
        reviews.review_create(booking=booking, client=booking.client, rating=1, text="again")
    assert Review.objects.count() == 2


@pytest.mark.parametrize(
    "status", [BookingStatus.CONFIRMED, BookingStatus.CANCELLED_BY_CLIENT, BookingStatus.NO_SHOW]
)
def test_only_completed_bookings_can_be_reviewed(status):
    booking = completed_booking()
    booking.status = status
    booking.save()
    with pytest.raises(DomainError, match="taken place"):
        reviews.review_create(booking=booking, client=booking.client, rating=5, text="")


def test_the_review_window_closes_14_days_after_the_session():
    booking = completed_booking()
    reviews.review_create(
        booking=booking,
        client=booking.client,
        rating=5,
        text="",
        now=booking.ends_at + timedelta(days=14),
    )
    late = completed_booking(
        session_type=booking.session_type, starts_at=booking.starts_at + timedelta(hours=3)
    )
    with pytest.raises(DomainError, match="14 days"):
        reviews.review_create(
            booking=late,
            client=late.client,
            rating=5,
            text="",
            now=late.ends_at + timedelta(days=14, seconds=1),
        )


def test_only_the_bookings_client_can_review():
    booking = completed_booking()
    with pytest.raises(NotAllowed):
        reviews.review_create(booking=booking, client=UserFactory(), rating=5, text="")


def test_the_coach_answers_once_and_nobody_else_can():
    booking = completed_booking()
    review = reviews.review_create(booking=booking, client=booking.client, rating=3, text="Ok")
    with pytest.raises(NotAllowed):
        reviews.review_reply(review=review, by=booking.client, text="Me too")
    reviews.review_reply(review=review, by=booking.coach.user, text="Thanks!")
    with pytest.raises(Conflict):
        reviews.review_reply(review=review, by=booking.coach.user, text="Again")
    review.refresh_from_db()
    assert review.coach_reply == "Thanks!"


def test_hiding_a_review_in_admin_keeps_the_average_consistent(client):
    booking = completed_booking()
    low = reviews.review_create(booking=booking, client=booking.client, rating=1, text="Spam")
    other = completed_booking(session_type=booking.session_type)
    reviews.review_create(booking=other, client=other.client, rating=5, text="Great")
    staff = UserFactory(is_staff=True, is_superuser=True)
    sign_in_with_totp(client, staff)
    # when: staff hide the 1-star review with the admin action
    response = client.post(
        reverse("admin:coaches_review_changelist"),
        {"action": "hide_selected", "_selected_action": [low.pk]},
    )
    assert response.status_code == 302
    coach = CoachProfile.objects.get(pk=booking.coach_id)
    assert (coach.rating_average, coach.rating_count) == (Decimal("5.00"), 1)
    page = client.get(reverse("coaches:profile", args=[coach.slug])).content.decode()
    assert "Spam" not in page and "Great" in page
    # and showing it again restores the average
    client.post(
        reverse("admin:coaches_review_changelist"),
        {"action": "show_selected", "_selected_action": [low.pk]},
    )
    coach.refresh_from_db()
    assert (coach.rating_average, coach.rating_count) == (Decimal("3.00"), 2)
    assert Review in site._registry


def test_review_pages(client):
    booking = completed_booking()
    url = reverse("coaches:review_create", args=[booking.pk])
    client.force_login(UserFactory())
    assert client.get(url).status_code == 404  # not their booking
    client.force_login(booking.client)
    assert client.get(url).status_code == 200
    assert client.post(url, {"rating": 9}).status_code == 400
    response = client.post(url, {"rating": 4, "text": "Helpful"})
    assert response.status_code == 302
    again = client.post(url, {"rating": 4, "text": "Helpful"})
    assert "already reviewed" in again.content.decode()
    review = Review.objects.get()
    client.force_login(booking.coach.user)
    client.post(reverse("coaches:review_reply", args=[review.pk]), {"text": "Thank you"})
    review.refresh_from_db()
    assert review.coach_reply == "Thank you"


def test_the_demo_reviews_are_of_completed_sessions_and_seeding_twice_adds_none():
    # given: the demo clients and coaches
    seed_demo_users()
    seed_demo_coaches()
    # when
    seed_demo_reviews()
    seed_demo_reviews()
    # then: a few reviews of past, completed sessions, counted in the coaches' averages
    demo_reviews = list(Review.objects.select_related("booking", "coach"))
    assert demo_reviews
    assert {review.booking.status for review in demo_reviews} == {BookingStatus.COMPLETED}
    assert all(review.booking.ends_at < timezone.now() for review in demo_reviews)
    assert len(demo_reviews) == sum(coach.rating_count for coach in {r.coach for r in demo_reviews})
