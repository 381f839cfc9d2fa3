"""Demo coaches for development: approved, bookable, across time zones. Safe to run again."""

from __future__ import annotations

import importlib
import io
from datetime import time, timedelta

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from coaches.models import (
    ApplicationStatus,
    AvailabilityRule,
    CertificationLevel,
    CertifyingBody,
    CoachApplication,
    CoachProfile,
    MembershipPlan,
    SessionType,
    Specialization,
)
from coaches.services import (
    applications,
    availability,
    memberships,
    profiles,
    search_index,
    session_types,
)
from marketplace.demo import demo_user
from marketplace.models import Role, User

# email, first, last, zone, country, currency, languages, specialisations, headline,
# sessions [(name, minutes, price in minor units)], weekly hours (Mon-Fri unless noted)
DEMO_COACHES = [
    (
        "coach@demo.coach",
        "Maya",
        "Brooks",
        "America/New_York",
        "US",
        "usd",
        ["en", "es"],
        ["career", "leadership"],
        "Career moves for mid-level managers",
        [("Discovery call", 30, 4500), ("Career coaching", 60, 12000)],
        [(time(9), time(12)), (time(13), time(17))],
    ),
    (
        "anna.keller@demo.coach",
        "Anna",
        "Keller",
        "Europe/Zurich",
        "CH",
        "chf",
        ["de", "en", "fr"],
        ["executive", "leadership"],
        "Executive presence and leadership transitions",
        [("Executive session", 60, 22000), ("Intensive", 90, 31000)],
        [(time(8), time(12)), (time(14), time(18))],
    ),
    (
        "kenji.sato@demo.coach",
        "Kenji",
        "Sato",
        "Asia/Tokyo",
        "JP",
        "jpy",
        ["ja", "en"],
        ["productivity", "business"],
        "Focus, habits and calm productivity",
        [("Focus session", 45, 8000), ("Business coaching", 60, 15000)],
        [(time(10), time(13)), (time(15), time(19))],
    ),
    (
        "olivia.hart@demo.coach",
        "Olivia",
        "Hart",
        "Europe/London",
        "GB",
        "gbp",
        ["en"],
        ["life", "mindset"],
        "Confidence and clarity for big life decisions",
        [("Clarity call", 30, 3500), ("Life coaching", 60, 8500)],
        [(time(9), time(17))],
    ),
    (
        "lucas.moreau@demo.coach",
        "Lucas",
        "Moreau",
        "Europe/Paris",
        "FR",
        "eur",
        ["fr", "en"],
        ["business", "performance"],
        "Founders' coach: growth without burnout",
        [("Founder session", 60, 14000)],
        [(time(9), time(12)), (time(14), time(19))],
    ),
    (
        "sofia.garcia@demo.coach",
        "Sofía",
        "García",
        "Europe/Madrid",
        "ES",
        "eur",
        ["es", "en"],
        ["wellness", "life"],
        "Wellbeing and sustainable routines",
        [("Wellbeing session", 50, 7000)],
        [(time(10), time(14)), (time(16), time(20))],
    ),
    (
        "james.carter@demo.coach",
        "James",
        "Carter",
        "America/Chicago",
        "US",
        "usd",
        ["en"],
        ["performance", "mindset"],
        "Performance coaching for athletes and teams",
        [("Performance session", 60, 15000), ("Quick check-in", 30, 6000)],
        [(time(7), time(11)), (time(16), time(20))],
    ),
    (
        "priya.nair@demo.coach",
        "Priya",
        "Nair",
        "Asia/Kolkata",
        "IN",
        "usd",
        ["en", "hi"],
        ["career", "relationships"],
        "Career and relationships for young professionals",
        [("Coaching session", 60, 5000)],
        [(time(18), time(22))],
    ),
    (
        "liam.walsh@demo.coach",
        "Liam",
        "Walsh",
        "America/Los_Angeles",
        "US",
        "usd",
        ["en"],
        ["business", "executive"],
        "Scaling leaders in tech companies",
        [("Leadership session", 60, 25000)],
        [(time(8), time(15))],
    ),
    (
        "emma.schmidt@demo.coach",
        "Emma",
        "Schmidt",
        "Europe/Berlin",
        "DE",
        "eur",
        ["de", "en"],
        ["relationships", "wellness"],
        "Couples and family coaching",
        [("Couples session", 90, 16000), ("Individual session", 60, 11000)],
        [(time(9), time(13)), (time(15), time(18))],
    ),
    (
        "chloe.martin@demo.coach",
        "Chloé",
        "Martin",
        "America/Toronto",
        "CA",
        "cad",
        ["en", "fr"],
        ["life", "career"],
        "Career changes after 40",
        [("Coaching session", 60, 13000)],
        [(time(12), time(20))],
    ),
    (
        "jack.thompson@demo.coach",
        "Jack",
        "Thompson",
        "Australia/Sydney",
        "AU",
        "aud",
        ["en"],
        ["leadership", "productivity"],
        "New managers' first 100 days",
        [("Manager session", 60, 16000), ("Deep dive", 120, 29000)],
        [(time(8), time(12)), (time(13), time(16))],
    ),
]

BIO = (
    "I am a certified coach with years of experience helping people move forward. "
    "Sessions are practical, warm and focused on what you want to change; together we set "
    "clear goals, find what holds you back and agree on the next small steps."
)


def ensure_managed_lists() -> None:
    """The managed lists (certifying bodies, specialisations) of migration 0003."""
    lists = importlib.import_module("coaches.migrations.0003_managed_lists")
    for name, slug in lists.CERTIFYING_BODIES:
        CertifyingBody.objects.get_or_create(slug=slug, defaults={"name": name})
    for name, slug in lists.SPECIALIZATIONS:
        Specialization.objects.get_or_create(slug=slug, defaults={"name": name})


def seed_demo_coaches() -> list[User]:
    """Create or refresh the demo coaches (approved, able to take charges). Returns the
    coach users; their reviews come with the demo bookings (``bookings.demo``)."""
    ensure_managed_lists()
    ipec = CertifyingBody.objects.get(slug="ipec")
    icf = CertifyingBody.objects.get(slug="icf")
    users = []
    for index, (
        email,
        first,
        last,
        zone,
        country,
        currency,
        languages,
        specs,
        headline,
        sessions,
        hours,
    ) in enumerate(DEMO_COACHES):
        with transaction.atomic():
            user = demo_user(
                email=email, first_name=first, last_name=last, role=Role.COACH, time_zone=zone
            )
            application = profiles.coach_profile_start(user=user)
            coach = application.coach
            coach.location = zone.split("/")[-1].replace("_", " ")
            coach.country = country
            coach.can_take_charges = True
            coach.buffer_after_minutes = 15
            coach.minimum_notice_minutes = 12 * 60
            coach.save()
            profiles.coach_profile_update(
                coach=coach,
                headline=headline,
                bio=BIO,
                time_zone=zone,
                currency=currency,
                languages=languages,
                specializations=list(Specialization.objects.filter(slug__in=specs)),
            )
            CoachApplication.objects.filter(pk=application.pk).update(
                full_name=f"{first} {last}",
                phone="+1 555 0100",
                certifying_body=ipec if index % 2 == 0 else icf,
                certificate_number=f"DEMO-{index + 1:04d}",
                certification_level=[
                    CertificationLevel.ASSOCIATE,
                    CertificationLevel.PROFESSIONAL,
                    CertificationLevel.MASTER,
                ][index % 3],
                certified_on=timezone.now().date() - timedelta(days=400 + 90 * index),
                years_experience=3 + index,
                services="One-to-one coaching by video.",
                completed_steps=list(applications.APPLICATION_STEPS),
            )
            if not SessionType.objects.filter(coach=coach).exists():
                for name, minutes, price in sessions:
                    session_types.session_type_create(
                        coach=coach, name=name, duration_minutes=minutes, price=price
                    )
            if not AvailabilityRule.objects.filter(coach=coach).exists():
                weekdays = range(6) if index % 3 == 0 else range(5)
                availability.availability_rules_replace(
                    coach=coach, weekly={day: hours for day in weekdays}
                )
            application.refresh_from_db()
            if not application.certificate_file and application.is_editable:
                applications.application_save_step(
                    application=application,
                    step="certification",
                    values={},
                    certificate=(
                        ContentFile(_certificate_png(), name="certificate.png"),
                        "image/png",
                    ),
                )
                application.refresh_from_db()
            if application.status == ApplicationStatus.DRAFT:
                applications.application_submit(application=application, by=user)
                application.refresh_from_db()
            if application.status == ApplicationStatus.SUBMITTED:
                staff = User.objects.filter(is_staff=True).order_by("pk").first()
                applications.application_approve(application=application, by=staff or user)
        users.append(user)
    search_index.availability_index_refresh(
        coach_ids=CoachProfile.objects.filter(user__in=users).values_list("pk", flat=True)
    )
    return users


def _certificate_png() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (600, 400), "white")
    ImageDraw.Draw(image).text((40, 180), "Demo coaching certificate", fill="black")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


# The platform memberships offered on a demo site: (name, price, interval, fee_bps, words).
DEMO_MEMBERSHIP_PLANS = (
    ("Pro", 2900, "month", 800, "For coaches with a full week: keep more of every session."),
    ("Studio", 29000, "year", 500, "A year paid at once, the lowest platform fee."),
)


def seed_demo_membership_plans() -> list[MembershipPlan]:
    """The demo memberships, each with its Stripe Product and Price (made on the Stripe the
    caller reaches: ``seed_demo`` reaches the local one in-process). Once: a plan that
    exists by name is kept."""
    made = []
    for name, price, interval, fee_bps, description in DEMO_MEMBERSHIP_PLANS:
        plan, _ = MembershipPlan.objects.get_or_create(
            name=name,
            defaults={
                "price": price,
                "interval": interval,
                "fee_bps": fee_bps,
                "description": description,
            },
        )
        if not plan.has_current_price:
            plan = memberships.membership_plan_stripe_sync(plan_id=plan.pk)
        made.append(plan)
    return made
