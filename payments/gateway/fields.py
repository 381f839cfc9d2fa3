"""Reading the fields of Stripe objects: optional values, expandable ids, timestamps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def field_value(source: Any, name: str, default: Any = None) -> Any:
    """``source[name]`` (a Stripe object or a dict; another object's attribute), or ``default``
    when the field is missing or null."""
    if source is None:
        return default
    try:
        value = source[name] if isinstance(source, dict) else getattr(source, name)
    except (KeyError, AttributeError, TypeError):
        return default
    return default if value is None else value


def plain_dict(value: Any) -> dict[str, Any]:
    """A Stripe object (not a mapping since stripe 15: ``to_dict()``) or a dict as a plain
    dict; empty for None."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return dict(value)
    return dict(value.to_dict())


def id_of(value: Any) -> str:
    """An expandable field's id, whether Stripe sent the id or the expanded object."""
    if not value:
        return ""
    if isinstance(value, str):
        return value
    return str(field_value(value, "id", ""))


def timestamp(value: int | None) -> datetime | None:
    """A Stripe Unix time as an aware UTC datetime; None when unset."""
    return datetime.fromtimestamp(value, tz=UTC) if value else None
