"""Coaches: reads and query building."""

from __future__ import annotations

from django.conf import settings

from coaches.models import CoachProfile
from marketplace.models import User


def coach_public_url(coach: User) -> str | None:
    """The absolute URL of the coach's public profile, or None without a profile."""
    profile = CoachProfile.objects.filter(user=coach).only("slug").first()
    if profile is None:
        return None
    return f"{settings.SITE_URL}{profile.get_absolute_url()}"
