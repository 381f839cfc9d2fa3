"""Payments tasks."""
