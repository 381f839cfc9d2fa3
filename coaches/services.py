"""Coaches services."""
