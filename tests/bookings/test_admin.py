"""The admin staff can use: bookings changed only by actions that call services, times in
the staff member's zone with its name, the branded header, applications opening on the
submitted ones (oldest first), languages and prices in words."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking, BookingStatus
from coaches.models import ApplicationStatus, CoachApplication
from coaches.services.profiles import coach_profile_start
from tests.bookings.factories import BookingFactory
from tests.factories import CoachUserFactory, UserFactory
from tests.mfa import sign_in_with_totp

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = UserFactory(is_staff=True, is_superuser=True, time_zone="America/New_York")
    sign_in_with_totp(client, user)
    return user


def test_the_admin_is_branded_and_names_the_staff_members_zone(client, staff):
    page = client.get(reverse("admin:index")).content.decode()
    assert "Coach Connect staff" in page
    assert "Django administration" not in page
    assert "Times in America/New_York." in page


def test_a_booking_has_no_editable_field_and_no_delete(client, staff):
    booking = BookingFactory(status=BookingStatus.CONFIRMED)
    url = reverse("admin:bookings_booking_change", args=[booking.pk])
    page = client.get(url).content.decode()
    for field in ("starts_at", "cancelled_at", "status"):
        assert f'name="{field}"' not in page
    assert reverse("admin:bookings_booking_delete", args=[booking.pk]) not in page
    # a post cannot change the time either
    client.post(url, {"starts_at": "2030-01-01T00:00:00Z"})
    booking.refresh_from_db()
    assert booking.starts_at.year != 2030
    changelist = client.get(reverse("admin:bookings_booking_changelist")).content.decode()
    for action in ("cancel_with_refund", "mark_completed", "mark_no_show", "reschedule"):
        assert f'value="{action}"' in changelist
    assert 'value="delete_selected"' not in changelist


def test_completing_a_booking_through_the_action_calls_the_service(client, staff):
    booking = BookingFactory(
        status=BookingStatus.CONFIRMED,
        starts_at=timezone.now() - timedelta(hours=3),
        ends_at=timezone.now() - timedelta(hours=2),
    )
    client.post(
        reverse("admin:bookings_booking_changelist"),
        {"action": "mark_completed", "_selected_action": [booking.pk]},
    )
    booking.refresh_from_db()
    assert booking.status == BookingStatus.COMPLETED
    change = booking.status_changes.last()
    assert change.actor == staff and change.to_status == BookingStatus.COMPLETED


def test_rescheduling_asks_for_the_new_time_first(client, staff):
    booking = BookingFactory(status=BookingStatus.CONFIRMED)
    url = reverse("admin:bookings_booking_changelist")
    form = client.post(url, {"action": "reschedule", "_selected_action": [booking.pk]})
    assert form.status_code == 200 and 'name="starts_at"' in form.content.decode()
    bad = client.post(
        url, {"action": "reschedule", "_selected_action": [booking.pk], "starts_at": "soon"}
    )
    assert "Enter a valid date/time." in bad.content.decode()
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.CONFIRMED


def test_applications_open_on_the_submitted_ones_oldest_first(client, staff):
    older, newer, approved = (coach_profile_start(user=CoachUserFactory()) for _ in range(3))
    now = timezone.now()
    CoachApplication.objects.filter(pk=older.pk).update(
        status=ApplicationStatus.SUBMITTED, submitted_at=now - timedelta(days=3)
    )
    CoachApplication.objects.filter(pk=newer.pk).update(
        status=ApplicationStatus.SUBMITTED, submitted_at=now - timedelta(days=1)
    )
    CoachApplication.objects.filter(pk=approved.pk).update(
        status=ApplicationStatus.APPROVED, submitted_at=now - timedelta(days=9)
    )
    url = reverse("admin:coaches_coachapplication_changelist")
    page = client.get(url).content.decode()
    rows = [
        page.index(f"/admin/coaches/coachapplication/{application.pk}/change/")
        for application in (older, newer)
    ]
    assert rows == sorted(rows), "the oldest submitted application comes first"
    assert f"/admin/coaches/coachapplication/{approved.pk}/change/" not in page
    # every application is one click away
    everything = client.get(url + "?status=all").content.decode()
    assert f"/admin/coaches/coachapplication/{approved.pk}/change/" in everything


def test_languages_by_name_and_prices_with_their_currency(client, staff):
    application = coach_profile_start(user=CoachUserFactory())
    coach = application.coach
    coach.languages = ["de", "fr"]
    coach.save()
    coach.session_types.create(name="Focus", duration_minutes=60, price=9500, currency="eur")
    page = client.get(reverse("admin:coaches_coachprofile_change", args=[coach.pk]))
    text = page.content.decode()
    assert "German, French" in text
    assert "€95.00" in text
    review = client.get(
        reverse("admin:coaches_coachapplication_change", args=[application.pk])
    ).content.decode()
    assert "German, French" in review
