"""Messaging tasks."""
