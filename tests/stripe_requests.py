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


def _take() -> list[str]:
    path = _log()
    if not path.exists():
        return []
    with path.open("r+", encoding="utf-8") as log:
        lines = log.read().splitlines()
        log.seek(0)
        log.truncate()
    return [problem for line in lines if line.strip() for problem in json.loads(line)]


class RequestProblems:
    """What the requests sent so far got wrong, for a test that sends a wrong one."""

    def take(self) -> list[str]:
        return _take()


@pytest.fixture
def stripe_request_problems() -> RequestProblems:
    return RequestProblems()


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
    yield
    problems = _take()
    if problems and request.node.get_closest_marker("stripe_wrong_requests") is None:
        pytest.fail(
            "Requests the stripe package does not declare (its *Params types):\n  "
            + "\n  ".join(problems),
            pytrace=False,
        )


def pytest_terminal_summary(terminalreporter):
    from payments.sandbox.request_check import CHECKED

    if CHECKED["requests"]:
        terminalreporter.write_line(
            f"stripe requests checked against the stripe package's parameters: "
            f"{CHECKED['requests']} in {CHECKED['seconds']:.1f} s (this process)"
        )
