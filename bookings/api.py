"""Bookings api."""
