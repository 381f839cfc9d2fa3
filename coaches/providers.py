"""What coaches reads from bookings, the app above it.

Slot computation needs a coach's live bookings, the public profile shows the coach's
packages and coaching plans, and a client reviews a session that has taken place: bookings
owns those facts.
Coaches sits below bookings in the layers and does not import it; bookings registers its
reader here from ``BookingsConfig.ready()`` and coaches asks ``booking_reader()`` for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from coaches.models import CoachProfile
    from marketplace.models import User

Interval = tuple[datetime, datetime]


class BookingReader(Protocol):
    """The reads coaches needs of bookings; ``bookings.selectors`` provides them."""

    def busy_intervals(
        self, *, coach_ids: Iterable[int], start: datetime, end: datetime
    ) -> dict[int, list[Interval]]:
        """Times taken by live bookings (confirmed, or held and not yet expired) overlapping
        ``[start, end)``, per coach, without the coach's buffers; one query."""
        ...

    def packages_on_offer(self, *, coach: CoachProfile) -> Sequence[Any]:
        """The packages the coach's public profile offers."""
        ...

    def plans_on_offer(self, *, coach: CoachProfile) -> Sequence[Any]:
        """The coaching plans (subscriptions) the coach's public profile offers."""
        ...

    def reviewable_booking(self, *, booking_id: int, client: User) -> Any:
        """The client's booking (with its coach and session type), or ``NotFound``."""
        ...

    def booking_is_completed(self, *, booking: Any) -> bool:
        """Whether the session has taken place, which a review requires."""
        ...


_reader: BookingReader | None = None


def register_booking_reader(reader: BookingReader) -> None:
    """Bookings calls this once, from its ``AppConfig.ready()``."""
    global _reader
    _reader = reader


def booking_reader() -> BookingReader:
    """The registered reader; ``ImproperlyConfigured`` when bookings has registered none."""
    if _reader is None:
        raise ImproperlyConfigured(
            "No booking reader is registered: the bookings app registers one in "
            "BookingsConfig.ready(); is 'bookings' in INSTALLED_APPS?"
        )
    return _reader
