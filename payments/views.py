"""Payments views."""
