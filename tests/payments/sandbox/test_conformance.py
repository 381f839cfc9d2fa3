"""Acceptance 1: every field the installed ``stripe`` package declares on a resource's class
is present in the sandbox's JSON (with a value or null), nested objects included, and ids
carry Stripe's prefixes."""

from __future__ import annotations

import re
from typing import Any

import pytest
import stripe
from stripe.checkout import Session as CheckoutSession

from payments.sandbox import controls

pytestmark = pytest.mark.django_db

# Stripe leaves some declared fields out of an object's JSON by rule, and so does the sandbox:
# - ``deleted`` appears only on the answer to a DELETE;
# - an Event's ``account`` only on events of a connected account, ``data.previous_attributes``
#   only on ``*.updated``-style events;
# - includable fields appear only when expanded (``line_items``, a charge's ``refunds``, an
#   invoice's ``payments``: each checked expanded below;
#   ``total_details.breakdown``; ``amount_details.line_items``).
NOT_ON_EVERY_OBJECT = {
    "deleted",
    "Event.account",
    "Event.data.previous_attributes",
    "Session.total_details.breakdown",
    "PaymentIntent.amount_details.line_items",
}
# Maps whose keys are data, not declared fields: the requested capabilities, metadata, reports
# (``fraud_details``), programs a dispute is eligible for.
MAPS = {
    "capabilities",
    "metadata",
    "source_types",
    "fee_source",
    "fraud_details",
    "radar_options",
    "enhanced_evidence",
    "enhanced_eligibility",
}
# Objects with one sub-object per payment method, present only for the method used (keyed by
# the sibling ``type``) or for the methods enabled (``payment_method_types``); an intent's
# ``next_action`` likewise carries only the sub-object of its ``type``.
BY_TYPE = {"payment_method_details", "destination_details", "next_action"}
# A PaymentMethod carries the sub-object of its own type only (``card`` for a card).
PAYMENT_METHOD_TYPES_AT_ROOT = {"PaymentMethod"}
BY_ENABLED_METHOD = {"payment_method_options"}


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def missing_fields(
    cls: type, data: dict[str, Any], path: str = "", root: str = "", parent: dict | None = None
) -> list[str]:
    """Declared fields of ``cls`` (and of its nested classes, recursively) absent from data."""
    root = root or cls.__name__
    field_name = path.rstrip(".").split(".")[-1].rstrip("[]")
    missing = []
    for field in cls.__annotations__:
        if field.startswith("_") or field == "OBJECT_NAME":
            continue
        if field in NOT_ON_EVERY_OBJECT or f"{root}.{path}{field}" in NOT_ON_EVERY_OBJECT:
            continue
        if field_name in BY_TYPE and field != "type" and field != data.get("type"):
            continue
        if (
            root in PAYMENT_METHOD_TYPES_AT_ROOT
            and not path
            and isinstance(getattr(cls, _camel(field), None), type)
            and field not in ("billing_details", "radar_options")
            and field != data.get("type")
        ):
            continue
        if field_name in BY_ENABLED_METHOD and field not in (parent or {}).get(
            "payment_method_types", []
        ):
            continue
        if field not in data:
            missing.append(path + field)
            continue
        nested = getattr(cls, _camel(field), None)
        value = data[field]
        if field in MAPS or not isinstance(nested, type):
            continue
        if isinstance(value, dict) and value.get("object") != "list":
            missing += missing_fields(nested, value, f"{path}{field}.", root, data)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    missing += missing_fields(nested, item, f"{path}{field}[].", root, data)
    return missing


def raw(stripe_client, method: str, url: str, **params) -> dict[str, Any]:
    """The JSON exactly as the sandbox answered it to the stripe library."""
    response = stripe_client.raw_request(method, url, **params)
    return response.data


@pytest.fixture
def world(stripe_client, sandbox):
    """One of everything: an onboarded account, a paid destination charge, a refund, a
    separate transfer and its reversal, a dispute, a payout."""
    account = stripe_client.v1.accounts.create(
        params={
            "type": "express",
            "email": "coach@example.com",
            "capabilities": {
                "card_payments": {"requested": True},
                "transfers": {"requested": True},
            },
        }
    )
    link = stripe_client.v1.account_links.create(
        params={
            "account": account.id,
            "type": "account_onboarding",
            "refresh_url": "https://x.test/r",
            "return_url": "https://x.test/ok",
        }
    )
    controls.complete_onboarding(account.id)
    login = stripe_client.v1.accounts.login_links.create(account.id)

    def paid_session(card: str) -> Any:
        session = stripe_client.v1.checkout.sessions.create(
            params={
                "mode": "payment",
                "line_items": [
                    {
                        "price_data": {
                            "currency": "usd",
                            "unit_amount": 5000,
                            "product_data": {"name": "Session"},
                        },
                        "quantity": 1,
                    }
                ],
                "payment_intent_data": {
                    "application_fee_amount": 500,
                    "transfer_data": {"destination": account.id},
                },
                "success_url": "https://x.test/ok",
            }
        )
        controls.pay_checkout_session(session.id, card=card)
        return stripe_client.v1.checkout.sessions.retrieve(session.id)

    session = paid_session("4242424242424242")
    disputed = paid_session("4000000000000259")
    intent = stripe_client.v1.payment_intents.retrieve(session.payment_intent)
    charge = stripe_client.v1.charges.retrieve(intent.latest_charge)
    refund = stripe_client.v1.refunds.create(
        params={
            "charge": charge.id,
            "amount": 1000,
            "reverse_transfer": True,
            "refund_application_fee": True,
        }
    )
    controls.pay_checkout_session(
        stripe_client.v1.checkout.sessions.create(
            params={
                "mode": "payment",
                "line_items": [
                    {
                        "price_data": {
                            "currency": "usd",
                            "unit_amount": 20000,
                            "product_data": {"name": "Platform"},
                        },
                        "quantity": 1,
                    }
                ],
            }
        ).id,
        card="4000000000000077",
    )
    transfer = stripe_client.v1.transfers.create(
        params={"amount": 700, "currency": "usd", "destination": account.id}
    )
    reversal = stripe_client.v1.transfers.reversals.create(transfer.id, params={"amount": 100})
    controls.advance_clock(4 * 86400)
    payout = stripe_client.v1.payouts.list(options={"stripe_account": account.id}).data[0]
    disputed_charge = stripe_client.v1.payment_intents.retrieve(disputed.payment_intent)
    dispute = stripe_client.v1.disputes.list(params={"charge": disputed_charge.latest_charge}).data[
        0
    ]
    fee_refund = stripe_client.v1.application_fees.refunds.create(
        charge.application_fee, params={"amount": 10}
    )
    return {
        "account": account,
        "link": link,
        "login": login,
        "session": session,
        "intent": intent,
        "charge": charge,
        "refund": refund,
        "transfer": transfer,
        "reversal": reversal,
        "payout": payout,
        "dispute": dispute,
        "fee_refund": fee_refund,
    }


def test_every_declared_field_is_present(stripe_client, world):
    account_id = world["account"].id
    connected = {"stripe_account": account_id}
    charge = world["charge"]
    checks: list[tuple[type, dict[str, Any]]] = [
        (stripe.Account, raw(stripe_client, "get", f"/v1/accounts/{account_id}")),
        (stripe.AccountLink, world["link"].last_response.data),
        (stripe.LoginLink, world["login"].last_response.data),
        (
            stripe.Capability,
            raw(stripe_client, "get", f"/v1/accounts/{account_id}/capabilities/transfers"),
        ),
        (
            CheckoutSession,
            raw(
                stripe_client,
                "get",
                f"/v1/checkout/sessions/{world['session'].id}",
                expand=["line_items"],
            ),
        ),
        (
            stripe.LineItem,
            raw(stripe_client, "get", f"/v1/checkout/sessions/{world['session'].id}/line_items")[
                "data"
            ][0],
        ),
        (
            stripe.PaymentIntent,
            raw(stripe_client, "get", f"/v1/payment_intents/{world['intent'].id}"),
        ),
        (stripe.Charge, raw(stripe_client, "get", f"/v1/charges/{charge.id}", expand=["refunds"])),
        (stripe.Refund, raw(stripe_client, "get", f"/v1/refunds/{world['refund'].id}")),
        (stripe.Transfer, raw(stripe_client, "get", f"/v1/transfers/{world['transfer'].id}")),
        (
            stripe.TransferReversal,
            raw(
                stripe_client,
                "get",
                f"/v1/transfers/{world['transfer'].id}/reversals/{world['reversal'].id}",
            ),
        ),
        (
            stripe.ApplicationFee,
            raw(stripe_client, "get", f"/v1/application_fees/{charge.application_fee}"),
        ),
        (stripe.ApplicationFeeRefund, world["fee_refund"].last_response.data),
        (stripe.Balance, raw(stripe_client, "get", "/v1/balance")),
        (stripe.Balance, stripe_client.v1.balance.retrieve(options=connected).last_response.data),
        (
            stripe.BalanceTransaction,
            raw(stripe_client, "get", f"/v1/balance_transactions/{charge.balance_transaction}"),
        ),
        (
            stripe.Payout,
            stripe_client.v1.payouts.retrieve(
                world["payout"].id, options=connected
            ).last_response.data,
        ),
        (stripe.Dispute, raw(stripe_client, "get", f"/v1/disputes/{world['dispute'].id}")),
    ]
    events = raw(stripe_client, "get", "/v1/events", limit=100)["data"]
    assert len(events) > 10
    checks += [(stripe.Event, event) for event in events]
    checks += [
        (stripe.BalanceTransaction, txn)
        for txn in raw(stripe_client, "get", "/v1/balance_transactions", limit=100)["data"]
    ]
    problems = {}
    for cls, data in checks:
        missing = missing_fields(cls, data)
        if missing:
            problems[f"{cls.__name__} {data.get('id', '')}"] = missing
    summary = {}
    for key, fields in problems.items():
        summary.setdefault(key.split()[0], set()).update(fields)
    assert not summary, "\n".join(f"{k}: {sorted(v)}" for k, v in summary.items())


def test_object_names_and_id_prefixes(stripe_client, world):
    prefixes = {
        "account": (world["account"], r"^acct_\w{16}$"),
        "checkout.session": (world["session"], r"^cs_test_\w+$"),
        "payment_intent": (world["intent"], r"^pi_\w+$"),
        "charge": (world["charge"], r"^ch_\w+$"),
        "refund": (world["refund"], r"^re_\w+$"),
        "transfer": (world["transfer"], r"^tr_\w+$"),
        "transfer_reversal": (world["reversal"], r"^trr_\w+$"),
        "payout": (world["payout"], r"^po_\w+$"),
        "dispute": (world["dispute"], r"^du_\w+$"),
        "fee_refund": (world["fee_refund"], r"^fr_\w+$"),
    }
    for object_name, (obj, pattern) in prefixes.items():
        assert obj.object == object_name
        assert re.match(pattern, obj.id), obj.id
        assert obj.last_response is None or obj.last_response.data.get("livemode", False) is False
    charge = world["charge"]
    assert charge.application_fee.startswith("fee_")
    assert charge.balance_transaction.startswith("txn_")
    transfer = stripe_client.v1.transfers.retrieve(charge.transfer)
    assert transfer.destination_payment.startswith("py_")
    event = stripe_client.v1.events.list(params={"limit": 1}).data[0]
    assert event.id.startswith("evt_") and event.object == "event"
    # Includable only with expand, as on Stripe.
    assert "line_items" not in world["session"]
    assert "refunds" not in stripe_client.v1.charges.retrieve(charge.id)
    expanded = stripe_client.v1.charges.retrieve(charge.id, params={"expand": ["refunds"]})
    assert expanded.refunds.data[0].id == world["refund"].id


def test_every_declared_field_of_billing_objects_is_present(stripe_client, sandbox):
    """Customers, cards, products, prices, subscriptions, invoices, test clocks and the
    customer portal, as the stripe package declares them."""
    from stripe.billing_portal import Configuration as PortalConfiguration
    from stripe.billing_portal import Session as PortalSession
    from stripe.test_helpers import TestClock

    clock = stripe_client.v1.test_helpers.test_clocks.create(params={"frozen_time": 1_800_000_000})
    customer = stripe_client.v1.customers.create(
        params={"email": "maya@example.test", "test_clock": clock.id}
    )
    card = stripe_client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    stripe_client.v1.customers.update(
        customer.id, params={"invoice_settings": {"default_payment_method": card.id}}
    )
    price = stripe_client.v1.prices.create(
        params={
            "currency": "usd",
            "unit_amount": 24000,
            "recurring": {"interval": "month"},
            "product_data": {"name": "4 sessions a month"},
        }
    )
    subscription = stripe_client.v1.subscriptions.create(
        params={"customer": customer.id, "items": [{"price": price.id}]}
    )
    invoice = stripe_client.v1.invoices.list(params={"customer": customer.id}).data[0]
    controls.save_portal_settings()
    portal = stripe_client.v1.billing_portal.sessions.create(params={"customer": customer.id})
    checks: list[tuple[type, dict[str, Any]]] = [
        (stripe.Customer, raw(stripe_client, "get", f"/v1/customers/{customer.id}")),
        (stripe.PaymentMethod, raw(stripe_client, "get", f"/v1/payment_methods/{card.id}")),
        (stripe.Product, raw(stripe_client, "get", f"/v1/products/{price.product}")),
        (stripe.Price, raw(stripe_client, "get", f"/v1/prices/{price.id}")),
        (stripe.Subscription, raw(stripe_client, "get", f"/v1/subscriptions/{subscription.id}")),
        (
            stripe.Invoice,
            raw(stripe_client, "get", f"/v1/invoices/{invoice.id}", expand=["payments"]),
        ),
        (TestClock, raw(stripe_client, "get", f"/v1/test_helpers/test_clocks/{clock.id}")),
        (PortalSession, portal.last_response.data),
        (
            PortalConfiguration,
            raw(stripe_client, "get", f"/v1/billing_portal/configurations/{portal.configuration}"),
        ),
    ]
    checks.append((stripe.SubscriptionItem, checks[4][1]["items"]["data"][0]))
    checks.append((stripe.InvoiceLineItem, checks[5][1]["lines"]["data"][0]))
    checks.append((stripe.InvoicePayment, checks[5][1]["payments"]["data"][0]))
    # a week before the renewal Stripe sends the preview of its invoice: a whole invoice
    stripe_client.v1.test_helpers.test_clocks.advance(
        clock.id, params={"frozen_time": subscription["items"].data[0].current_period_end - 86400}
    )
    [upcoming] = controls.events_of_type("invoice.upcoming")
    preview = upcoming["data"]["object"]
    assert preview["id"] is None
    # an invoice's ``payments`` is includable: never in an event's object
    preview_missing = [f for f in missing_fields(stripe.Invoice, preview) if f != "payments"]
    checks.append((stripe.InvoiceLineItem, preview["lines"]["data"][0]))
    events = raw(stripe_client, "get", "/v1/events", limit=100)["data"]
    checks += [(stripe.Event, event) for event in events]
    problems = {
        cls.__name__: missing for cls, data in checks if (missing := missing_fields(cls, data))
    }
    if preview_missing:
        problems["invoice.upcoming"] = preview_missing
    assert not problems, "\n".join(f"{k}: {sorted(v)}" for k, v in problems.items())


def test_every_declared_field_of_setup_intents_is_present(stripe_client, sandbox):
    """SetupIntents in each state (set up, declined, waiting for 3-D Secure, its
    authentication failed, canceled), their SetupAttempts and events, and a Checkout Session
    in setup mode."""
    import stripe as stripe_package

    customer = stripe_client.v1.customers.create(params={"email": "maya@example.test"})
    succeeded = stripe_client.v1.setup_intents.create(
        params={"customer": customer.id, "payment_method": "pm_card_visa", "confirm": True}
    )
    declined = stripe_client.v1.setup_intents.create(params={"customer": customer.id})
    with pytest.raises(stripe_package.CardError):
        stripe_client.v1.setup_intents.confirm(
            declined.id, params={"payment_method": "pm_card_chargeDeclined"}
        )
    waiting = stripe_client.v1.setup_intents.create(
        params={
            "customer": customer.id,
            "payment_method": "pm_card_authenticationRequired",
            "confirm": True,
            "return_url": "https://x.test/done",
        }
    )
    stripe_sdk = stripe_client.v1.setup_intents.create(
        params={
            "customer": customer.id,
            "payment_method": "pm_card_authenticationRequiredOnSetup",
            "confirm": True,
        }
    )
    failed = stripe_client.v1.setup_intents.create(
        params={
            "customer": customer.id,
            "payment_method": "pm_card_threeDSecure2Required",
            "confirm": True,
        }
    )
    controls.authenticate_setup_intent(failed.id, succeed=False)
    canceled = stripe_client.v1.setup_intents.create(params={"customer": customer.id})
    stripe_client.v1.setup_intents.cancel(canceled.id)
    session = stripe_client.v1.checkout.sessions.create(
        params={"mode": "setup", "currency": "usd", "customer": customer.id}
    )
    controls.pay_checkout_session(session.id)
    checks: list[tuple[type, dict[str, Any]]] = [
        (stripe.SetupIntent, raw(stripe_client, "get", f"/v1/setup_intents/{intent.id}"))
        for intent in (succeeded, declined, waiting, stripe_sdk, failed, canceled)
    ]
    checks.append(
        (
            CheckoutSession,
            raw(
                stripe_client,
                "get",
                f"/v1/checkout/sessions/{session.id}",
                expand=["line_items"],
            ),
        )
    )
    for intent in (succeeded, declined, failed):
        attempts = raw(stripe_client, "get", "/v1/setup_attempts", setup_intent=intent.id)["data"]
        checks += [(stripe.SetupAttempt, attempt) for attempt in attempts]
    events = raw(stripe_client, "get", "/v1/events", limit=100)["data"]
    checks += [(stripe.Event, event) for event in events]
    checks += [
        (stripe.SetupIntent, event["data"]["object"])
        for event in events
        if event["type"].startswith("setup_intent.")
    ]
    assert {data.get("status") for cls, data in checks if cls is stripe.SetupIntent} == {
        "succeeded",
        "requires_payment_method",
        "requires_action",
        "canceled",
        "requires_confirmation",
    }
    problems = {}
    for cls, data in checks:
        missing = missing_fields(cls, data)
        if missing:
            problems.setdefault(cls.__name__, set()).update(missing)
    assert not problems, "\n".join(f"{k}: {sorted(v)}" for k, v in problems.items())
