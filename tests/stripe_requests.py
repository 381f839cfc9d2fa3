"""pytest plugin (registered by the repository's root ``conftest.py``, so the whole suite): every
request the ``stripe`` library sends to the local Stripe is checked against the parameters
the installed ``stripe`` package declares for it (its ``*Params`` TypedDicts: names, types,
``Literal`` enums, required keys), and a test that sent one that does not match fails.

The check runs in the in-process HTTP client the product's ``StripeClient`` is given
(``payments.sandbox.client.InProcessHTTPClient``, the SDK's own ``http_client`` hook), in this
process and in the Celery workers the tests start (they inherit the file's name through the
environment); mismatches are appended to one file, read after each test.

A test that sends a wrong request on purpose (the local Stripe's own refusals are what it
tests) is marked ``@pytest.mark.stripe_wrong_requests``, or takes the problems with the
``stripe_request_problems`` fixture (``take()`` returns and clears them) to assert on them.

The same client records every request sent while the product holds a database transaction
open (``payments.sandbox.transaction_check``): no transaction and no row lock stays open
across a Stripe call, and a test that makes one fails, naming the call site, unless the
site is in ``OPEN_TRANSACTION_ALLOWED`` with its reason. ``take_open_transactions()`` on the
fixture returns them to a test that makes one on purpose.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest

ENVIRONMENT = "STRIPE_REQUEST_CHECK_FILE"


# The file's name goes to the settings of this process (below) and, through the environment,
# to the workers the tests start.
if not os.environ.get(ENVIRONMENT):
    _handle, _name = tempfile.mkstemp(prefix="stripe-requests-", suffix=".jsonl")
    os.close(_handle)
    os.environ[ENVIRONMENT] = _name


def _log() -> Path:
    return Path(os.environ[ENVIRONMENT])


def _take() -> tuple[list[str], list[dict]]:
    """What the requests sent since the last call got wrong: parameters the stripe package
    does not declare, and requests sent inside an open transaction (then cleared)."""
    path = _log()
    if not path.exists():
        return [], []
    with path.open("r+", encoding="utf-8") as log:
        lines = log.read().splitlines()
        log.seek(0)
        log.truncate()
    parameters: list[str] = []
    transactions: list[dict] = []
    for line in lines:
        if not line.strip():
            continue
        entry = json.loads(line)
        if isinstance(entry, dict):
            transactions.append(entry["open_transaction"])
        else:
            parameters += entry
    return parameters, transactions


# Functions (``path::function``) allowed to have Stripe called, by them or by what they call,
# with a transaction open, each with the reason. A request whose call chain passes through
# none of them fails its test.
OPEN_TRANSACTION_ALLOWED: dict[str, str] = {}


def allowed(entry: dict) -> bool:
    return any(site in OPEN_TRANSACTION_ALLOWED for site in entry.get("chain", [entry["caller"]]))


def describe(entry: dict) -> str:
    return (
        f"{entry['request']} from {entry['caller'] or '?'} "
        f"(through {entry['gateway'] or 'the stripe library'}) "
        f"with a transaction open on {entry['connections']}"
    )


class RequestProblems:
    """What the requests sent so far got wrong, for a test that sends a wrong one."""

    def __init__(self) -> None:
        self.parameters: list[str] = []
        self.open_transactions: list[dict] = []

    def collect(self) -> None:
        parameters, transactions = _take()
        self.parameters += parameters
        self.open_transactions += transactions

    def take(self) -> list[str]:
        """Parameter problems so far (returned and cleared)."""
        self.collect()
        taken, self.parameters = self.parameters, []
        return taken

    def take_open_transactions(self) -> list[dict]:
        """Requests sent inside a transaction so far (returned and cleared): ``request``,
        ``caller``, ``gateway`` and ``connections`` of each."""
        self.collect()
        taken, self.open_transactions = self.open_transactions, []
        return taken


@pytest.fixture
def stripe_request_problems(_stripe_requests_match_the_stripe_package) -> RequestProblems:
    return _stripe_requests_match_the_stripe_package


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "stripe_wrong_requests: the test sends requests the stripe package does not declare, "
        "on purpose (the local Stripe's refusals of them are tested)",
    )


@pytest.fixture(autouse=True)
def _stripe_requests_match_the_stripe_package(request):
    from django.conf import settings

    settings.STRIPE_REQUEST_CHECK_FILE = os.environ[ENVIRONMENT]
    _take()  # nothing carried over from another test
    problems = RequestProblems()
    yield problems
    problems.collect()
    failures = []
    if problems.parameters and request.node.get_closest_marker("stripe_wrong_requests") is None:
        failures.append(
            "Requests the stripe package does not declare (its *Params types):\n  "
            + "\n  ".join(problems.parameters)
        )
    held = [entry for entry in problems.open_transactions if not allowed(entry)]
    if held:
        failures.append(
            "Stripe called with a database transaction open (decide in a transaction, call "
            "Stripe outside it, record the outcome in a new one):\n  "
            + "\n  ".join(sorted({describe(entry) for entry in held}))
        )
    if failures:
        pytest.fail("\n".join(failures), pytrace=False)


def pytest_terminal_summary(terminalreporter):
    from payments.sandbox.request_check import CHECKED

    if CHECKED["requests"]:
        terminalreporter.write_line(
            f"stripe requests checked against the stripe package's parameters: "
            f"{CHECKED['requests']} in {CHECKED['seconds']:.1f} s (this process)"
        )
