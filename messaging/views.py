"""Messaging views."""
