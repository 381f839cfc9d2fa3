"""Coaches models."""
