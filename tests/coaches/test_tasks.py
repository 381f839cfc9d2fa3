"""The beat task keeps search's availability index fresh, in batches."""

from __future__ import annotations

from datetime import time

import pytest

from coaches import tasks
from coaches.models import CoachProfile, FreeWindow
from tests.coaches.factories import CoachProfileFactory, SessionTypeFactory, weekly_hours

pytestmark = pytest.mark.django_db


def test_the_beat_task_rebuilds_the_index_of_every_public_coach_in_batches(
    monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(tasks, "BATCH", 2)
    public = []
    for _ in range(3):
        coach = CoachProfileFactory(time_zone="UTC", minimum_notice_minutes=0)
        weekly_hours(coach, time(9), time(17))
        SessionTypeFactory(coach=coach)
        public.append(coach)
    hidden = CoachProfileFactory(is_approved=False)
    weekly_hours(hidden)
    SessionTypeFactory(coach=hidden)
    with django_capture_on_commit_callbacks(execute=True):
        batches = tasks.refresh_availability_index()
    assert batches == 2
    for coach in public:
        assert FreeWindow.objects.filter(coach=coach).exists()
        assert CoachProfile.objects.get(pk=coach.pk).next_available_at is not None
    assert not FreeWindow.objects.filter(coach=hidden).exists()
    # running it again replaces the windows instead of adding to them
    before = FreeWindow.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        tasks.refresh_availability_index()
    assert FreeWindow.objects.count() == before


def test_enabling_charges_indexes_the_coachs_availability_after_commit(
    django_capture_on_commit_callbacks,
):
    from coaches.services.profiles import coach_set_charges_enabled

    coach = CoachProfileFactory(time_zone="UTC", minimum_notice_minutes=0, can_take_charges=False)
    weekly_hours(coach, time(9), time(17))
    SessionTypeFactory(coach=coach)
    with django_capture_on_commit_callbacks() as callbacks:
        coach_set_charges_enabled(coach=coach.user, enabled=True)
    # nothing is indexed before the commit
    assert CoachProfile.objects.get(pk=coach.pk).next_available_at is None
    for callback in callbacks:
        callback()
    assert CoachProfile.objects.get(pk=coach.pk).next_available_at is not None
    assert CoachProfile.objects.bookable().filter(pk=coach.pk).exists()
