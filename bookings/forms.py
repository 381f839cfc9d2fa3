"""Bookings forms."""
