"""Payments forms."""
