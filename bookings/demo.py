"""Demo bookings for development: a five-session package for a few demo coaches, a monthly
coaching plan for the main demo coach, and past sessions the demo clients have reviewed."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from bookings.models import Booking, BookingStatus, CoachingPlan, Package
from bookings.services import plans
from coaches.demo import DEMO_COACHES
from coaches.models import CoachProfile
from coaches.services import reviews
from marketplace.models import User

DEMO_PACKAGE_COACHES = 3
DEMO_PACKAGE_SESSIONS = 5
DEMO_PACKAGE_DISCOUNT_PERCENT = 10
DEMO_REVIEWS = [
    (5, "Clear, kind and practical. Exactly what I needed."),
    (4, "Very helpful session, I left with a plan."),
    (5, "Great listener with sharp questions."),
]


def seed_demo_packages(coach_users: list[User]) -> list[Package]:
    """Create or refresh "Five sessions" (10% off) of the first active session type of
    coach@demo.coach and two more demo coaches. Safe to run again: keyed by coach and name."""
    packages = []
    # the main demo coach first, so the package is on the profile demo users open first
    ordered = sorted(coach_users, key=lambda user: user.email != "coach@demo.coach")
    for user in ordered[:DEMO_PACKAGE_COACHES]:
        profile = getattr(user, "coach_profile", None)
        session_type = profile and profile.session_types.filter(is_active=True).first()
        if session_type is None:
            continue
        single_total = session_type.price * DEMO_PACKAGE_SESSIONS
        package, _created = Package.objects.update_or_create(
            coach=profile,
            name="Five sessions",
            defaults={
                "session_type": session_type,
                "session_count": DEMO_PACKAGE_SESSIONS,
                "price": single_total * (100 - DEMO_PACKAGE_DISCOUNT_PERCENT) // 100,
                "currency": session_type.currency,
                "is_active": True,
            },
        )
        packages.append(package)
    return packages


DEMO_PLAN_NAME = "Monthly focus"
DEMO_PLAN_SESSIONS = 4
DEMO_PLAN_DISCOUNT_PERCENT = 15


def seed_demo_plan(coach_users: list[User]) -> CoachingPlan | None:
    """ "Monthly focus" (4 sessions a month, 15% off, 2 roll over) of coach@demo.coach's first
    active session type, its Stripe Price made on the local Stripe. Once: kept when it
    exists."""
    user = next((u for u in coach_users if u.email == "coach@demo.coach"), None)
    profile = getattr(user, "coach_profile", None) if user is not None else None
    session_type = profile and profile.session_types.filter(is_active=True).first()
    if profile is None or session_type is None:
        return None
    existing = CoachingPlan.objects.filter(coach=profile, name=DEMO_PLAN_NAME).first()
    if existing is not None:
        return existing
    price = session_type.price * DEMO_PLAN_SESSIONS * (100 - DEMO_PLAN_DISCOUNT_PERCENT) // 100
    return plans.coaching_plan_create(
        coach=profile,
        terms=plans.PlanTerms(
            name=DEMO_PLAN_NAME,
            session_type=session_type,
            sessions_per_period=DEMO_PLAN_SESSIONS,
            interval="month",
            price=price,
            rollover=True,
            rollover_cap=2,
        ),
    )


def seed_demo_reviews() -> None:
    """A few reviews of past, completed sessions with the first demo coaches (only once:
    a coach who has reviews is left alone). Needs the demo clients and coaches."""
    clients = list(User.objects.filter(email__in=["client@demo.coach", "client2@demo.coach"]))
    if not clients:
        return
    coaches = CoachProfile.objects.filter(user__email__in=[row[0] for row in DEMO_COACHES[:6]])
    for offset, coach in enumerate(coaches):
        if coach.reviews.exists():
            continue
        session_type = coach.session_types.filter(is_active=True).first()
        if session_type is None:
            continue
        for number, (rating, text) in enumerate(DEMO_REVIEWS[: 1 + offset % 3]):
            starts_at = (timezone.now() - timedelta(days=3 + number, hours=offset)).replace(
                minute=0, second=0, microsecond=0
            )
            client = clients[number % len(clients)]
            booking = Booking.objects.create(
                coach=coach,
                client=client,
                session_type=session_type,
                starts_at=starts_at,
                ends_at=starts_at + timedelta(minutes=session_type.duration_minutes),
                status=BookingStatus.COMPLETED,
                client_time_zone=client.time_zone,
            )
            reviews.review_create(booking=booking, client=client, rating=rating, text=text)
