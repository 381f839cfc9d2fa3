"""Reminders before a confirmed session: 24 hours and 1 hour before, each sent once."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from bookings import notifications
from bookings.models import Booking, BookingStatus


def bookings_send_reminders(*, now: datetime | None = None) -> int:
    """Send the 24-hour and 1-hour reminders that are due (each once)."""
    now = now or timezone.now()
    sent = 0
    for field, window in (
        ("reminder_24h_sent_at", timedelta(hours=24)),
        ("reminder_1h_sent_at", timedelta(hours=1)),
    ):
        due = Booking.objects.filter(
            status=BookingStatus.CONFIRMED,
            starts_at__gt=now,
            starts_at__lte=now + window,
            **{f"{field}__isnull": True},
        ).values_list("pk", flat=True)
        for booking_id in due[:500]:
            with transaction.atomic():
                booking = (
                    Booking.objects.select_for_update(of=("self",))
                    .select_related("coach__user", "client", "session_type")
                    .get(pk=booking_id)
                )
                if getattr(booking, field) is not None or booking.status != BookingStatus.CONFIRMED:
                    continue
                setattr(booking, field, now)
                booking.save(update_fields=[field, "updated_at"])
                notifications.reminder(booking, hours=int(window.total_seconds() // 3600))
                sent += 1
    return sent
