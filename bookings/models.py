"""Bookings: a client's hold on, then purchase of, a coach's time."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import IntegerRangeField, RangeOperators
from django.db import models
from django.db.models import Func, Q


class CoachTimeKey(Func):
    """``booking_coach_time_key(coach_id, starts_at, ends_at)``: one int8range per booking.

    The range is ``coach_id * 10^11 + epoch seconds`` from start to end, so two bookings'
    ranges overlap exactly when they are of the same coach and their times overlap. It lets
    a plain GiST exclusion constraint refuse double bookings without the btree_gist
    extension, which the embedded PostgreSQL does not ship. The SQL function is created in
    ``bookings/migrations/0001_initial.py``.
    """

    function = "booking_coach_time_key"
    output_field = IntegerRangeField()


class BookingStatus(models.TextChoices):
    HELD = "held", "Held"
    CONFIRMED = "confirmed", "Confirmed"
    COMPLETED = "completed", "Completed"
    NO_SHOW = "no_show", "No-show"
    CANCELLED_BY_CLIENT = "cancelled_by_client", "Cancelled by client"
    CANCELLED_BY_COACH = "cancelled_by_coach", "Cancelled by coach"
    RESCHEDULED = "rescheduled", "Rescheduled"
    EXPIRED = "expired", "Expired"


# A coach's time is taken by bookings in these states (holds included).
LIVE_STATUSES = (BookingStatus.HELD, BookingStatus.CONFIRMED)


class Booking(models.Model):
    coach = models.ForeignKey(
        "coaches.CoachProfile", on_delete=models.PROTECT, related_name="bookings"
    )
    client = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bookings"
    )
    session_type = models.ForeignKey(
        "coaches.SessionType", on_delete=models.PROTECT, related_name="bookings"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(
        max_length=24, choices=BookingStatus.choices, default=BookingStatus.HELD, db_index=True
    )
    hold_expires_at = models.DateTimeField(null=True, blank=True)
    client_time_zone = models.CharField(max_length=64, default="UTC")
    topic = models.TextField("what the client wants to work on", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_at"]
        indexes = [models.Index(fields=["coach", "starts_at"], name="booking_coach_start_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="booking_ends_after_start"
            ),
            # The database itself refuses two live bookings of one coach whose times overlap.
            ExclusionConstraint(
                name="booking_no_overlap",
                expressions=[
                    (CoachTimeKey("coach", "starts_at", "ends_at"), RangeOperators.OVERLAPS),
                ],
                condition=Q(status__in=[BookingStatus.HELD, BookingStatus.CONFIRMED]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.session_type} with {self.coach} at {self.starts_at:%Y-%m-%d %H:%M} UTC"
