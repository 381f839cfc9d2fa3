"""Money is conserved: whatever sequence of payments, refunds (with or without reversing the
transfer and the fee) and disputes, every cent is on a balance or went to Stripe's fees or
back to a cardholder, and every balance is the sum of its balance transactions."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payments.gateway import stripe_client
from payments.sandbox import controls
from payments.sandbox.ledger.disputes import DISPUTE_FEE
from payments.sandbox.ledger.settlement import stripe_fee
from payments.sandbox.models import StripeObject

payment = st.tuples(
    st.integers(min_value=50, max_value=500_000),  # amount
    st.integers(min_value=0, max_value=100),  # fee percent of the amount
    st.lists(  # refunds: percent of the amount, reverse_transfer, refund_application_fee
        st.tuples(st.integers(1, 100), st.booleans(), st.booleans()), max_size=3
    ),
    st.booleans(),  # disputed instead of refunded
)


def _ledger_total(account: str) -> int:
    return sum(
        txn["net"]
        for txn in StripeObject.objects.filter(
            object_type="balance_transaction", account=account
        ).values_list("data", flat=True)
    )


@pytest.mark.django_db
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(payments=st.lists(payment, min_size=1, max_size=4))
def test_money_is_conserved(payments):
    controls.reset()
    client = stripe_client()
    account = client.v1.accounts.create(
        params={"type": "express", "capabilities": {"transfers": {"requested": True}}}
    )
    controls.complete_onboarding(account.id)
    charged = fees = refunded = disputed = 0
    for amount, fee_percent, refunds, dispute in payments:
        application_fee = amount * fee_percent // 100
        session = client.v1.checkout.sessions.create(
            params={
                "mode": "payment",
                "line_items": [
                    {
                        "price_data": {
                            "currency": "usd",
                            "unit_amount": amount,
                            "product_data": {"name": "x"},
                        },
                        "quantity": 1,
                    }
                ],
                "payment_intent_data": {
                    "application_fee_amount": application_fee,
                    "transfer_data": {"destination": account.id},
                },
            }
        )
        paid = controls.pay_checkout_session(session.id)
        charged += amount
        fees += stripe_fee(amount)
        charge_id = client.v1.payment_intents.retrieve(paid["payment_intent"]).latest_charge
        if dispute:
            controls.dispute_charge(charge_id)
            disputed += amount
            fees += DISPUTE_FEE
            continue
        left = amount
        for percent, reverse, refund_fee in refunds:
            part = min(left, max(1, amount * percent // 100))
            if part <= 0:
                break
            client.v1.refunds.create(
                params={
                    "charge": charge_id,
                    "amount": part,
                    "reverse_transfer": reverse,
                    "refund_application_fee": refund_fee,
                }
            )
            refunded += part
            left -= part
    platform = controls.balance()["usd"]
    connected = controls.balance(account.id)["usd"]
    platform_total = platform["available"] + platform["pending"]
    connected_total = connected["available"] + connected["pending"]
    # every balance is the sum of its balance transactions
    assert platform_total == _ledger_total("")
    assert connected_total == _ledger_total(account.id)
    # and nothing is created or lost
    assert platform_total + connected_total == charged - fees - refunded - disputed
