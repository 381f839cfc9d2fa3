"""Messaging services."""
