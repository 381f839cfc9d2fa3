"""Coaches: every state change of a coach profile."""

from __future__ import annotations

from django.db import transaction

from coaches.models import CoachProfile
from marketplace.models import User


def coach_set_charges_enabled(*, coach: User, enabled: bool) -> None:
    """Record whether the coach's Stripe account can take charges (driven by payments).

    A coach is bookable only when approved and able to take charges, so turning this off
    makes them unbookable at once; existing bookings stay. A no-op when the user has no
    coach profile yet.
    """
    with transaction.atomic():
        profile = CoachProfile.objects.select_for_update().filter(user=coach).first()
        if profile is None or profile.can_take_charges == enabled:
            return
        profile.can_take_charges = enabled
        profile.save(update_fields=["can_take_charges", "updated_at"])
