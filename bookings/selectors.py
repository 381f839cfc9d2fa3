"""Bookings selectors."""
