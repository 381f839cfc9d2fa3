"""Coaches api."""
