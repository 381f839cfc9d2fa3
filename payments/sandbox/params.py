"""Stripe's request format: nested-bracket form bodies, and per-endpoint parameter specs.

``decode_form`` turns ``payment_intent_data[transfer_data][destination]=acct_1`` and
``line_items[0][quantity]=1`` into nested dicts and lists. ``validate`` checks the decoded
parameters against a spec, as Stripe does: an unknown name is ``parameter_unknown``, a
missing required one ``parameter_missing``, a wrong type ``parameter_invalid_*``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from payments.sandbox import errors

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_INTEGER = re.compile(r"-?[0-9]+", re.ASCII)
# Stripe's integers are 64-bit; its metadata holds at most 50 keys of 40 characters with
# values of 500 (https://docs.stripe.com/api/metadata).
INTEGER_MAX = 2**63 - 1
METADATA_MAX_KEYS = 50
METADATA_KEY_MAX_LENGTH = 40
METADATA_VALUE_MAX_LENGTH = 500


def decode_form(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for raw_key, value in pairs:
        match = _KEY.match(raw_key)
        if not match:
            raise errors.StripeError(f"Invalid parameter name: {raw_key}", param=raw_key)
        parts = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        node: Any = root
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            key: Any = part
            if part == "":
                # `expand[]=a&expand[]=b`: append.
                key = str(len(node))
            if last:
                node[key] = value
            else:
                node = node.setdefault(key, {})
                if not isinstance(node, dict):
                    raise errors.StripeError(f"Invalid parameter name: {raw_key}", param=raw_key)
    return _lists(root)


def _lists(node: Any) -> Any:
    """Dicts whose keys are all 0..n-1 become lists, as Stripe reads ``a[0]``, ``a[1]``."""
    if not isinstance(node, dict):
        return node
    converted = {key: _lists(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


@dataclass(frozen=True)
class Spec:
    kind: str  # str, int, bool, enum, dict, list, map, any
    required: bool = False
    children: dict[str, Spec] = field(default_factory=dict)
    item: Spec | None = None
    choices: tuple[str, ...] = ()


def S(*, required: bool = False) -> Spec:
    return Spec("str", required=required)


def I(*, required: bool = False) -> Spec:  # noqa: E743 - short spec names read as a schema
    return Spec("int", required=required)


def B(*, required: bool = False) -> Spec:
    return Spec("bool", required=required)


def E(*choices: str, required: bool = False) -> Spec:
    return Spec("enum", required=required, choices=choices)


def D(children: dict[str, Spec] | None = None, *, required: bool = False) -> Spec:
    return Spec("dict", required=required, children=children or {})


def L(item: Spec, *, required: bool = False) -> Spec:
    return Spec("list", required=required, item=item)


def M(*, required: bool = False) -> Spec:
    """``metadata``: any keys, string values."""
    return Spec("map", required=required)


def ANY(*, required: bool = False) -> Spec:
    return Spec("any", required=required)


COMMON = {"expand": L(S())}
# What every list endpoint takes.
LIST = {"limit": I(), "starting_after": S(), "ending_before": S(), "created": ANY()}


def validate(params: dict[str, Any], spec: dict[str, Spec]) -> dict[str, Any]:
    """Check ``params`` against ``spec`` (plus ``expand``) and return them with types converted."""
    return _validate_dict(params, {**COMMON, **spec}, prefix="")


def _name(prefix: str, key: str) -> str:
    return f"{prefix}[{key}]" if prefix else key


def _validate_dict(params: Any, spec: dict[str, Spec], *, prefix: str) -> dict[str, Any]:
    if not isinstance(params, dict):
        raise errors.invalid(prefix, f"Invalid object: {prefix}", "parameter_invalid_object")
    for key in params:
        if key not in spec:
            raise errors.unknown(_name(prefix, key))
    result: dict[str, Any] = {}
    for key, child in spec.items():
        name = _name(prefix, key)
        if key not in params:
            if child.required:
                raise errors.missing(name)
            continue
        result[key] = _validate_value(params[key], child, name=name)
    return result


def _check_metadata(metadata: dict[str, Any], *, name: str) -> None:
    """Stripe's limits on ``metadata``: an ``invalid_request_error`` naming the first breach."""
    if len(metadata) > METADATA_MAX_KEYS:
        raise errors.StripeError(
            f"You can have up to {METADATA_MAX_KEYS} metadata keys, but you passed in "
            f"{len(metadata)}.",
            param=name,
        )
    for key, value in metadata.items():
        if len(key) > METADATA_KEY_MAX_LENGTH:
            raise errors.StripeError(
                f"Metadata keys can have up to {METADATA_KEY_MAX_LENGTH} characters, but you "
                f"passed in a key that is {len(key)} characters. Invalid key: {key[:100]}",
                param=name,
            )
        if len(str(value)) > METADATA_VALUE_MAX_LENGTH:
            raise errors.StripeError(
                f"Metadata values can have up to {METADATA_VALUE_MAX_LENGTH} characters, but you "
                f"passed in a value that is {len(str(value))} characters. Invalid value: "
                f"{str(value)[:100]}",
                param=f"{name}[{key}]",
            )


def _validate_value(value: Any, spec: Spec, *, name: str) -> Any:
    if spec.kind == "any":
        return value
    if spec.kind == "dict":
        if value == "":
            return ""
        return _validate_dict(value, spec.children, prefix=name)
    if spec.kind == "map":
        if value == "":
            return {}
        if not isinstance(value, dict) or any(isinstance(v, dict | list) for v in value.values()):
            raise errors.invalid(name, f"Invalid object: {name}", "parameter_invalid_object")
        _check_metadata(value, name=name)
        return dict(value)
    if spec.kind == "list":
        if value == "":
            return []
        if isinstance(value, dict):
            raise errors.invalid(name, f"Invalid array: {name}", "parameter_invalid_array")
        if not isinstance(value, list):
            value = [value]
        assert spec.item is not None
        return [_validate_value(v, spec.item, name=f"{name}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict | list):
        raise errors.invalid(name, f"Invalid string: {name}", "parameter_invalid_string")
    if spec.kind == "int":
        text = str(value)
        if not _INTEGER.fullmatch(text) or len(text) > 20 or abs(int(text)) > INTEGER_MAX:
            raise errors.invalid(
                name, f"Invalid integer: {text[:100]}", "parameter_invalid_integer"
            )
        return int(text)
    if spec.kind == "bool":
        if value not in ("true", "false"):
            raise errors.invalid(name, f"Invalid boolean: {value}", "parameter_invalid_boolean")
        return value == "true"
    if spec.kind == "enum":
        if value not in spec.choices:
            raise errors.invalid(
                name,
                f"Invalid {name}: must be one of {', '.join(spec.choices)}",
                "parameter_invalid_string",
            )
        return value
    if spec.required and value == "":
        raise errors.invalid(
            name,
            f"You passed an empty string for '{name}'. We assume empty values are an attempt "
            f"to unset a parameter; however '{name}' cannot be unset.",
            "parameter_invalid_empty",
        )
    return value
