"""Reading and writing Stripe objects, ids, the sandbox clock and list pagination."""

from __future__ import annotations

import secrets
import string
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from django.conf import settings

from marketplace.checks import stripe_key_livemode
from payments.sandbox import errors
from payments.sandbox.models import SandboxState, StripeObject

_ALPHABET = string.ascii_letters + string.digits
T = TypeVar("T")


def new_id(prefix: str, length: int = 24) -> str:
    """A Stripe-style id: ``acct_`` + 16 characters, ``pi_`` + 24, ``cs_test_`` + 58, ..."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def state(*, lock: bool = False) -> SandboxState:
    """The single sandbox state row (created on first use). ``lock`` takes its row lock."""
    rows = SandboxState.objects.select_for_update() if lock else SandboxState.objects.all()
    row = rows.filter(pk=1).first()
    if row is None:
        SandboxState.objects.get_or_create(pk=1)
        row = rows.get(pk=1)
    return row


# What an API request (or a payment on the hosted page) reads of the sandbox-wide state — the
# clock offset, the delivery switches, the chosen outcomes — and of the webhook endpoints is
# read at most once for the whole request (``request_scope``): a request's objects share one
# clock, and a Checkout Session is not three reads of the state row. Read lazily, on first
# use: the start of a request takes no lock and waits for nothing. Only the controls change
# the state, never a request.
_request_cache: ContextVar[dict[str, Any] | None] = ContextVar(
    "sandbox_request_cache", default=None
)


@contextmanager
def request_scope() -> Iterator[None]:
    """Within the block, the state row and the endpoints are read once and reused."""
    token = _request_cache.set({})
    try:
        yield
    finally:
        _request_cache.reset(token)


def request_cached(name: str, load: Callable[[], T]) -> T:
    """``load()``, remembered for the rest of the request (``request_scope``); outside a
    request, ``load()`` every time."""
    cache = _request_cache.get()
    if cache is None:
        return load()
    if name not in cache:
        cache[name] = load()
    return cache[name]


def request_forget(name: str) -> None:
    """The request changed what ``name`` holds (an endpoint was made): read it again."""
    cache = _request_cache.get()
    if cache is not None:
        cache.pop(name, None)


def current_state() -> SandboxState:
    """The state row as the request being answered sees it (read once per request)."""
    return request_cached("state", state)


def clock_offset() -> int:
    """Seconds ``advance_clock`` has moved the sandbox clock ahead of the wall clock."""
    return int(current_state().clock_offset_seconds)


# While a test clock runs what fell due (``frozen_at``), "now" is that moment on the clock:
# the invoices, charges and balance transactions made then carry its time, as on Stripe.
_frozen_at: ContextVar[int | None] = ContextVar("sandbox_frozen_at", default=None)


@contextmanager
def frozen_at(moment: int) -> Iterator[None]:
    """Within the block, ``now()`` is ``moment`` (a test clock's time)."""
    token = _frozen_at.set(moment)
    try:
        yield
    finally:
        _frozen_at.reset(token)


def now() -> int:
    """The sandbox clock: wall-clock Unix time plus the offset ``advance_clock`` added (or,
    within ``frozen_at``, a test clock's moment)."""
    frozen = _frozen_at.get()
    if frozen is not None:
        return frozen
    return int(time.time()) + clock_offset()


def hosted_page_url(path: str) -> str:
    """The address of one of the local Stripe's hosted pages (Checkout, the customer
    portal, an invoice), served by the site under ``/_stripe/``."""
    return f"{settings.SITE_URL}/_stripe/{path}"


def current_livemode() -> bool:
    """The local Stripe's mode: its key's (``STRIPE_SANDBOX_SECRET_KEY``, ``sk_test_`` unless a
    test asks for ``sk_live_``). The objects it makes and its events carry it as ``livemode``."""
    return bool(stripe_key_livemode(settings.STRIPE_SANDBOX_SECRET_KEY))


def insert(
    obj: dict[str, Any], *, account: str = "", internal: dict[str, Any] | None = None
) -> StripeObject:
    if "livemode" in obj and obj.get("object") != "event":
        obj["livemode"] = current_livemode()
    return StripeObject.objects.create(
        stripe_id=obj["id"],
        object_type=obj["object"],
        account=account,
        created=obj.get("created") or now(),
        data=obj,
        internal=internal or {},
    )


def save(row: StripeObject) -> StripeObject:
    row.save(update_fields=["data", "internal"])
    return row


def get(
    stripe_id: str,
    object_type: str,
    *,
    account: str | None = None,
    lock: bool = False,
    kind: str | None = None,
    param: str = "id",
) -> StripeObject:
    """The object, or Stripe's ``resource_missing`` 404.

    ``account`` (when not None) restricts to objects owned by that account ("" = platform),
    as the ``Stripe-Account`` header does.
    """
    query = StripeObject.objects.filter(stripe_id=stripe_id, object_type=object_type)
    if account is not None:
        query = query.filter(account=account)
    if lock:
        query = query.select_for_update()
    row = query.first()
    if row is None:
        raise errors.no_such(kind or object_type.split(".")[-1].replace("_", " "), stripe_id, param)
    return row


def find(stripe_id: str) -> StripeObject | None:
    return StripeObject.objects.filter(stripe_id=stripe_id).first()


def list_page(
    object_type: str,
    *,
    account: str,
    url: str,
    params: dict[str, Any],
    filters: dict[str, Any] | None = None,
    json_filters: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Stripe list object, newest first, with ``limit``/``starting_after``/``ending_before``."""
    limit = params.get("limit", 10)
    if not 1 <= limit <= 100:
        raise errors.invalid(
            "limit",
            "Invalid limit: must be an integer between 1 and 100",
            "parameter_invalid_integer",
        )
    query = StripeObject.objects.filter(object_type=object_type, account=account)
    if filters:
        query = query.filter(**filters)
    for key, value in (json_filters or {}).items():
        query = query.filter(**{f"data__{key}": value})
    created = params.get("created")
    if isinstance(created, dict):
        unknown = set(created) - {"gt", "gte", "lt", "lte"}
        if unknown:
            raise errors.unknown(f"created[{sorted(unknown)[0]}]")
        for op, value in created.items():
            query = query.filter(**{f"created__{op}": _timestamp(value, f"created[{op}]")})
    elif created is not None:
        query = query.filter(created=_timestamp(created, "created"))
    reverse = False
    if params.get("starting_after"):
        cursor = get(params["starting_after"], object_type, account=account, param="starting_after")
        query = query.filter(created__lte=cursor.created).exclude(
            created=cursor.created, id__gte=cursor.id
        )
    elif params.get("ending_before"):
        cursor = get(params["ending_before"], object_type, account=account, param="ending_before")
        query = query.filter(created__gte=cursor.created).exclude(
            created=cursor.created, id__lte=cursor.id
        )
        reverse = True
    ordered = query.order_by("created", "id") if reverse else query.order_by("-created", "-id")
    rows = list(ordered[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    if reverse:
        rows.reverse()
    return {
        "object": "list",
        "data": [row.data for row in rows],
        "has_more": has_more,
        "url": url,
    }


def _timestamp(value: Any, param: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise errors.invalid(
            param, f"Invalid integer: {value}", "parameter_invalid_integer"
        ) from None
