"""Messaging api."""
