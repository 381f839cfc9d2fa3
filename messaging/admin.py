"""Messaging admin."""
