from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "bookings"

    def ready(self) -> None:
        from bookings import purposes, selectors
        from coaches.providers import register_booking_reader

        # payments, a layer below, tells bookings what happens to booking and package payments
        purposes.register()

        # a coach who can no longer be paid has their coaching plans paused
        from bookings.services import plans
        from coaches.services.profiles import coach_payable_changed

        coach_payable_changed.connect(
            plans.plans_coach_payable_changed, dispatch_uid="plans-coach-payable"
        )

        # coaches, a layer below, reads live bookings, packages and reviewable sessions
        register_booking_reader(selectors)

        # coaches who cannot be paid but have sessions ahead, on the staff operations page
        from bookings import operations

        operations.register_sections()

        # holds, expiries and confirmations at /metrics
        from bookings.metrics import BookingMetrics
        from marketplace.observability import register_collector

        register_collector("bookings", BookingMetrics())
