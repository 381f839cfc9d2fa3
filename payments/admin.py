"""Payments admin."""
