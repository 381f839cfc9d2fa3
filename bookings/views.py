"""Bookings views."""
