"""Demo packages for development: a five-session package for a few demo coaches."""

from __future__ import annotations

from bookings.models import Package
from marketplace.models import User

DEMO_PACKAGE_COACHES = 3
DEMO_PACKAGE_SESSIONS = 5
DEMO_PACKAGE_DISCOUNT_PERCENT = 10


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
