"""Coaches views."""
