from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "bookings"

    def ready(self) -> None:
        from bookings import purposes, selectors
        from coaches.providers import register_booking_reader

        # payments, a layer below, tells bookings what happens to booking and package payments
        purposes.register()

        # coaches, a layer below, reads live bookings, packages and reviewable sessions
        register_booking_reader(selectors)

        # coaches who cannot be paid but have sessions ahead, on the staff operations page
        from bookings import operations

        operations.register_sections()

        # holds, expiries and confirmations at /metrics
        from bookings.metrics import BookingMetrics
        from marketplace.observability import register_collector

        register_collector("bookings", BookingMetrics())
