"""Bookings tasks."""
