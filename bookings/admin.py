"""Bookings admin."""
