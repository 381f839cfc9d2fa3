from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "bookings"

    def ready(self) -> None:
        from bookings import selectors
        from coaches.providers import register_booking_reader

        # coaches, a layer below, reads live bookings, packages and reviewable sessions
        register_booking_reader(selectors)
