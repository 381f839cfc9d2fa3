"""iCalendar (RFC 5545) for one booking (the e-mail's .ics) and for a personal feed.

Written with the ``icalendar`` library: line folding, text escaping and date-time values are
its job. Times are written in UTC (``DTSTART:20261203T090000Z``), which every calendar shows
in its owner's zone.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC

import icalendar
from django.conf import settings
from django.utils import timezone

from bookings.models import Booking, BookingStatus

PRODID = "-//Coach Connect//Bookings//EN"


def _event(booking: Booking, *, for_coach: bool) -> icalendar.Event:
    other = booking.client.display_name if for_coach else booking.coach.user.display_name
    cancelled = booking.status in (
        BookingStatus.CANCELLED_BY_CLIENT,
        BookingStatus.CANCELLED_BY_COACH,
        BookingStatus.RESCHEDULED,
    )
    description = f"Meeting link: {booking.meeting_url}" if booking.meeting_url else ""
    if booking.topic:
        description += f"\nTopic: {booking.topic}"
    event = icalendar.Event()
    event.add("uid", f"booking-{booking.pk}@coach-connect")
    event.add("dtstamp", (booking.updated_at or timezone.now()).astimezone(UTC))
    event.add("sequence", booking.reschedule_count)
    event.add("dtstart", booking.starts_at.astimezone(UTC))
    event.add("dtend", booking.ends_at.astimezone(UTC))
    event.add("summary", f"{booking.session_type.name} with {other}")
    event.add("description", description.strip())
    event.add("location", booking.meeting_url)
    event.add("url", f"{settings.SITE_URL}{booking.get_absolute_url()}")
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    return event


def _calendar(
    bookings: Iterable[Booking], *, for_user_id: int, name: str = "", method: str = ""
) -> str:
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if method:
        cal.add("method", method)
    if name:
        cal.add("x-wr-calname", name)
    for booking in bookings:
        cal.add_component(_event(booking, for_coach=booking.coach.user_id == for_user_id))
    return cal.to_ical().decode()


def calendar(bookings: Iterable[Booking], *, for_user_id: int, name: str = "") -> str:
    """A feed of ``bookings`` as ``for_user_id`` sees them (the other person in the title)."""
    return _calendar(bookings, for_user_id=for_user_id, name=name)


def booking_attachment(booking: Booking, *, for_user_id: int) -> dict[str, str]:
    text = _calendar([booking], for_user_id=for_user_id, method="PUBLISH")
    return {"filename": "session.ics", "content": text, "mimetype": "text/calendar"}
