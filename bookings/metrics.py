"""Bookings' Prometheus metrics, read from the booking history at scrape time (so holds and
confirmations made in any process count): holds made and expired, bookings confirmed.
Registered in ``BookingsConfig.ready()``; served at ``/metrics`` (docs/observability.md)."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count, Q
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from bookings.models import BookingStatus, BookingStatusChange

HOLDS_CREATED = "coach_connect_holds_created"
HOLDS_EXPIRED = "coach_connect_holds_expired"
BOOKINGS_CONFIRMED = "coach_connect_bookings_confirmed"


class BookingMetrics(Collector):
    def describe(self) -> Iterator[CounterMetricFamily]:
        # Described without values, so registering reads nothing from the database.
        yield CounterMetricFamily(HOLDS_CREATED, "Holds placed on a coach's time.")
        yield CounterMetricFamily(HOLDS_EXPIRED, "Holds that ended unpaid.")
        yield CounterMetricFamily(BOOKINGS_CONFIRMED, "Bookings confirmed by their payment.")

    def collect(self) -> Iterator[CounterMetricFamily]:
        counts = BookingStatusChange.objects.aggregate(
            held=Count("pk", filter=Q(to_status=BookingStatus.HELD)),
            expired=Count(
                "pk", filter=Q(to_status=BookingStatus.EXPIRED, from_status=BookingStatus.HELD)
            ),
            # a reschedule's new booking is not a new confirmation
            confirmed=Count(
                "pk",
                filter=Q(
                    to_status=BookingStatus.CONFIRMED,
                    from_status__in=[BookingStatus.HELD, BookingStatus.EXPIRED],
                ),
            ),
        )
        yield CounterMetricFamily(
            HOLDS_CREATED, "Holds placed on a coach's time.", value=counts["held"]
        )
        yield CounterMetricFamily(
            HOLDS_EXPIRED, "Holds that ended unpaid.", value=counts["expired"]
        )
        yield CounterMetricFamily(
            BOOKINGS_CONFIRMED, "Bookings confirmed by their payment.", value=counts["confirmed"]
        )
