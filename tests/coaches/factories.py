from __future__ import annotations

import factory

from coaches.models import CoachProfile, SessionType, Specialization
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
