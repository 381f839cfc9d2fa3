"""``expand[]`` and includable fields: what a response or an event's object carries besides
the ids Stripe returns by default."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from payments.sandbox import errors, store


def expand(obj: Any, paths: list[str], *, account: str) -> Any:
    """Replace the ids named by ``expand[]`` paths (``payment_intent.latest_charge``,
    ``data.payment_intent`` on lists) with the objects they name."""
    for dotted in paths:
        _expand_path(obj, dotted.split("."))
    return obj


def _expand_path(node: Any, parts: list[str]) -> None:
    if not parts or node is None:
        return
    head, rest = parts[0], parts[1:]
    if isinstance(node, list):
        for item in node:
            _expand_path(item, parts)
        return
    if not isinstance(node, dict) or head not in node:
        raise errors.StripeError(f"This property cannot be expanded ({head}).", param="expand")
    value = node[head]
    if isinstance(value, str):
        row = store.find(value)
        if row is not None:
            value = node[head] = expanders.get(row.object_type, lambda data: data)(
                json.loads(json.dumps(row.data))
            )
    _expand_path(value, rest)


# Fields Stripe returns only when asked for with ``expand[]`` ("includable"), by object type.
INCLUDABLE = {"charge": ("refunds",)}


def without_includable(node: Any, expanded: list[str]) -> Any:
    """Drop includable fields nobody expanded (a charge's ``refunds``), as Stripe does."""
    asked = {path.split(".")[-1] for path in expanded}
    _strip(node, asked)
    return node


def _strip(node: Any, asked: set[str]) -> None:
    if isinstance(node, list):
        for item in node:
            _strip(item, asked)
    elif isinstance(node, dict):
        kind = node.get("object")
        for field_name in INCLUDABLE.get(kind, ()) if isinstance(kind, str) else ():
            if field_name not in asked:
                node.pop(field_name, None)
        for value in node.values():
            if isinstance(value, dict | list):
                _strip(value, asked)


# Hooks that complete an object when it is expanded (e.g. live balance transaction status).
expanders: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}
