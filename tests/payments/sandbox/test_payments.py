"""Checkout, charges, refunds, transfers, disputes, payouts: Stripe's documented behaviour."""

from __future__ import annotations

import pytest
import stripe
from django.test import Client

from payments.sandbox import controls
from payments.sandbox.checkout import PaymentDeclined
from payments.sandbox.errors import StripeError

pytestmark = pytest.mark.django_db


@pytest.fixture
def coach_account(stripe_client, sandbox):
    account = stripe_client.v1.accounts.create(
        params={
            "type": "express",
            "capabilities": {
                "card_payments": {"requested": True},
                "transfers": {"requested": True},
            },
        }
    )
    controls.complete_onboarding(account.id)
    return account


def _session(stripe_client, destination=None, amount=10000, fee=1500, **extra):
    params = {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {
                    "currency": "usd",
                    "unit_amount": amount,
                    "product_data": {"name": "Coaching"},
                },
                "quantity": 1,
            }
        ],
        "success_url": "https://example.test/ok?s={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://example.test/cancel",
        **extra,
    }
    if destination:
        params["payment_intent_data"] = {
            "application_fee_amount": fee,
            "transfer_data": {"destination": destination},
        }
    return stripe_client.v1.checkout.sessions.create(params=params)


def _all_events():
    from payments.sandbox.models import StripeObject

    return [row.data for row in StripeObject.objects.filter(object_type="event")]


def test_declined_card_fails_the_intent_and_leaves_the_session_open(stripe_client, coach_account):
    session = _session(stripe_client, coach_account.id)
    with pytest.raises(PaymentDeclined) as declined:
        controls.pay_checkout_session(session.id, card="4000000000000002")
    assert declined.value.code == "card_declined"
    assert declined.value.decline_code == "generic_decline"
    session = stripe_client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["payment_intent"]}
    )
    assert session.status == "open" and session.payment_status == "unpaid"
    assert session.payment_intent.status == "requires_payment_method"
    assert session.payment_intent.last_payment_error.code == "card_declined"
    types = [e["type"] for e in _all_events()]
    assert "payment_intent.payment_failed" in types and "charge.failed" in types
    assert "transfer.created" not in types
    # Paying again with a good card completes the same session and intent.
    paid = controls.pay_checkout_session(session.id)
    assert paid["status"] == "complete"
    assert paid["payment_intent"] == session.payment_intent.id


def test_insufficient_funds_card(stripe_client, coach_account):
    session = _session(stripe_client, coach_account.id)
    with pytest.raises(PaymentDeclined) as declined:
        controls.pay_checkout_session(session.id, card="4000000000009995")
    assert declined.value.decline_code == "insufficient_funds"
    charge = stripe_client.v1.charges.list(params={"limit": 1}).data[0]
    assert charge.status == "failed"
    assert charge.outcome.reason == "insufficient_funds"


def test_authentication_card_fails_without_approval_and_succeeds_with_it(
    stripe_client, coach_account
):
    session = _session(stripe_client, coach_account.id)
    with pytest.raises(PaymentDeclined) as declined:
        controls.pay_checkout_session(session.id, card="4000002500003155", authenticate=False)
    assert declined.value.code == "payment_intent_authentication_failure"
    paid = controls.pay_checkout_session(session.id, card="4000002500003155")
    assert paid["payment_status"] == "paid"
    intent = stripe_client.v1.payment_intents.retrieve(
        paid["payment_intent"], params={"expand": ["latest_charge"]}
    )
    assert intent.latest_charge.payment_method_details.card.three_d_secure.result == "authenticated"


def test_dispute_card_is_disputed_and_cannot_be_refunded(stripe_client, coach_account):
    session = _session(stripe_client, coach_account.id)
    paid = controls.pay_checkout_session(session.id, card="4000000000000259")
    assert paid["payment_status"] == "paid"
    intent = stripe_client.v1.payment_intents.retrieve(paid["payment_intent"])
    charge = stripe_client.v1.charges.retrieve(intent.latest_charge)
    assert charge.disputed is True
    dispute = stripe_client.v1.disputes.list(params={"charge": charge.id}).data[0]
    assert dispute.amount == 10000 and dispute.status == "needs_response"
    assert dispute.balance_transactions[0].fee == 1500
    assert "charge.dispute.created" in [e["type"] for e in _all_events()]
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.refunds.create(params={"payment_intent": intent.id})
    assert caught.value.code == "charge_disputed"


def test_refund_errors(stripe_client, coach_account):
    paid = controls.pay_checkout_session(_session(stripe_client, coach_account.id).id)
    intent_id = paid["payment_intent"]
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.refunds.create(params={"payment_intent": intent_id, "amount": 10001})
    assert caught.value.code == "amount_too_large"
    stripe_client.v1.refunds.create(params={"payment_intent": intent_id})
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.refunds.create(params={"payment_intent": intent_id, "amount": 1})
    assert caught.value.code == "charge_already_refunded"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.refunds.create(params={})
    assert caught.value.code == "parameter_missing"


def test_full_refund_without_refunding_the_fee_leaves_the_coach_owing_it(
    stripe_client, coach_account
):
    paid = controls.pay_checkout_session(_session(stripe_client, coach_account.id).id)
    refund = stripe_client.v1.refunds.create(
        params={"payment_intent": paid["payment_intent"], "reverse_transfer": True}
    )
    reversal = stripe_client.v1.transfers.reversals.list(
        stripe_client.v1.charges.retrieve(
            stripe_client.v1.payment_intents.retrieve(paid["payment_intent"]).latest_charge
        ).transfer
    ).data[0]
    assert reversal.amount == 10000 and reversal.source_refund == refund.id
    connected = controls.balance(coach_account.id)["usd"]
    assert connected["available"] + connected["pending"] == 10000 - 1500 - 10000
    platform = controls.balance()["usd"]
    assert platform["available"] + platform["pending"] == 1500 - 320


def test_session_validation(stripe_client, coach_account):
    now = controls.now()
    with pytest.raises(stripe.InvalidRequestError) as caught:
        _session(stripe_client, coach_account.id, expires_at=now + 60)
    assert caught.value.param == "expires_at"
    with pytest.raises(stripe.InvalidRequestError):
        _session(stripe_client, coach_account.id, expires_at=now + 25 * 3600)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        _session(stripe_client, coach_account.id, fee=20000)
    assert caught.value.param == "payment_intent_data[application_fee_amount]"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.checkout.sessions.create(
            params={
                "mode": "payment",
                "line_items": [
                    {
                        "price_data": {
                            "currency": "usd",
                            "unit_amount": 1000,
                            "product_data": {"name": "x"},
                        },
                        "quantity": 1,
                    }
                ],
                "payment_intent_data": {"application_fee_amount": 100},
            }
        )
    assert "destination" in caught.value.user_message
    unboarded = stripe_client.v1.accounts.create(params={"type": "express"})
    with pytest.raises(stripe.InvalidRequestError) as caught:
        _session(stripe_client, unboarded.id)
    assert caught.value.code == "insufficient_capabilities_for_transfer"


def test_expire_endpoint_and_clock_expiry(stripe_client, coach_account):
    session = _session(stripe_client, coach_account.id)
    expired = stripe_client.v1.checkout.sessions.expire(session.id)
    assert expired.status == "expired"
    assert expired.url is None  # present only while the session is open
    assert "This Checkout Session has expired" in Client().get(session.url).content.decode()
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.checkout.sessions.expire(session.id)
    short = _session(stripe_client, coach_account.id, expires_at=controls.now() + 1800)
    controls.advance_clock(1799)
    assert stripe_client.v1.checkout.sessions.retrieve(short.id).status == "open"
    controls.advance_clock(2)
    assert stripe_client.v1.checkout.sessions.retrieve(short.id).status == "expired"
    expired_events = [e for e in _all_events() if e["type"] == "checkout.session.expired"]
    assert {e["data"]["object"]["id"] for e in expired_events} == {session.id, short.id}
    with pytest.raises(StripeError, match="expired"):
        controls.pay_checkout_session(short.id)


def test_separate_transfer_needs_available_balance_or_a_source_transaction(
    stripe_client, coach_account
):
    # given: a platform charge whose funds are still pending
    paid = controls.pay_checkout_session(_session(stripe_client, amount=5000).id)
    charge_id = stripe_client.v1.payment_intents.retrieve(paid["payment_intent"]).latest_charge
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.transfers.create(
            params={"amount": 1000, "currency": "usd", "destination": coach_account.id}
        )
    assert caught.value.code == "balance_insufficient"
    # when: tied to the charge, the transfer may use its pending funds
    transfer = stripe_client.v1.transfers.create(
        params={
            "amount": 1000,
            "currency": "usd",
            "destination": coach_account.id,
            "source_transaction": charge_id,
            "transfer_group": "package-7",
        }
    )
    assert transfer.source_transaction == charge_id
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.transfers.create(
            params={
                "amount": 4001,
                "currency": "usd",
                "destination": coach_account.id,
                "source_transaction": charge_id,
            }
        )
    # and once available, a plain transfer works
    controls.advance_clock(3 * 86400)
    stripe_client.v1.transfers.create(
        params={"amount": 500, "currency": "usd", "destination": coach_account.id}
    )
    listed = stripe_client.v1.transfers.list(params={"transfer_group": "package-7"})
    assert [t.id for t in listed.data] == [transfer.id]
    reversal = stripe_client.v1.transfers.reversals.create(transfer.id, params={"amount": 400})
    assert reversal.amount == 400
    transfer = stripe_client.v1.transfers.retrieve(transfer.id)
    assert transfer.amount_reversed == 400 and transfer.reversed is False
    assert "transfer.reversed" in [e["type"] for e in _all_events()]


def test_available_card_funds_the_platform_at_once(stripe_client, sandbox):
    controls.pay_checkout_session(_session(stripe_client, amount=20000).id, card="4000000000000077")
    balance = stripe_client.v1.balance.retrieve()
    assert balance.available[0].amount == 20000 - (580 + 30)
    assert balance.pending[0].amount == 0


def test_payouts_follow_the_schedule_and_a_bad_bank_account_fails(stripe_client, sandbox):
    # given: a coach paid out weekly on Fridays, with a bank account payouts fail to
    account = stripe_client.v1.accounts.create(
        params={
            "type": "express",
            "capabilities": {"transfers": {"requested": True}},
            "settings": {
                "payouts": {"schedule": {"interval": "weekly", "weekly_anchor": "friday"}}
            },
        }
    )
    controls.complete_onboarding(
        account.id, bank_account={"routing_number": "110000000", "account_number": "000111111116"}
    )
    controls.pay_checkout_session(_session(stripe_client, account.id).id)
    # when: eight days pass (one Friday after the funds are available)
    controls.advance_clock(10 * 86400)
    # then
    payouts = stripe_client.v1.payouts.list(options={"stripe_account": account.id}).data
    assert len(payouts) == 1
    from datetime import UTC, datetime

    assert datetime.fromtimestamp(payouts[0].created, UTC).strftime("%A") == "Friday"
    assert payouts[0].status == "failed"
    assert payouts[0].failure_code == "no_account"
    assert "payout.failed" in [e["type"] for e in _all_events()]
    # The money came back and payouts are off until the bank account is replaced.
    balance = controls.balance(account.id)["usd"]
    assert balance["available"] == 8500
    assert stripe_client.v1.accounts.retrieve(account.id).payouts_enabled is False


def test_account_controls_restrict_and_deauthorize(stripe_client, coach_account):
    restricted = controls.update_account(
        coach_account.id, past_due=["individual.verification.document"]
    )
    assert restricted["charges_enabled"] is False
    assert restricted["requirements"]["disabled_reason"] == "requirements.past_due"
    account = stripe_client.v1.accounts.retrieve(coach_account.id)
    assert account.capabilities.transfers == "inactive"
    controls.update_account(coach_account.id, deauthorize=True)
    assert "account.application.deauthorized" in [e["type"] for e in _all_events()]
    with pytest.raises(stripe.PermissionError):
        stripe_client.v1.balance.retrieve(options={"stripe_account": coach_account.id})


def test_onboarding_outcomes(stripe_client, sandbox):
    outcomes = {}
    for outcome in ("leave_due", "pending_verification", "reject"):
        account = stripe_client.v1.accounts.create(params={"type": "express"})
        controls.complete_onboarding(account.id, outcome)
        outcomes[outcome] = stripe_client.v1.accounts.retrieve(account.id)
    assert outcomes["leave_due"].details_submitted is True
    assert outcomes["leave_due"].requirements.past_due == ["individual.verification.document"]
    assert outcomes["pending_verification"].requirements.disabled_reason == (
        "requirements.pending_verification"
    )
    assert outcomes["reject"].requirements.disabled_reason == "rejected.fraud"
    assert not any(a.charges_enabled for a in outcomes.values())
    verified = controls.verify_account(outcomes["pending_verification"].id)
    assert verified["charges_enabled"] is True


def test_account_link_expires_and_sends_the_browser_to_refresh_url(stripe_client, sandbox):
    account = stripe_client.v1.accounts.create(params={"type": "express"})
    link = stripe_client.v1.account_links.create(
        params={
            "account": account.id,
            "type": "account_onboarding",
            "refresh_url": "https://example.test/refresh",
            "return_url": "https://example.test/return",
        }
    )
    controls.advance_clock(301)
    response = Client().get(link.url)
    assert response.status_code == 302
    assert response["Location"] == "https://example.test/refresh"


def test_login_link_opens_the_express_dashboard(stripe_client, coach_account):
    controls.pay_checkout_session(_session(stripe_client, coach_account.id).id)
    login = stripe_client.v1.accounts.login_links.create(coach_account.id)
    page = Client().get(login.url)
    assert page.status_code == 200
    content = page.content.decode()
    assert "Test mode — local Stripe" in content
    assert "$85.00" in content  # pending: 100.00 less the 15.00 application fee
    assert "Daily" in content
    assert Client().get(login.url.replace("/express/", "/express/x")).status_code == 404
