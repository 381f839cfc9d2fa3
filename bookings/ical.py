"""iCalendar (RFC 5545) text for one booking (the e-mail's .ics) and for a personal feed."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from django.conf import settings
from django.utils import timezone

from bookings.models import Booking, BookingStatus

PRODID = "-//Coach Connect//Bookings//EN"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after a space (RFC 5545 3.1)."""
    encoded = line.encode()
    if len(encoded) <= 75:
        return line
    parts: list[str] = []
    current = b""
    for char in line:
        piece = char.encode()
        if len(current) + len(piece) > (75 if not parts else 74):
            parts.append(current.decode())
            current = b""
        current += piece
    parts.append(current.decode())
    return "\r\n ".join(parts)


def _event(booking: Booking, *, for_coach: bool) -> list[str]:
    other = booking.client.display_name if for_coach else booking.coach.user.display_name
    cancelled = booking.status in (
        BookingStatus.CANCELLED_BY_CLIENT,
        BookingStatus.CANCELLED_BY_COACH,
        BookingStatus.RESCHEDULED,
    )
    description = f"Meeting link: {booking.meeting_url}" if booking.meeting_url else ""
    if booking.topic:
        description += f"\nTopic: {booking.topic}"
    return [
        "BEGIN:VEVENT",
        f"UID:booking-{booking.pk}@coach-connect",
        f"DTSTAMP:{_utc(booking.updated_at or timezone.now())}",
        f"SEQUENCE:{booking.reschedule_count}",
        f"DTSTART:{_utc(booking.starts_at)}",
        f"DTEND:{_utc(booking.ends_at)}",
        f"SUMMARY:{_escape(f'{booking.session_type.name} with {other}')}",
        f"DESCRIPTION:{_escape(description.strip())}",
        f"LOCATION:{_escape(booking.meeting_url)}",
        f"URL:{settings.SITE_URL}{booking.get_absolute_url()}",
        f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}",
        "END:VEVENT",
    ]


def calendar(bookings: Iterable[Booking], *, for_user_id: int, name: str = "") -> str:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN"]
    if name:
        lines.append(f"X-WR-CALNAME:{_escape(name)}")
    for booking in bookings:
        lines += _event(booking, for_coach=booking.coach.user_id == for_user_id)
    lines.append("END:VCALENDAR")
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"


def booking_attachment(booking: Booking, *, for_user_id: int) -> dict[str, str]:
    text = calendar([booking], for_user_id=for_user_id)
    text = text.replace("VERSION:2.0", "VERSION:2.0\r\nMETHOD:PUBLISH", 1)
    return {"filename": "session.ics", "content": text, "mimetype": "text/calendar"}
