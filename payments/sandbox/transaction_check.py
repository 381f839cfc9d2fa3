"""No database transaction (and so no row lock) stays open while the product waits on Stripe.

A Stripe call takes Stripe a few hundred milliseconds; a transaction held across it keeps
its row locks (a coach, a booking, a payment) for all that time and a connection busy, and
rolls back work Stripe has already done if it fails afterwards. The product decides in a
short transaction, calls Stripe outside any, and records the outcome in a new short one
(the idempotency key makes a retry safe).

``open_transactions()`` names the database connections of this thread that have a
transaction open at the moment the ``stripe`` library sends a request. The in-process HTTP
client (``payments.sandbox.client``) asks it for every request when
``STRIPE_REQUEST_CHECK_FILE`` is set (the test suite) and appends what it finds, with the
product's call site, to that file; the pytest plugin ``tests/stripe_requests.py`` fails the
test that caused it.

Two kinds of transaction are not the product's and are not counted:
- the one a test case wraps each test in (Django marks its ``Atomic`` ``_from_testcase``;
  it is what ``transaction.atomic(durable=True)`` consults too);
- the ones the local Stripe itself has open when it hands control to the product in-process
  (a webhook delivered to the product's endpoint from inside the delivery's transaction):
  in production the local Stripe, like Stripe, is another process with its own connection.
  ``local_stripe_transactions()`` marks them for the duration of the hand-over.
"""

from __future__ import annotations

import contextlib
import contextvars
import site
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

from django.db import connections

_LOCAL_STRIPE_BLOCKS: contextvars.ContextVar[frozenset[int]] = contextvars.ContextVar(
    "local_stripe_atomic_blocks", default=frozenset()
)

_ROOT = Path(__file__).resolve().parent.parent.parent
_GATEWAY = _ROOT / "payments" / "gateway"
_SANDBOX = _ROOT / "payments" / "sandbox"
# The interpreter's own modules and the installed packages (the stripe library among them).
_LIBRARIES = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, *site.getsitepackages())}


@contextlib.contextmanager
def local_stripe_transactions() -> Iterator[None]:
    """The transactions open now belong to the local Stripe, not to the product it calls."""
    blocks = {
        id(block)
        for connection in connections.all(initialized_only=True)
        for block in connection.atomic_blocks
    }
    token = _LOCAL_STRIPE_BLOCKS.set(_LOCAL_STRIPE_BLOCKS.get() | blocks)
    try:
        yield
    finally:
        _LOCAL_STRIPE_BLOCKS.reset(token)


def open_transactions() -> list[str]:
    """Aliases of this thread's connections with a transaction of the product's open."""
    foreign = _LOCAL_STRIPE_BLOCKS.get()
    found = []
    for connection in connections.all(initialized_only=True):
        own = [
            block
            for block in connection.atomic_blocks
            if not getattr(block, "_from_testcase", False) and id(block) not in foreign
        ]
        manual = not connection.in_atomic_block and not connection.get_autocommit()
        if own or manual:
            found.append(connection.alias)
    return found


def call_site() -> tuple[str, str, list[str]]:
    """Where the product called Stripe: its caller outside the gateway and the gateway
    function, as ``"payments/services/refunds.py::refund_execute"`` and
    ``"payments/gateway/refunds.py::refund_create"``, and every frame of the product's (and
    the tests') code on the way there, innermost first (the ``stripe`` package, the
    interpreter's modules and the local Stripe left out)."""
    gateway = caller = ""
    chain = []
    for frame in reversed(traceback.extract_stack()):
        path = Path(frame.filename).resolve()
        if path.is_relative_to(_SANDBOX) or any(path.is_relative_to(p) for p in _LIBRARIES):
            continue
        name = path.relative_to(_ROOT) if path.is_relative_to(_ROOT) else path.name
        site = f"{name}::{frame.name}"
        chain.append(site)
        if path.is_relative_to(_GATEWAY):
            gateway = site
        elif gateway and not caller:
            caller = site
    return caller, gateway, chain


def problem(method: str, url: str, aliases: list[str]) -> dict[str, object]:
    """One request sent inside a transaction, as the check file records it."""
    caller, gateway, chain = call_site()
    path = url[url.find("/v1/") :] if "/v1/" in url else url
    return {
        "request": f"{method.upper()} {path.split('?')[0]}",
        "caller": caller,
        "gateway": gateway,
        "connections": ", ".join(aliases),
        "chain": chain,
    }
