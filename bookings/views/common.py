"""What the bookings pages share: the signed-in user, a booking only its client, its
coach or staff may see, the user's time zone."""

from __future__ import annotations

from typing import cast

from django.http import Http404, HttpRequest

from bookings import selectors
from bookings.models import Booking
from marketplace.errors import DomainError
from marketplace.models import User


def signed_in_user(request: HttpRequest) -> User:
    """The signed-in user (the views below are all ``login_required``)."""
    return cast(User, request.user)


def booking_or_404(request: HttpRequest, pk: int) -> Booking:
    """The booking if the signed-in user is its client, its coach or staff; 404 otherwise."""
    try:
        return selectors.booking_for_user(user=request.user, booking_id=pk)  # type: ignore[arg-type]
    except DomainError as error:
        raise Http404(error.message) from error


def zone_of(request: HttpRequest) -> str:
    return getattr(request.user, "time_zone", "") or "UTC"
