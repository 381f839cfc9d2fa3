"""Coaches tasks."""
