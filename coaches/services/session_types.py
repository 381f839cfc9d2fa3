"""What a coach sells: session types, and the profile's lowest price that search sorts by."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Min

from coaches.models import CoachProfile, SessionType
from coaches.services.catalogue import home_catalogue_changed
from coaches.services.search_index import availability_index_refresh
from marketplace.errors import DomainError


def coach_min_price_refresh(*, coach: CoachProfile) -> None:
    price = coach.session_types.filter(is_active=True).aggregate(low=Min("price"))["low"]
    CoachProfile.objects.filter(pk=coach.pk).update(min_price=price)
    coach.min_price = price
    home_catalogue_changed()


def session_type_create(
    *, coach: CoachProfile, name: str, duration_minutes: int, price: int
) -> SessionType:
    """A new session type in the coach's currency (``price`` in minor units)."""
    if not 15 <= duration_minutes <= 480:
        raise DomainError("A session lasts 15 minutes to 8 hours.", fields={"duration_minutes": []})
    with transaction.atomic():
        session_type = SessionType.objects.create(
            coach=coach,
            name=name,
            duration_minutes=duration_minutes,
            price=price,
            currency=coach.currency,
        )
        coach_min_price_refresh(coach=coach)
    availability_index_refresh(coach_ids=[coach.pk])
    return session_type


def session_type_deactivate(*, session_type: SessionType) -> None:
    """Stop selling a session type; existing bookings keep it."""
    with transaction.atomic():
        session_type.is_active = False
        session_type.save(update_fields=["is_active"])
        coach_min_price_refresh(coach=session_type.coach)
    availability_index_refresh(coach_ids=[session_type.coach_id])
