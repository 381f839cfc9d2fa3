"""Messaging selectors."""
