from __future__ import annotations

from datetime import time

import factory

from coaches.models import AvailabilityRule, CoachProfile, SessionType, Specialization
from tests.factories import CoachUserFactory


class SpecializationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Specialization
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Specialisation {n}")
    slug = factory.Sequence(lambda n: f"specialisation-{n}")


class CoachProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CoachProfile

    user = factory.SubFactory(CoachUserFactory)
    slug = factory.Sequence(lambda n: f"coach-{n}")
    headline = "Certified coach"
    bio = "I help people grow."
    time_zone = "America/New_York"
    is_approved = True
    can_take_charges = True


class SessionTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SessionType

    coach = factory.SubFactory(CoachProfileFactory)
    name = "Coaching session"
    duration_minutes = 60
    price = 12000
    currency = "usd"


class AvailabilityRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AvailabilityRule

    coach = factory.SubFactory(CoachProfileFactory)
    weekday = 0
    start_time = time(9)
    end_time = time(17)


def weekly_hours(coach: CoachProfile, start: time = time(9), end: time = time(17)) -> None:
    """Open ``coach`` every day of the week from ``start`` to ``end`` (their time zone)."""
    AvailabilityRule.objects.bulk_create(
        AvailabilityRule(coach=coach, weekday=weekday, start_time=start, end_time=end)
        for weekday in range(7)
    )
