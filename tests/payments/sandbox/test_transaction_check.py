"""No database transaction and no row lock stays open across a Stripe call: every request the
stripe library sends in the suite is checked, and one sent inside the product's transaction
fails the test that sent it, naming the call site."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.db import transaction

from marketplace.models import User
from payments import gateway
from tests.stripe_requests import OPEN_TRANSACTION_ALLOWED, allowed

BASE_DIR = Path(__file__).resolve().parents[3]
HERE = "tests/payments/sandbox/test_transaction_check.py"


@pytest.mark.django_db
def test_a_stripe_call_under_a_row_lock_is_recorded_with_its_call_site(
    stripe_local, stripe_request_problems
):
    user = User.objects.create(email="locked@example.com")
    # when: a row is locked and Stripe called before the transaction ends
    with transaction.atomic():
        User.objects.select_for_update().get(pk=user.pk)
        gateway.balance_retrieve(stripe_account_id="")
    # then: the request, the caller and the gateway function are named (taken here, so this
    # test does not fail)
    (entry,) = stripe_request_problems.take_open_transactions()
    chain = entry.pop("chain")
    assert chain[0] == "payments/gateway/balance.py::balance_retrieve"
    assert chain[1] == entry["caller"]
    assert entry == {
        "request": "GET /v1/balance",
        "caller": (f"{HERE}::test_a_stripe_call_under_a_row_lock_is_recorded_with_its_call_site"),
        "gateway": "payments/gateway/balance.py::balance_retrieve",
        "connections": "default",
    }


@pytest.mark.django_db
def test_the_same_call_after_the_transaction_is_not_recorded(stripe_local, stripe_request_problems):
    user = User.objects.create(email="decided@example.com")
    with transaction.atomic():
        User.objects.select_for_update().get(pk=user.pk)
    gateway.balance_retrieve(stripe_account_id="")
    assert stripe_request_problems.take_open_transactions() == []


def test_no_site_calls_stripe_inside_a_transaction():
    # Every gateway call in the suite ran with no transaction of the product's open; a site
    # added here must say why.
    assert OPEN_TRANSACTION_ALLOWED == {}


def test_a_request_is_allowed_only_through_an_allowed_site():
    outside = {"caller": "bookings/services/holds.py::booking_hold", "chain": ["x.py::y"]}
    assert not allowed(outside)
    for site in OPEN_TRANSACTION_ALLOWED:
        assert allowed({"caller": "a.py::b", "chain": ["a.py::b", site]})


def test_the_check_fails_a_test_run_that_calls_stripe_inside_a_transaction(tmp_path):
    # given: a test module calling Stripe inside atomic(), and one calling it after
    module = tmp_path / "test_stripe_in_transaction.py"
    module.write_text(
        textwrap.dedent(
            """
            import pytest
            from django.db import transaction
            from payments import gateway

            @pytest.mark.django_db
            def test_calls_stripe_inside_a_transaction():
                with transaction.atomic():
                    gateway.balance_retrieve(stripe_account_id="")

            @pytest.mark.django_db
            def test_calls_stripe_after_the_transaction():
                with transaction.atomic():
                    pass
                gateway.balance_retrieve(stripe_account_id="")
            """
        )
    )
    env = {key: value for key, value in os.environ.items() if key != "STRIPE_REQUEST_CHECK_FILE"}
    # when: pytest runs it with the plugin, as make test does
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(module),
            "-q",
            "-p",
            "tests.stripe_requests",
            "--reuse-db",
            "-c",
            str(BASE_DIR / "pyproject.toml"),
            "--rootdir",
            str(BASE_DIR),
        ],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    # then: the run fails on the first test only, naming where Stripe was called from
    assert result.returncode == 1, result.stdout + result.stderr
    summary = result.stdout.strip().splitlines()[-1]
    assert "2 passed" in summary and "1 error" in summary, result.stdout
    assert "Stripe called with a database transaction open" in result.stdout
    assert (
        "GET /v1/balance from test_stripe_in_transaction.py::test_calls_stripe_inside_a_transaction"
        in result.stdout.replace("\n", "")
        or "test_calls_stripe_inside_a_transaction (through payments/gateway/balance.py"
        in result.stdout
    ), result.stdout
