"""Messaging forms."""
