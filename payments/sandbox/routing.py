"""The route table of the local Stripe's API: each endpoint module registers its handlers
with ``route``; ``api.handle`` finds them in ``ROUTES``."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from payments.sandbox.params import Spec


@dataclass
class Context:
    """Who is calling: the platform (``account == ""``) or, with ``Stripe-Account``, a
    connected account."""

    account: str = ""
    idempotency_key: str | None = None
    request_id: str = ""
    expand: list[str] = field(default_factory=list)

    @property
    def request(self) -> dict[str, Any]:
        return {"id": self.request_id, "idempotency_key": self.idempotency_key}


Handler = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    spec: dict[str, Spec]
    connect_allowed: bool = True


ROUTES: list[Route] = []


def route(
    method: str, path: str, spec: dict[str, Spec] | None = None, *, connect_allowed: bool = True
) -> Callable[[Handler], Handler]:
    """Register ``handler(ctx, params, **path_ids)`` for ``METHOD /v1/...`` (``{id}`` parts)."""
    regex = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$"

    def register(handler: Handler) -> Handler:
        ROUTES.append(Route(method, re.compile(regex), handler, spec or {}, connect_allowed))
        return handler

    return register
