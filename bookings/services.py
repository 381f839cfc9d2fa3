"""Bookings services."""
