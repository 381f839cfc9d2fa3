"""Demo accounts, shared by ``seed_demo`` and by each app's demo data."""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.utils import encrypt

from marketplace.models import Role, User

DEMO_PASSWORD = "demo-pass-2026"
# Staff sign in with TOTP (docs/security.md). The demo staff account's secret is public like
# the demo password: `make run` prints it for an authenticator app, and
# `python manage.py demo_totp` prints the code it shows now.
DEMO_STAFF_TOTP_SECRET = "COACHCONNECTDEMOSTAFFTOTPSECRETX"

DEMO_USERS: list[dict[str, Any]] = [
    {
        "email": "admin@demo.coach",
        "first_name": "Ada",
        "last_name": "Admin",
        "role": Role.CLIENT,
        "is_staff": True,
        "is_superuser": True,
        "time_zone": "UTC",
    },
    {
        "email": "client@demo.coach",
        "first_name": "Chloe",
        "last_name": "Client",
        "role": Role.CLIENT,
        "time_zone": "Europe/London",
    },
    {
        "email": "client2@demo.coach",
        "first_name": "Carlos",
        "last_name": "Cliente",
        "role": Role.CLIENT,
        "time_zone": "America/Mexico_City",
    },
    {
        "email": "coach@demo.coach",
        "first_name": "Maya",
        "last_name": "Brooks",
        "role": Role.COACH,
        "time_zone": "America/New_York",
    },
]


def demo_user(
    *,
    email: str,
    first_name: str,
    last_name: str,
    role: str,
    time_zone: str,
    is_staff: bool = False,
    is_superuser: bool = False,
) -> User:
    """Create or refresh one demo user with a verified e-mail address."""
    user, _ = User.objects.update_or_create(
        email=email,
        defaults={
            "first_name": first_name,
            "last_name": last_name,
            "role": role,
            "time_zone": time_zone,
            "is_staff": is_staff,
            "is_superuser": is_superuser,
        },
    )
    user.set_password(DEMO_PASSWORD)
    user.save(update_fields=["password"])
    EmailAddress.objects.update_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    if is_staff or is_superuser:
        Authenticator.objects.update_or_create(
            user=user,
            type=Authenticator.Type.TOTP,
            defaults={"data": {"secret": encrypt(DEMO_STAFF_TOTP_SECRET)}},
        )
    return user


def seed_demo_users() -> list[User]:
    return [demo_user(**fields) for fields in DEMO_USERS]
