"""Payments models."""
