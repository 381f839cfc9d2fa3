"""Coaches forms."""
