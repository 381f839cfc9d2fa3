"""Coaches admin."""
