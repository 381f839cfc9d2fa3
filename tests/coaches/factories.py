from __future__ import annotations

import io
from datetime import date, time

import factory

from coaches.models import (
    AvailabilityRule,
    CertifyingBody,
    CoachApplication,
    CoachProfile,
    SessionType,
    Specialization,
)
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


def png_bytes(size: tuple[int, int] = (40, 30)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, "white").save(buffer, format="PNG")
    return buffer.getvalue()


PDF_BYTES = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def complete_application(*, coach: CoachProfile | None = None, **coach_fields) -> CoachApplication:
    """An unapproved coach whose application has every step saved (a draft ready to submit)."""
    from django.core.files.base import ContentFile

    from coaches.services import applications, session_types

    coach = coach or CoachProfileFactory(is_approved=False, **coach_fields)
    application = CoachApplication.objects.create(coach=coach, full_name=str(coach))
    applications.application_save_step(
        application=application,
        step="personal",
        values={
            "full_name": "Nora Novak",
            "phone": "+41 44 123 45 67",
            "location": "Zurich",
            "time_zone": "Europe/Zurich",
        },
    )
    applications.application_save_step(
        application=application,
        step="certification",
        values={
            "certifying_body": CertifyingBody.objects.get(slug="ipec"),
            "certificate_number": "IPEC-1234",
            "certification_level": "professional",
            "certified_on": date(2022, 5, 1),
        },
        certificate=(ContentFile(PDF_BYTES, name="certificate.pdf"), "application/pdf"),
    )
    applications.application_save_step(
        application=application,
        step="experience",
        values={"years_experience": 6, "other_certifications": ""},
        specializations=list(Specialization.objects.filter(slug="career")),
    )
    applications.application_save_step(
        application=application,
        step="business",
        values={
            "headline": "Career coach",
            "bio": "I help people " * 10,
            "services": "1:1",
            "languages": ["en", "de"],
            "currency": "chf",
        },
    )
    session_types.session_type_create(coach=coach, name="Session", duration_minutes=60, price=15000)
    application.refresh_from_db()
    return application
