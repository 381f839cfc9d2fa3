"""The requests the product sends, checked against the parameters the ``stripe`` package
declares for them: every ``*Params`` TypedDict it ships (``stripe.params``) with its names,
types, ``Literal`` enums and required keys.

``check_request(method, url, body)`` finds the SDK method that sends ``METHOD /v1/...`` (read
from the package's service modules: each method's ``params`` annotation and the path it
requests), decodes the form-encoded parameters as Stripe does, and returns what does not
match the declaration (an empty list when all does). The index of routes is built once per
process; each TypedDict's resolved declaration is cached, so a check costs a walk of the
request's own parameters.

The suite runs it on every request through the in-process client
(``payments.sandbox.client.InProcessHTTPClient``) when ``STRIPE_REQUEST_CHECK_FILE`` is set:
problems are appended there as JSON lines, and the pytest plugin ``tests/stripe_requests.py``
fails the test that caused them.
"""

from __future__ import annotations

import ast
import collections.abc
import functools
import importlib
import json
import os
import re
import tempfile
import time
import types
import typing
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import stripe
import typing_extensions

from payments.sandbox.errors import StripeError
from payments.sandbox.params import decode_form

_STRIPE_DIR = Path(stripe.__file__).parent
_INTEGER = re.compile(r"-?[0-9]+")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
# Keys of ``stripe.RequestOptions``, which every top-level Params class inherits: they are
# sent as headers, never as parameters.
_OPTIONS = frozenset(stripe.RequestOptions.__annotations__)


# What this process has checked: requests, and seconds spent (the index included).
CHECKED = {"requests": 0, "seconds": 0.0}


@dataclass(frozen=True)
class SdkRoute:
    method: str
    template: str
    pattern: re.Pattern[str]
    params_module: str
    params_class: str

    @property
    def params(self) -> type:
        return getattr(importlib.import_module(self.params_module), self.params_class)


def _pattern(template: str) -> re.Pattern[str]:
    """``/v1/accounts/{account}`` matches ``/v1/accounts/acct_1``."""
    return re.compile("^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template)) + "$")


def _service_files() -> list[Path]:
    return [
        path
        for path in _STRIPE_DIR.rglob("_*_service.py")
        if "v2" not in path.relative_to(_STRIPE_DIR).parts
    ]


def _routes_of(path: Path) -> list[SdkRoute]:
    tree = ast.parse(path.read_text())
    imports: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and ".params" in f".{node.module}":
            for alias in node.names:
                imports[alias.asname or alias.name] = node.module
    routes = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef):  # the async twins send the same requests
            continue
        params_arg = next((arg for arg in node.args.args if arg.arg == "params"), None)
        if params_arg is None or params_arg.annotation is None:
            continue
        names = re.findall(r"\w+Params\b", ast.unparse(params_arg.annotation))
        if not names or names[0] not in imports:
            continue
        for call in ast.walk(node):
            if not (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr == "_request"
                and len(call.args) >= 2
                and isinstance(call.args[0], ast.Constant)
            ):
                continue
            target = call.args[1]
            if isinstance(target, ast.Call) and isinstance(target.func, ast.Attribute):
                target = target.func.value
            if not isinstance(target, ast.Constant) or not str(target.value).startswith("/v1/"):
                continue
            template = str(target.value)
            routes.append(
                SdkRoute(
                    method=str(call.args[0].value).upper(),
                    template=template,
                    pattern=_pattern(template),
                    params_module=imports[names[0]],
                    params_class=names[0],
                )
            )
    return routes


@functools.cache
def sdk_routes() -> tuple[SdkRoute, ...]:
    """Every ``/v1`` request the SDK can send with its Params class, literal paths first.

    Reading the service modules takes a few seconds, so the index is kept in a file per
    ``stripe`` version and location (the Celery workers a test starts read it in
    milliseconds)."""
    cache = Path(tempfile.gettempdir()) / (
        f"stripe-{stripe.VERSION}-routes-{zlib.crc32(str(_STRIPE_DIR).encode()):08x}.json"
    )
    try:
        rows = json.loads(cache.read_text())
    except (OSError, ValueError):
        found = {(r.method, r.template): r for p in _service_files() for r in _routes_of(p)}
        rows = [[r.method, r.template, r.params_module, r.params_class] for r in found.values()]
        partial = cache.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(rows))
        partial.replace(cache)
    routes = [
        SdkRoute(
            method=method,
            template=template,
            pattern=_pattern(template),
            params_module=module,
            params_class=name,
        )
        for method, template, module, name in rows
    ]
    return tuple(sorted(routes, key=lambda r: (r.template.count("{"), r.template)))


@functools.cache
def route_for(method: str, path: str) -> SdkRoute | None:
    return next((r for r in sdk_routes() if r.method == method and r.pattern.match(path)), None)


@functools.cache
def declared_fields(typed_dict: type) -> tuple[dict[str, Any], frozenset[str]]:
    """A TypedDict's fields with their annotations resolved, and its required keys."""
    module = importlib.import_module(typed_dict.__module__)
    namespace = {**vars(typing), **vars(typing_extensions), **vars(module)}
    # A top-level Params class inherits every key of RequestOptions (TypedDicts keep no
    # bases to ask): those are headers, not parameters.
    options = _OPTIONS if set(typed_dict.__annotations__) >= _OPTIONS else frozenset()
    fields = {
        name: _resolve(annotation, namespace)
        for name, annotation in typed_dict.__annotations__.items()
        if name not in options
    }
    return fields, frozenset(getattr(typed_dict, "__required_keys__", ())) - options


def _resolve(annotation: Any, namespace: dict[str, Any]) -> Any:
    """An annotation as a small tree: a TypedDict class, a primitive type, or a tuple
    ``("union", branches)``, ``("literal", choices)``, ``("list", item)``, ``("map", value)``."""
    if isinstance(annotation, str):
        return _resolve(eval(annotation, namespace), namespace)  # noqa: S307 - the SDK's own
    if isinstance(annotation, typing.ForwardRef):
        return _resolve(annotation.__forward_arg__, namespace)
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is None:
        return annotation
    if origin is typing.Literal:
        return ("literal", args)
    if origin in (typing_extensions.NotRequired, typing_extensions.Required):
        return _resolve(args[0], namespace)
    if origin in (typing.Union, types.UnionType):
        branches = tuple(_resolve(arg, namespace) for arg in args)
        # ``Literal[...] | str`` is how the SDK declares an enum while staying open to values
        # a later API version adds: for this version the enum is the declaration. (A
        # ``Literal[''] | str`` is a string that may be emptied, not an enum.)
        enums = [
            b for b in branches if isinstance(b, tuple) and b[0] == "literal" and b[1] != ("",)
        ]
        if enums and str in branches:
            branches = tuple(b for b in branches if b is not str)
        return ("union", branches) if len(branches) > 1 else branches[0]
    if origin in (list, tuple, collections.abc.Sequence, collections.abc.Iterable):
        return ("list", _resolve(args[0], namespace) if args else Any)
    if origin in (dict, collections.abc.Mapping):
        return ("map", _resolve(args[1], namespace) if len(args) > 1 else Any)
    return Any


def _is_typed_dict(annotation: Any) -> bool:
    return isinstance(annotation, type) and hasattr(annotation, "__required_keys__")


def problems_in(value: Any, annotation: Any, name: str) -> list[str]:
    """What in the decoded ``value`` does not match ``annotation`` (form values are text)."""
    if annotation is Any or annotation is object:
        return []
    if _is_typed_dict(annotation):
        if not isinstance(value, dict):
            return [f"{name}: expected an object ({annotation.__name__}), got {value!r}"]
        fields, required = declared_fields(annotation)
        found = [
            f"{_join(name, key)}: not a parameter of {annotation.__name__}"
            for key in value
            if key not in fields
        ]
        found += [
            f"{_join(name, key)}: required by {annotation.__name__}, missing"
            for key in sorted(required - set(value))
        ]
        for key, item in value.items():
            if key in fields:
                found += problems_in(item, fields[key], _join(name, key))
        return found
    if isinstance(annotation, tuple):
        kind, detail = annotation
        if kind == "union":
            branches = [problems_in(value, branch, name) for branch in detail]
            return [] if any(not branch for branch in branches) else min(branches, key=len)
        if kind == "literal":
            if value in detail or (value in ("true", "false") and (value == "true") in detail):
                return []
            return [f"{name}: {value!r} is not one of {', '.join(map(repr, detail))}"]
        if kind == "list":
            if value == "":
                return []  # an empty list is sent as an empty value
            if not isinstance(value, list):
                return [f"{name}: expected a list, got {value!r}"]
            return [
                problem
                for index, item in enumerate(value)
                for problem in problems_in(item, detail, f"{name}[{index}]")
            ]
        if not isinstance(value, dict):  # a map
            return [f"{name}: expected an object, got {value!r}"]
        return [
            problem
            for key, item in value.items()
            for problem in problems_in(item, detail, _join(name, key))
        ]
    if isinstance(value, dict | list):
        kind = getattr(annotation, "__name__", str(annotation))
        return [f"{name}: expected {kind}, got {value!r}"]
    if annotation is bool:
        return [] if value in ("true", "false") else [f"{name}: expected a boolean, got {value!r}"]
    if annotation is int:
        if _INTEGER.fullmatch(value):
            return []
        return [f"{name}: expected an integer, got {value!r}"]
    if annotation is float:
        return [] if _NUMBER.fullmatch(value) else [f"{name}: expected a number, got {value!r}"]
    return []  # str (and anything textual)


def _join(prefix: str, key: str) -> str:
    return f"{prefix}[{key}]" if prefix else key


def check_request(method: str, url: str, body: str | bytes | None) -> list[str]:
    """Problems of one request the ``stripe`` library sent (empty: it matches the SDK)."""
    started = time.perf_counter()
    try:
        return _check(method, url, body)
    finally:
        CHECKED["requests"] += 1
        CHECKED["seconds"] += time.perf_counter() - started


def _check(method: str, url: str, body: str | bytes | None) -> list[str]:
    method = method.upper()
    parts = urlsplit(url)
    path = parts.path[parts.path.find("/v1/") :] if "/v1/" in parts.path else parts.path
    sdk_route = route_for(method, path)
    if sdk_route is None:
        return [f"{method} {path}: no method of the stripe package sends this request"]
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if body:
        text = body.decode() if isinstance(body, bytes) else body
        pairs += parse_qsl(text, keep_blank_values=True)
    try:
        params = decode_form(pairs)
    except StripeError as error:
        return [f"{method} {path}: {error.message}"]
    found = problems_in(params, sdk_route.params, "")
    return [f"{method} {path} ({sdk_route.params_class}): {problem}" for problem in found]
