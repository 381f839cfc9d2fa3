"""``expand[]`` and includable fields: what a response or an event's object carries besides
the ids Stripe returns by default."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from payments.sandbox import errors
from payments.sandbox.models import StripeObject


def expand(obj: Any, paths: list[str], *, account: str) -> Any:
    """Replace the ids named by ``expand[]`` paths (``payment_intent.latest_charge``,
    ``data.payment_intent`` on lists) with the objects they name."""
    for dotted in paths:
        _expand_path([obj], dotted.split("."))
    return obj


def _expand_path(nodes: list[Any], parts: list[str]) -> None:
    """Expand ``parts[0]`` on every node of one level at once (a list's items are its
    nodes; their ids are read in one query), then the rest of the path below."""
    level: list[dict[str, Any]] = []
    pending = list(nodes)
    while pending:
        node = pending.pop(0)
        if node is None:
            continue
        if isinstance(node, list):
            pending[:0] = node
            continue
        level.append(node)
    if not parts or not level:
        return
    head, rest = parts[0], parts[1:]
    for node in level:
        if not isinstance(node, dict) or head not in node:
            raise errors.StripeError(f"This property cannot be expanded ({head}).", param="expand")
    ids = {node[head] for node in level if isinstance(node[head], str)}
    rows = {row.stripe_id: row for row in StripeObject.objects.filter(stripe_id__in=ids)}
    children = []
    for node in level:
        value = node[head]
        if isinstance(value, str) and value in rows:
            row = rows[value]
            value = node[head] = expanders.get(row.object_type, lambda data: data)(
                json.loads(json.dumps(row.data))
            )
        children.append(value)
    _expand_path(children, rest)


# Fields Stripe returns only when asked for with ``expand[]`` ("includable"), by object type:
# a charge's refunds, an invoice's payments ("This field is not included by default. To
# include it in the response, expand the payments field").
INCLUDABLE = {"charge": ("refunds",), "invoice": ("payments",)}


def without_includable(node: Any, expanded: list[str]) -> Any:
    """Drop includable fields nobody expanded (a charge's ``refunds``), as Stripe does. A
    dotted path includes every field it passes through (``payments.data.payment``)."""
    asked = {part for path in expanded for part in path.split(".")}
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
