"""A coach's profile: started with the application, its public fields, and whether the
coach's Stripe account can take charges."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.dispatch import Signal
from django.utils.text import slugify

from coaches.models import CoachApplication, CoachProfile, Specialization
from coaches.services.catalogue import home_catalogue_changed
from coaches.services.photos import coach_photo_sizes_make
from coaches.services.search_index import (
    availability_index_refresh,
    availability_index_refresh_later,
    coach_search_vectors_refresh,
)
from marketplace.errors import DomainError, NotAllowed
from marketplace.models import User

# Sent inside the transaction that records it, with ``coach`` (the profile) and ``payable``:
# apps above (coaching plans) act on a coach who can or can no longer be paid.
coach_payable_changed = Signal()


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
        coach_payable_changed.send(sender=CoachProfile, coach=profile, payable=enabled)
        if enabled:
            # Search's "free soon" filters and sort should see the coach at once, not at
            # the next beat run.
            availability_index_refresh_later(coach_id=profile.pk)


def _unique_slug(user: User) -> str:
    base = slugify(user.get_full_name() or user.email.split("@")[0])[:100] or "coach"
    slug, suffix = base, 2
    while CoachProfile.objects.filter(slug=slug).exists():
        slug, suffix = f"{base}-{suffix}", suffix + 1
    return slug


def _application_name(user: User) -> str:
    """The account's first and last name as the application's full name, cut to fit its
    column (each name may have 150 characters; the application's full name has 150)."""
    limit = CoachApplication._meta.get_field("full_name").max_length or 150
    return user.get_full_name()[:limit].strip()


def coach_profile_start(*, user: User) -> CoachApplication:
    """The coach's profile and application, created (as a draft) on first use.

    Only users who registered as coaches may apply.
    """
    if not user.is_coach:
        raise NotAllowed("Only coach accounts can apply. Sign up as a coach to apply.")
    with transaction.atomic():
        profile = CoachProfile.objects.filter(user=user).first()
        if profile is None:
            profile = CoachProfile.objects.create(
                user=user, slug=_unique_slug(user), time_zone=user.time_zone
            )
        application, _ = CoachApplication.objects.get_or_create(
            coach=profile, defaults={"full_name": _application_name(user)}
        )
    return application


def coach_profile_update(
    *,
    coach: CoachProfile,
    specializations: Sequence[Specialization] | None = None,
    **fields: Any,
) -> CoachProfile:
    """Change public profile fields (headline, bio, location, time zone, languages, photo,
    currency, ...) and keep the search document in step; a new photo is cut to the sizes
    pages show."""
    allowed = {
        "headline",
        "bio",
        "location",
        "time_zone",
        "country",
        "currency",
        "languages",
        "photo",
        "conferencing_url",
    }
    unknown = set(fields) - allowed
    if unknown:
        raise DomainError(f"Cannot change {', '.join(sorted(unknown))} here.")
    with transaction.atomic():
        for name, value in fields.items():
            setattr(coach, name, value)
        coach.save()
        if specializations is not None:
            coach.specializations.set(specializations)
        if "currency" in fields:
            coach.session_types.update(currency=coach.currency)
            home_catalogue_changed()
        coach_search_vectors_refresh(coach_ids=[coach.pk])
    if "time_zone" in fields:
        availability_index_refresh(coach_ids=[coach.pk])
    if fields.get("photo"):
        coach_photo_sizes_make(coach=coach)
    return coach


def coach_time_zone_follow_account(user: User) -> None:
    """The person changed their account's time zone: a coach's profile (working hours,
    slots) takes the same zone."""
    coach = CoachProfile.objects.filter(user=user).first()
    if coach is not None and coach.time_zone != user.time_zone:
        coach_profile_update(coach=coach, time_zone=user.time_zone)
