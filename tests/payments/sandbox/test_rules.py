"""Stripe's rules the local Stripe enforces, through the real library: countries and service
agreements, settlement across regions, cross-border transfers, account link types,
``source_transaction`` funding, transfer events, business-day availability and fees."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import stripe

from payments.sandbox import controls
from payments.sandbox.models import StripeObject


@pytest.fixture(autouse=True)
def us_platform(settings):
    settings.STRIPE_SANDBOX_PLATFORM_COUNTRY = "US"


def account(stripe_client, country: str = "US", agreement: str = "full", onboard: bool = True):
    capabilities = {"transfers": {"requested": True}}
    if agreement == "full":
        capabilities["card_payments"] = {"requested": True}
    created = stripe_client.v1.accounts.create(
        params={
            "type": "express",
            "country": country,
            "capabilities": capabilities,
            "tos_acceptance": {"service_agreement": agreement},
        }
    )
    if onboard:
        controls.complete_onboarding(created.id)
    return stripe_client.v1.accounts.retrieve(created.id)


def session(
    stripe_client, destination: str, on_behalf_of: str | None = None, amount=10000, fee=1500
):
    intent_data = {"application_fee_amount": fee, "transfer_data": {"destination": destination}}
    if on_behalf_of:
        intent_data["on_behalf_of"] = on_behalf_of
    return stripe_client.v1.checkout.sessions.create(
        params={
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
            "success_url": "https://example.test/ok",
            "payment_intent_data": intent_data,
        }
    )


def platform_charge(stripe_client, amount=10000, currency="usd"):
    """A paid charge on the platform (a package), still pending there."""
    created = stripe_client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {
                        "currency": currency,
                        "unit_amount": amount,
                        "product_data": {"name": "Package"},
                    },
                    "quantity": 1,
                }
            ],
            "success_url": "https://example.test/ok",
            "payment_intent_data": {"transfer_group": "package-1"},
        }
    )
    paid = controls.pay_checkout_session(created.id)
    intent = stripe_client.v1.payment_intents.retrieve(paid["payment_intent"])
    return stripe_client.v1.charges.retrieve(intent.latest_charge)


# --- accounts ------------------------------------------------------------------------------


def test_an_account_has_its_country_its_currency_and_its_service_agreement(stripe_client, sandbox):
    recipient = account(stripe_client, "DE", "recipient", onboard=False)
    assert recipient.country == "DE" and recipient.default_currency == "eur"
    assert recipient.tos_acceptance.service_agreement == "recipient"
    assert "card_payments" not in recipient.capabilities
    assert account(stripe_client, "GB", onboard=False).tos_acceptance.service_agreement == "full"


def test_stripe_refuses_accounts_the_platform_cannot_have(stripe_client, sandbox):
    with pytest.raises(stripe.InvalidRequestError) as refused:
        account(stripe_client, "JM", onboard=False)
    assert "Connected accounts in JM cannot be created by platforms in US" in str(refused.value)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.accounts.create(
            params={
                "type": "express",
                "country": "DE",
                "capabilities": {"card_payments": {"requested": True}},
                "tos_acceptance": {"service_agreement": "recipient"},
            }
        )
    assert refused.value.param == "capabilities[card_payments]"
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.accounts.create(
            params={"type": "express", "tos_acceptance": {"service_agreement": "partial"}}
        )
    assert refused.value.param == "tos_acceptance[service_agreement]"


def test_the_service_agreement_cannot_change_once_accepted(stripe_client, sandbox):
    onboarded = account(stripe_client, "DE", "recipient")
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.accounts.update(
            onboarded.id, params={"tos_acceptance": {"service_agreement": "full"}}
        )
    assert "cannot change `tos_acceptance[service_agreement]`" in str(refused.value)


def test_update_links_are_refused_for_express_accounts(stripe_client, sandbox):
    express = account(stripe_client)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.account_links.create(
            params={
                "account": express.id,
                "type": "account_update",
                "refresh_url": "https://example.test/r",
                "return_url": "https://example.test/b",
            }
        )
    assert str(refused.value.user_message) == 'Invalid type: must be one of ["account_onboarding"]'
    assert refused.value.param == "type"


# --- settlement of destination charges -----------------------------------------------------


def test_a_destination_charge_abroad_needs_the_account_as_settlement_merchant(
    stripe_client, sandbox
):
    gb = account(stripe_client, "GB")
    with pytest.raises(stripe.InvalidRequestError) as refused:
        session(stripe_client, gb.id)
    assert "Cannot create a destination charge for connected accounts in GB" in str(refused.value)
    assert refused.value.param == "payment_intent_data[transfer_data][destination]"
    settled_there = session(stripe_client, gb.id, on_behalf_of=gb.id)
    paid = controls.pay_checkout_session(settled_there.id)
    intent = stripe_client.v1.payment_intents.retrieve(paid["payment_intent"])
    assert intent.on_behalf_of == gb.id and intent.status == "succeeded"
    # in the platform's region no settlement merchant is needed
    assert session(stripe_client, account(stripe_client, "US").id).status == "open"


def test_a_recipient_account_abroad_takes_destination_charges_but_never_settles_them(
    stripe_client, sandbox
):
    ca = account(stripe_client, "CA", "recipient")
    assert session(stripe_client, ca.id).status == "open"
    with pytest.raises(stripe.InvalidRequestError) as refused:
        session(stripe_client, ca.id, on_behalf_of=ca.id)
    assert refused.value.param == "payment_intent_data[on_behalf_of]"


def test_european_accounts_share_one_region(stripe_client, sandbox, settings):
    settings.STRIPE_SANDBOX_PLATFORM_COUNTRY = "GB"
    assert session(stripe_client, account(stripe_client, "DE").id).status == "open"
    with pytest.raises(stripe.InvalidRequestError):
        session(stripe_client, account(stripe_client, "US").id)


# --- separate transfers --------------------------------------------------------------------


def test_a_cross_border_transfer_needs_a_recipient_account(stripe_client, sandbox):
    charge = platform_charge(stripe_client)
    full_gb = account(stripe_client, "GB")
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.transfers.create(
            params={
                "amount": 1000,
                "currency": "usd",
                "destination": full_gb.id,
                "source_transaction": charge.id,
            }
        )
    assert refused.value.code == "transfers_not_allowed"
    assert refused.value.user_message == (
        "Funds can't be sent to accounts located in GB when the account is under the `full` "
        "service agreement. To learn more, see "
        "https://stripe.com/docs/connect/service-agreement-types."
    )
    recipient_gb = account(stripe_client, "GB", "recipient")
    transfer = stripe_client.v1.transfers.create(
        params={
            "amount": 1000,
            "currency": "usd",
            "destination": recipient_gb.id,
            "source_transaction": charge.id,
        }
    )
    # a transfer to a recipient account is available there a day later than the charge
    platform_txn = stripe_client.v1.balance_transactions.retrieve(transfer.balance_transaction)
    payment = stripe_client.v1.charges.retrieve(
        transfer.destination_payment, options={"stripe_account": recipient_gb.id}
    )
    coach_txn = stripe_client.v1.balance_transactions.retrieve(
        payment.balance_transaction, options={"stripe_account": recipient_gb.id}
    )
    assert coach_txn.available_on - platform_txn.available_on == 24 * 3600


def test_only_platforms_in_the_cross_border_regions_may_pay_out_abroad(
    stripe_client, sandbox, settings
):
    settings.STRIPE_SANDBOX_PLATFORM_COUNTRY = "AU"
    charge = platform_charge(stripe_client)
    recipient_us = account(stripe_client, "US", "recipient")
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.transfers.create(
            params={
                "amount": 1000,
                "currency": "usd",
                "destination": recipient_us.id,
                "source_transaction": charge.id,
            }
        )
    assert refused.value.code == "transfers_not_allowed"
    assert refused.value.user_message == (
        "Funds can't be sent to accounts located in US because it's restricted outside of your "
        "platform's region"
    )


def test_a_transfer_from_a_charge_draws_on_its_pending_funds_and_no_further(stripe_client, sandbox):
    # given: the platform's only money is a pending charge
    charge = platform_charge(stripe_client, amount=10000)
    coach = account(stripe_client, "US")
    platform = stripe_client.v1.balance.retrieve()
    assert platform.available[0].amount == 0
    # then: a transfer from the balance is refused, one from the charge is not
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.transfers.create(
            params={"amount": 6000, "currency": "usd", "destination": coach.id}
        )
    assert refused.value.code == "balance_insufficient"
    first = stripe_client.v1.transfers.create(
        params={
            "amount": 6000,
            "currency": "usd",
            "destination": coach.id,
            "source_transaction": charge.id,
        }
    )
    assert first.source_transaction == charge.id
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.transfers.create(
            params={
                "amount": 4001,
                "currency": "usd",
                "destination": coach.id,
                "source_transaction": charge.id,
            }
        )
    assert refused.value.code == "balance_insufficient"
    # the transfer becomes available with the charge, not before
    charge_txn = stripe_client.v1.balance_transactions.retrieve(charge.balance_transaction)
    transfer_txn = stripe_client.v1.balance_transactions.retrieve(first.balance_transaction)
    assert transfer_txn.available_on == charge_txn.available_on


def test_updating_a_transfer_sends_transfer_updated(stripe_client, sandbox):
    charge = platform_charge(stripe_client)
    transfer = stripe_client.v1.transfers.create(
        params={
            "amount": 1000,
            "currency": "usd",
            "destination": account(stripe_client).id,
            "source_transaction": charge.id,
        }
    )
    stripe_client.v1.transfers.update(transfer.id, params={"metadata": {"note": "session 1"}})
    (event,) = controls.events_of_type("transfer.updated")
    assert event["data"]["object"]["metadata"] == {"note": "session 1"}
    assert event["data"]["previous_attributes"] == {"metadata": {}}


# --- availability and fees -----------------------------------------------------------------


def test_funds_become_available_after_business_days(stripe_client, sandbox):
    controls.set_available_business_days(2)
    charge = platform_charge(stripe_client)
    txn = stripe_client.v1.balance_transactions.retrieve(charge.balance_transaction)
    made = datetime.fromtimestamp(txn.created, tz=UTC).date()
    available = datetime.fromtimestamp(txn.available_on, tz=UTC)
    assert (available.hour, available.minute, available.second) == (0, 0, 0)
    assert available.weekday() < 5
    weekdays = [
        datetime.fromordinal(made.toordinal() + offset).weekday()
        for offset in range(1, (available.date() - made).days + 1)
    ]
    assert sum(1 for day in weekdays if day < 5) == 2, (made, available)


def test_stripe_fees_follow_the_currency(stripe_client, sandbox):
    usd = platform_charge(stripe_client, amount=10000, currency="usd")
    eur = platform_charge(stripe_client, amount=10000, currency="eur")
    gbp = platform_charge(stripe_client, amount=10000, currency="gbp")
    fees = {
        charge.currency: stripe_client.v1.balance_transactions.retrieve(
            charge.balance_transaction
        ).fee
        for charge in (usd, eur, gbp)
    }
    assert fees == {"usd": 290 + 30, "eur": 150 + 25, "gbp": 150 + 20}
    assert StripeObject.objects.filter(object_type="charge").count() == 3


def test_the_developer_page_shows_the_platforms_country_and_each_accounts(stripe_client, sandbox):
    from django.test import Client

    account(stripe_client, "DE", "recipient", onboard=False)
    controls.set_available_business_days(2)
    page = Client().get("/_stripe/").content.decode()
    assert '<strong id="platform-country">US</strong>' in page
    assert "DE · recipient agreement" in page
    assert "after 2 business days" in page


# --- accounts that only receive transfers ---------------------------------------------------


def _transfers_only(stripe_client, country: str, agreement: str = "full"):
    return stripe_client.v1.accounts.create(
        params={
            "type": "express",
            "country": country,
            "capabilities": {"transfers": {"requested": True}},
            "tos_acceptance": {"service_agreement": agreement},
        }
    )


def test_transfers_alone_under_the_full_agreement_only_in_the_platforms_country(
    stripe_client, sandbox
):
    # a US account of a US platform may have transfers alone; once onboarded it receives
    # transfers and pays out, but never takes a charge
    payee = _transfers_only(stripe_client, "US")
    controls.complete_onboarding(payee.id)
    payee = stripe_client.v1.accounts.retrieve(payee.id)
    assert payee.capabilities.to_dict() == {"transfers": "active"}
    assert payee.payouts_enabled and not payee.charges_enabled
    # a GB account must take the recipient agreement for that
    with pytest.raises(stripe.InvalidRequestError) as refused:
        _transfers_only(stripe_client, "GB")
    assert refused.value.param == "capabilities"
    assert str(refused.value.user_message) == (
        "You cannot request the `transfers` capability without the `card_payments` "
        "capability for accounts in GB."
    )
    recipient = _transfers_only(stripe_client, "GB", "recipient")
    controls.complete_onboarding(recipient.id)
    assert not stripe_client.v1.accounts.retrieve(recipient.id).charges_enabled


def test_an_account_restricted_by_stripe_cannot_receive_a_transfer(stripe_client, sandbox):
    payee = _transfers_only(stripe_client, "US")
    controls.complete_onboarding(payee.id)
    controls.update_account(payee.id, past_due=["individual.verification.document"])
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.transfers.create(
            params={"amount": 1000, "currency": "usd", "destination": payee.id}
        )
    assert refused.value.code == "insufficient_capabilities_for_transfer"
    assert "at least one of the following capabilities enabled: transfers" in str(refused.value)


def test_a_refund_whose_fee_share_rounds_to_nothing_refunds_no_fee(stripe_client, sandbox):
    coach = account(stripe_client)
    created = session(stripe_client, coach.id, amount=10000, fee=1)
    paid = controls.pay_checkout_session(created.id)
    charge_id = stripe_client.v1.payment_intents.retrieve(paid["payment_intent"]).latest_charge
    refund = stripe_client.v1.refunds.create(
        params={
            "charge": charge_id,
            "amount": 1,
            "reverse_transfer": True,
            "refund_application_fee": True,
        }
    )
    assert refund.status == "succeeded" and refund.transfer_reversal
    charge = stripe_client.v1.charges.retrieve(charge_id)
    assert stripe_client.v1.application_fees.retrieve(charge.application_fee).amount_refunded == 0
