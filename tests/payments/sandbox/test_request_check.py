"""Acceptance 4: every request the stripe library sends in the suite is checked against the
parameters the installed stripe package declares, and a wrong one fails the run."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import stripe

from payments.gateway import stripe_client
from payments.sandbox.request_check import check_request, sdk_routes

BASE_DIR = Path(__file__).resolve().parents[3]
API = "http://testserver/_stripe"


def test_the_routes_come_from_the_stripe_packages_own_methods():
    routes = {(route.method, route.template): route.params_class for route in sdk_routes()}
    assert routes[("POST", "/v1/accounts")] == "AccountCreateParams"
    assert routes[("POST", "/v1/checkout/sessions/{session}/expire")] == "SessionExpireParams"
    assert routes[("GET", "/v1/payouts")] == "PayoutListParams"
    assert routes[("POST", "/v1/webhook_endpoints")] == "WebhookEndpointCreateParams"


def test_a_request_as_the_product_sends_it_matches():
    body = (
        "type=express&country=US&email=a%40example.com&capabilities[transfers][requested]=true"
        "&metadata[coach_id]=7&business_profile[url]=https%3A%2F%2Fexample.com"
    )
    assert check_request("POST", f"{API}/v1/accounts", body) == []
    assert check_request("GET", f"{API}/v1/payouts?limit=100&expand[0]=data.destination", "") == []


@pytest.mark.parametrize(
    ("method", "path", "body", "problem"),
    [
        ("POST", "/v1/accounts", "colour=red", "colour: not a parameter of AccountCreateParams"),
        ("POST", "/v1/accounts", "type=expresso", "type: 'expresso' is not one of"),
        (
            "POST",
            "/v1/accounts",
            "capabilities[transfers][requested]=yes",
            "capabilities[transfers][requested]: expected a boolean",
        ),
        ("POST", "/v1/account_links", "type=account_onboarding", "account: required"),
        ("GET", "/v1/payouts?limit=many", "", "limit: expected an integer"),
        (
            "POST",
            "/v1/checkout/sessions",
            "mode=payment&line_items[0][quantity]=1&line_items[0][price_data][colour]=x",
            "line_items[0][price_data][colour]: not a parameter",
        ),
        ("POST", "/v1/teleport", "", "no method of the stripe package sends this request"),
    ],
)
def test_a_wrong_request_is_named(method, path, body, problem):
    problems = check_request(method, f"{API}{path}", body)
    assert any(problem in found for found in problems), problems


@pytest.mark.django_db
def test_a_wrong_parameter_sent_through_the_product_client_is_recorded(
    stripe_local, stripe_request_problems
):
    # when: the product's own client sends a parameter the SDK does not declare
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client().v1.accounts.create(params={"type": "express", "colour": "red"})  # type: ignore[typeddict-unknown-key]
    # then: the check saw it (taken here, so this test does not fail)
    (problem,) = stripe_request_problems.take()
    assert "POST /v1/accounts (AccountCreateParams): colour: not a parameter" in problem


def test_the_check_fails_a_test_run_that_sends_a_wrong_parameter(tmp_path):
    # given: a test module sending one wrong parameter through the product's client
    module = tmp_path / "test_wrong_request.py"
    module.write_text(
        textwrap.dedent(
            """
            import pytest, stripe
            from payments.gateway import stripe_client

            @pytest.mark.django_db
            def test_sends_a_wrong_parameter():
                with pytest.raises(stripe.InvalidRequestError):
                    stripe_client().v1.accounts.create(params={"type": "express", "colour": "red"})

            def test_sends_nothing_wrong():
                pass
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
            # the local Stripe keeps its books in the database this run already made
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
    # then: the run fails, on that test, naming the parameter
    assert result.returncode == 1, result.stdout + result.stderr
    summary = result.stdout.strip().splitlines()[-1]
    # both tests pass; the error is the wrong test's teardown (warnings may sit between)
    assert "2 passed" in summary and "1 error" in summary, result.stdout
    assert "colour: not a parameter of AccountCreateParams" in result.stdout
