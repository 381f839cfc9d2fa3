"""docs/webhooks.md lists exactly the event types of each endpoint's handler table, and
``manage.py stripe_webhook_endpoints`` enables exactly those at Stripe (the local Stripe)."""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from payments.handlers import ENDPOINTS, enabled_events
from payments.sandbox.models import WebhookEndpoint as SandboxEndpoint

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def _documented(endpoint: str) -> list[str]:
    text = DOC.read_text()
    block = re.search(
        rf"<!-- enabled-events: {endpoint} -->\n(.*?)<!-- /enabled-events -->", text, re.S
    )
    assert block, f"docs/webhooks.md has no enabled-events block for {endpoint}"
    return re.findall(r"^- `([a-z_.*]+)`$", block.group(1), re.M)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_the_documented_event_types_are_the_handler_tables(endpoint):
    assert _documented(endpoint) == enabled_events(endpoint)


@pytest.mark.django_db
def test_stripe_webhook_endpoints_creates_then_updates_both_endpoints(stripe_local):
    # given: the local Stripe knows no endpoint of ours
    stripe_local.reset()
    out = StringIO()
    # when
    call_command("stripe_webhook_endpoints", "--base-url", "https://coach.example.com", stdout=out)
    # then: both made through the API, with exactly the tables' types, secrets printed
    endpoints = {e.connect: e for e in SandboxEndpoint.objects.all()}
    assert set(endpoints) == {False, True}
    platform, connect = endpoints[False], endpoints[True]
    assert platform.url == "https://coach.example.com/payments/webhooks/stripe/"
    assert connect.url == "https://coach.example.com/payments/webhooks/stripe/connect/"
    assert platform.enabled_events == enabled_events("platform")
    assert connect.enabled_events == enabled_events("connect")
    printed = out.getvalue()
    assert f"STRIPE_WEBHOOK_SECRETS={platform.secret}" in printed
    assert f"STRIPE_CONNECT_WEBHOOK_SECRETS={connect.secret}" in printed
    # when: run again after the tables changed at Stripe's side (someone edited them)
    SandboxEndpoint.objects.update(enabled_events=["*"], status="disabled")
    again = StringIO()
    call_command(
        "stripe_webhook_endpoints", "--base-url", "https://coach.example.com", stdout=again
    )
    # then: the same two endpoints, updated, enabled, the secrets unchanged and not printed
    assert SandboxEndpoint.objects.count() == 2
    platform.refresh_from_db()
    connect.refresh_from_db()
    assert platform.enabled_events == enabled_events("platform")
    assert connect.enabled_events == enabled_events("connect")
    assert {platform.status, connect.status} == {"enabled"}
    assert "updated" in again.getvalue() and "whsec_" not in again.getvalue()
