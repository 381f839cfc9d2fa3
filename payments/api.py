"""Payments api."""
