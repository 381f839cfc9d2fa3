"""Messaging models."""
