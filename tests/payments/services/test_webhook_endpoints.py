"""Each endpoint's own handler table, the key's mode (``livemode``), payouts of coaches and
of the platform, signing-secret rotation, the Stripe CLI's one secret, restricted keys."""

from __future__ import annotations

import json
import time

import pytest
import stripe
from django.conf import settings
from django.test import Client

from payments import gateway
from payments.gateway import stripe_client
from payments.handlers import CONNECT, PLATFORM, enabled_events
from payments.models import (
    Payout,
    PayoutStatus,
    StaffAlert,
    WebhookEndpoint,
    WebhookEvent,
    WebhookEventStatus,
)
from payments.sandbox import controls, events
from payments.sandbox.models import WebhookEndpoint as SandboxEndpoint
from tests.payments.conftest import make_account

CONNECT_URL = "/payments/webhooks/stripe/connect/"
PLATFORM_URL = "/payments/webhooks/stripe/"


def _payload(event_type: str, obj: dict, *, account: str = "", livemode: bool = False) -> str:
    body = {
        "id": f"evt_rules_{time.monotonic_ns()}",
        "object": "event",
        "api_version": settings.STRIPE_API_VERSION,
        "created": int(time.time()),
        "data": {"object": obj},
        "livemode": livemode,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }
    if account:
        body["account"] = account
    return json.dumps(body)


def _post(url: str, payload: str, signature: str):
    return Client().post(
        url, data=payload, content_type="application/json", headers={"Stripe-Signature": signature}
    )


def _pay(destination: str, amount: int = 10000, fee: int = 1500) -> dict:
    session = stripe_client().v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {
                        "currency": "usd",
                        "unit_amount": amount,
                        "product_data": {"name": "Coaching session"},
                    },
                    "quantity": 1,
                }
            ],
            "payment_intent_data": {
                "application_fee_amount": fee,
                "transfer_data": {"destination": destination},
            },
            "success_url": "http://testserver/ok",
            "cancel_url": "http://testserver/cancel",
        },
        options={"idempotency_key": f"rules-session-{destination}-{amount}"},
    )
    return controls.pay_checkout_session(session.id)


@pytest.fixture
def live_local_stripe(settings, db):
    """The local Stripe, and the product, on a live-mode key (``sk_live_``)."""
    settings.SITE_URL = "http://testserver"
    settings.STRIPE_SANDBOX_SECRET_KEY = "sk_live_local_sandbox"
    stripe_client.cache_clear()
    controls.reset()
    controls.register_default_endpoints("http://testserver")
    yield controls
    stripe_client.cache_clear()


# --- livemode ------------------------------------------------------------------------------


def test_a_test_mode_account_event_on_a_live_connect_endpoint_is_ignored_not_failed(
    live_local_stripe, connect_coach, django_capture_on_commit_callbacks
):
    # given: a live platform; its coach's account, and the live endpoints of both kinds
    assert gateway.key_livemode() is True
    with django_capture_on_commit_callbacks(execute=True):
        account = make_account(connect_coach, outcome="complete")
    assert all(endpoint.livemode for endpoint in SandboxEndpoint.objects.all())
    # when: a test-mode connected account's account.updated arrives, as Stripe sends a live
    # Connect endpoint the test events of connected accounts too
    with django_capture_on_commit_callbacks(execute=True):
        event = controls.send_event("account.updated", account.stripe_account_id, livemode=False)
    # then: delivered to the Connect endpoint only, answered 200, recorded ignored at once
    (delivery,) = controls.deliveries(event["id"])
    assert delivery.endpoint.connect and delivery.last_status_code == 200
    row = WebhookEvent.objects.get(stripe_event_id=event["id"])
    assert row.livemode is False
    assert row.status == WebhookEventStatus.IGNORED
    assert row.attempts == 1 and row.next_attempt_at is None
    assert not StaffAlert.objects.filter(kind=StaffAlert.Kind.WEBHOOK_FAILED).exists()
    # and the live events of the same account were handled
    live = WebhookEvent.objects.filter(type="account.updated", livemode=True)
    assert live.exists() and {e.status for e in live} == {WebhookEventStatus.SUCCEEDED}


def test_a_live_platform_endpoint_never_gets_test_events_and_test_endpoints_no_live_ones(
    live_local_stripe, connect_coach, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        account = make_account(connect_coach, outcome="complete")
        payment = _pay(account.stripe_account_id)
    # a test-mode platform event is for the test endpoints, of which there are none
    event = controls.send_event("checkout.session.completed", payment["id"], livemode=False)
    assert controls.deliveries(event["id"]) == []
    # a live endpoint made in test mode (the other mode) does not get live events
    SandboxEndpoint.objects.update(livemode=False)
    event = controls.send_event("account.updated", account.stripe_account_id)
    assert event["livemode"] is True
    assert controls.deliveries(event["id"]) == []


def test_a_live_event_reaching_a_test_key_is_ignored(
    stripe_local, connect_coach, django_capture_on_commit_callbacks
):
    # given: our key is a test key; a live event signed with the endpoint's secret
    account = make_account(connect_coach)
    assert gateway.key_livemode() is False
    payload = _payload(
        "account.updated",
        {"id": account.stripe_account_id, "object": "account"},
        account=account.stripe_account_id,
        livemode=True,
    )
    signature = events.sign(payload, settings.STRIPE_CONNECT_WEBHOOK_SECRETS[0])
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(CONNECT_URL, payload, signature)
    # then
    assert response.status_code == 200
    row = WebhookEvent.objects.get()
    assert row.status == WebhookEventStatus.IGNORED
    assert not StaffAlert.objects.exists()


# --- one handler table per endpoint ----------------------------------------------------------


def test_each_endpoint_handles_only_the_types_of_its_own_table():
    platform, connect = set(enabled_events(PLATFORM)), set(enabled_events(CONNECT))
    assert {"account.updated", "capability.updated", "payout.paid"} <= connect
    assert not {"account.updated", "capability.updated", "payout.paid"} & platform
    assert "checkout.session.completed" in platform
    assert "checkout.session.completed" not in connect


@pytest.mark.parametrize(
    ("event_type", "obj"),
    [
        ("capability.updated", {"id": "card_payments", "object": "capability", "account": ""}),
        ("payout.paid", {"id": "po_platform", "object": "payout"}),
        ("payout.failed", {"id": "po_platform", "object": "payout"}),
        ("checkout.session.completed", {"id": "cs_test_other", "object": "checkout.session"}),
    ],
)
def test_an_event_on_the_wrong_endpoint_is_ignored_not_failed(
    stripe_local, django_capture_on_commit_callbacks, event_type, obj
):
    # given: the platform's own capability or payout on the platform endpoint, or a platform
    # type on the Connect endpoint
    url, secret = (
        (CONNECT_URL, settings.STRIPE_CONNECT_WEBHOOK_SECRETS[0])
        if event_type.startswith("checkout")
        else (PLATFORM_URL, settings.STRIPE_WEBHOOK_SECRETS[0])
    )
    account = "acct_someone" if url == CONNECT_URL else ""
    payload = _payload(event_type, obj, account=account)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(url, payload, events.sign(payload, secret))
    # then
    assert response.status_code == 200
    row = WebhookEvent.objects.get()
    assert row.status == WebhookEventStatus.IGNORED
    assert row.next_attempt_at is None
    assert not StaffAlert.objects.exists()


# --- payouts -------------------------------------------------------------------------------


@pytest.mark.parametrize("outcome", ["paid", "failed", "canceled"])
def test_a_coachs_payout_lifecycle_is_mirrored_from_the_connect_endpoint(
    stripe_local, active_account, django_capture_on_commit_callbacks, outcome
):
    # given: money available on the coach's account
    controls.set_available_delay(0)
    with django_capture_on_commit_callbacks(execute=True):
        _pay(active_account.stripe_account_id)
    # when: the coach pays it out and it ends as chosen
    with django_capture_on_commit_callbacks(execute=True):
        payout = controls.make_payout(active_account.stripe_account_id, outcome=outcome)
    assert Payout.objects.get(stripe_payout_id=payout["id"]).status == (
        PayoutStatus.CANCELED if outcome == "canceled" else PayoutStatus.PENDING
    )
    if outcome != "canceled":
        # Stripe submits it to the bank: in transit
        with django_capture_on_commit_callbacks(execute=True):
            controls.submit_payout(payout["id"])
        assert Payout.objects.get(stripe_payout_id=payout["id"]).status == PayoutStatus.IN_TRANSIT
        with django_capture_on_commit_callbacks(execute=True):
            controls.payout_arrive(payout["id"])
    # then
    row = Payout.objects.get(stripe_payout_id=payout["id"])
    assert row.status == outcome
    assert row.account == active_account
    types = [e.type for e in WebhookEvent.objects.filter(object_id=payout["id"]).order_by("id")]
    assert types == (
        ["payout.created", "payout.canceled"]
        if outcome == "canceled"
        else ["payout.created", "payout.updated", f"payout.{outcome}"]
    )
    assert {e.status for e in WebhookEvent.objects.filter(object_id=payout["id"])} == {
        WebhookEventStatus.SUCCEEDED
    }
    assert set(
        WebhookEvent.objects.filter(object_id=payout["id"]).values_list("endpoint", flat=True)
    ) == {WebhookEndpoint.CONNECT}
    assert StaffAlert.objects.filter(kind=StaffAlert.Kind.PAYOUT_FAILED).exists() == (
        outcome == "failed"
    )
    if outcome != "paid":  # the money is back in the balance
        assert controls.balance(active_account.stripe_account_id)["usd"]["available"] == 8500


@pytest.mark.parametrize("outcome", ["paid", "failed", "canceled"])
def test_the_platforms_payouts_are_ignored_on_the_platform_endpoint(
    stripe_local, active_account, django_capture_on_commit_callbacks, outcome
):
    # given: the platform's application fee is available
    controls.set_available_delay(0)
    with django_capture_on_commit_callbacks(execute=True):
        _pay(active_account.stripe_account_id)
    fee_available = controls.balance("")["usd"]["available"]
    assert fee_available > 0
    # when: the platform pays it out to its bank
    with django_capture_on_commit_callbacks(execute=True):
        payout = controls.make_payout("", outcome=outcome)
        if outcome != "canceled":
            controls.payout_arrive(payout["id"])
    # then: the platform's events arrived on the platform endpoint and were ignored
    assert payout["amount"] == fee_available
    received = WebhookEvent.objects.filter(object_id=payout["id"]).order_by("id")
    assert [e.type for e in received] == (
        ["payout.created", "payout.canceled"]
        if outcome == "canceled"
        else ["payout.created", "payout.updated", f"payout.{outcome}"]
    )
    assert {(e.endpoint, e.status) for e in received} == {
        (WebhookEndpoint.PLATFORM, WebhookEventStatus.IGNORED)
    }
    assert not Payout.objects.exists()
    assert not StaffAlert.objects.exists()
    expected_available = 0 if outcome == "paid" else fee_available
    assert controls.balance("")["usd"]["available"] == expected_available


def test_a_payout_is_canceled_through_the_api_only_while_pending(stripe_local, active_account):
    controls.set_available_delay(0)
    _pay(active_account.stripe_account_id)
    options = {"stripe_account": active_account.stripe_account_id}
    payout = stripe_client().v1.payouts.create(
        params={"amount": 1000, "currency": "usd"}, options=options
    )
    canceled = stripe_client().v1.payouts.cancel(payout.id, options=options)
    assert canceled.status == "canceled"
    with pytest.raises(stripe.InvalidRequestError, match="pending"):
        stripe_client().v1.payouts.cancel(payout.id, options=options)


# --- signing secrets -----------------------------------------------------------------------


def test_every_secret_of_an_endpoint_verifies_during_a_rotation(stripe_local, settings):
    # given: the endpoint's new secret and the old one, both configured
    settings.STRIPE_WEBHOOK_SECRETS = ["whsec_new_secret", "whsec_old_secret"]
    payload = _payload("customer.created", {"id": "cus_1", "object": "customer"})
    # then: signed with either, accepted; with another, refused
    assert _post(PLATFORM_URL, payload, events.sign(payload, "whsec_old_secret")).status_code == 200
    payload = _payload("customer.created", {"id": "cus_2", "object": "customer"})
    assert _post(PLATFORM_URL, payload, events.sign(payload, "whsec_new_secret")).status_code == 200
    payload = _payload("customer.created", {"id": "cus_3", "object": "customer"})
    assert _post(PLATFORM_URL, payload, events.sign(payload, "whsec_other")).status_code == 400
    assert WebhookEvent.objects.count() == 2


def test_a_header_with_several_signatures_verifies_if_any_matches(stripe_local, settings):
    payload = _payload("customer.created", {"id": "cus_1", "object": "customer"})
    header = events.sign(payload, ["whsec_unknown", settings.STRIPE_WEBHOOK_SECRETS[0]])
    assert header.count("v1=") == 2
    assert _post(PLATFORM_URL, payload, header).status_code == 200
    wrong = events.sign(payload, ["whsec_unknown", "whsec_unknown_too"])
    assert _post(PLATFORM_URL, payload, wrong).status_code == 400


def test_the_local_stripe_signs_with_old_and_new_secret_while_one_is_rolled(
    stripe_local, settings, connect_coach, django_capture_on_commit_callbacks
):
    # given: the Connect endpoint's secret rolled; the product still knows only the old one
    connect = SandboxEndpoint.objects.get(connect=True)
    old_secret = connect.secret
    new_secret = controls.roll_endpoint_secret(connect.stripe_id, old_expires_in=3600)
    # when: an event is delivered, then the product is given the new secret as well
    with django_capture_on_commit_callbacks(execute=True):
        account = make_account(connect_coach, outcome="complete")
    first = WebhookEvent.objects.filter(stripe_account_id=account.stripe_account_id)
    assert first.exists()
    settings.STRIPE_CONNECT_WEBHOOK_SECRETS = [new_secret, old_secret]
    with django_capture_on_commit_callbacks(execute=True):
        controls.update_account(account.stripe_account_id, past_due=["external_account"])
    # then: every delivery was accepted; after the old secret expires only the new one signs
    assert {d.last_status_code for d in controls.deliveries()} == {200}
    controls.advance_clock(3601)
    assert events.signing_secrets(SandboxEndpoint.objects.get(pk=connect.pk)) == [new_secret]
    settings.STRIPE_CONNECT_WEBHOOK_SECRETS = [old_secret]
    with django_capture_on_commit_callbacks(execute=True):
        controls.update_account(account.stripe_account_id, past_due=[])
    assert controls.deliveries()[-1].last_status_code == 400


def test_stripe_cli_forwarding_with_one_secret_is_accepted_on_both_endpoints(
    settings, stripe_local, connect_coach, django_capture_on_commit_callbacks
):
    # given: `stripe listen --forward-to .../payments/webhooks/stripe/ --forward-connect-to
    # .../payments/webhooks/stripe/connect/` prints one secret, set for both endpoints
    cli_secret = "whsec_" + "c1" * 32
    settings.STRIPE_WEBHOOK_SECRETS = [cli_secret]
    settings.STRIPE_CONNECT_WEBHOOK_SECRETS = [cli_secret]
    account = make_account(connect_coach)
    platform_event = _payload("customer.created", {"id": "cus_cli", "object": "customer"})
    connect_event = _payload(
        "account.updated",
        {"id": account.stripe_account_id, "object": "account"},
        account=account.stripe_account_id,
    )
    # when: the CLI forwards each, signed with its secret, as Stripe would sign
    with django_capture_on_commit_callbacks(execute=True):
        platform = _post(PLATFORM_URL, platform_event, events.sign(platform_event, cli_secret))
        connect = _post(CONNECT_URL, connect_event, events.sign(connect_event, cli_secret))
    # then
    assert (platform.status_code, connect.status_code) == (200, 200)
    by_endpoint = {e.endpoint: e for e in WebhookEvent.objects.all()}
    assert by_endpoint[WebhookEndpoint.PLATFORM].status == WebhookEventStatus.IGNORED
    assert by_endpoint[WebhookEndpoint.CONNECT].status == WebhookEventStatus.SUCCEEDED


# --- restricted keys -------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["rk_test_local_sandbox", "rk_live_local_sandbox"])
def test_the_product_works_on_a_restricted_key(
    settings, db, connect_coach, django_capture_on_commit_callbacks, key
):
    # given: the product (and the local Stripe) on a restricted key of either mode
    settings.SITE_URL = "http://testserver"
    settings.STRIPE_SANDBOX_SECRET_KEY = key
    stripe_client.cache_clear()
    try:
        controls.reset()
        controls.register_default_endpoints("http://testserver")
        # when: a coach onboards, and Stripe tells us through the Connect endpoint
        with django_capture_on_commit_callbacks(execute=True):
            account = make_account(connect_coach, outcome="complete")
        account.refresh_from_db()
        # then: the key's mode is read from the rk_ prefix, and the events are ours
        assert gateway.key_livemode() is key.startswith("rk_live_")
        assert account.charges_enabled
        updates = WebhookEvent.objects.filter(type="account.updated")
        assert updates.exists()
        assert {e.status for e in updates} == {WebhookEventStatus.SUCCEEDED}
        assert {e.livemode for e in updates} == {key.startswith("rk_live_")}
    finally:
        stripe_client.cache_clear()


def test_the_local_stripe_accepts_its_restricted_key_and_refuses_others(stripe_local):
    from payments.sandbox.client import InProcessHTTPClient

    def client(key: str) -> stripe.StripeClient:
        return stripe.StripeClient(
            api_key=key,
            stripe_version=settings.STRIPE_API_VERSION,
            base_addresses={"api": settings.STRIPE_API_BASE},
            http_client=InProcessHTTPClient(),
        )

    assert client("rk_test_local_sandbox").v1.balance.retrieve().object == "balance"
    with pytest.raises(stripe.AuthenticationError):
        client("rk_test_someone_else").v1.balance.retrieve()
    with pytest.raises(stripe.AuthenticationError):
        client("pk_test_local_sandbox").v1.balance.retrieve()
