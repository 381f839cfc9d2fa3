"""Coaches selectors."""
