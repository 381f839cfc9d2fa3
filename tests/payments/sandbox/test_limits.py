"""Stripe's limits on what it is sent, as the local Stripe enforces them through the real
stripe library: at most eight digits of minor units per charge (``amount_too_large``),
metadata keys of 40 and values of 500 characters, 50 keys at most (``invalid_request_error``),
64-bit integers."""

from __future__ import annotations

import pytest
import stripe

from payments.sandbox.models import StripeObject


def _session_params(unit_amount: int, quantity: int = 1) -> dict:
    return {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {
                    "currency": "usd",
                    "unit_amount": unit_amount,
                    "product_data": {"name": "Coaching"},
                },
                "quantity": quantity,
            }
        ],
        "success_url": "https://example.test/ok",
    }


@pytest.mark.django_db
def test_a_charge_of_eight_digits_is_made(stripe_client, sandbox):
    session = stripe_client.v1.checkout.sessions.create(params=_session_params(99_999_999))
    assert session.amount_total == 99_999_999


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("unit_amount", "quantity", "param"),
    [
        (100_000_000, 1, "line_items[0][price_data][unit_amount]"),
        (60_000_000, 2, "line_items"),
    ],
)
def test_a_charge_above_eight_digits_is_amount_too_large(
    stripe_client, sandbox, unit_amount, quantity, param
):
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.checkout.sessions.create(params=_session_params(unit_amount, quantity))
    assert refused.value.http_status == 400
    assert refused.value.code == "amount_too_large"
    assert refused.value.param == param
    assert "Amount must be no more than $999,999.99" in refused.value.user_message
    assert not StripeObject.objects.filter(object_type="checkout.session").exists()


@pytest.mark.django_db
@pytest.mark.stripe_wrong_requests
@pytest.mark.parametrize(
    "unit_amount", ["1e30", "99999999999999999999999", "12.5", "١٢", "1_000", " 5", "-"]
)
def test_an_integer_parameter_is_a_64_bit_integer_in_ascii_digits(
    stripe_client, sandbox, unit_amount
):
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.checkout.sessions.create(params=_session_params(unit_amount))  # type: ignore[arg-type]
    assert refused.value.code == "parameter_invalid_integer"
    assert refused.value.param == "line_items[0][price_data][unit_amount]"


def _account(stripe_client) -> str:
    return stripe_client.v1.accounts.create(params={"type": "express", "country": "US"}).id


@pytest.mark.django_db
def test_metadata_values_of_500_characters_are_kept(stripe_client, sandbox):
    account_id = _account(stripe_client)
    updated = stripe_client.v1.accounts.update(
        account_id, params={"metadata": {"k" * 40: "v" * 500}}
    )
    assert updated.metadata["k" * 40] == "v" * 500


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("metadata", "param", "words"),
    [
        ({"payout_minimum_amount": "9" * 501}, "metadata[payout_minimum_amount]", "up to 500"),
        ({"k" * 41: "1"}, "metadata", "up to 40"),
        ({f"key{n}": "1" for n in range(51)}, "metadata", "up to 50"),
    ],
)
def test_metadata_beyond_stripes_limits_is_an_invalid_request(
    stripe_client, sandbox, metadata, param, words
):
    account_id = _account(stripe_client)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.accounts.update(account_id, params={"metadata": metadata})
    assert refused.value.http_status == 400
    assert refused.value.error.type == "invalid_request_error"
    assert refused.value.param == param
    assert words in refused.value.user_message
    # nothing was written to the account
    assert stripe_client.v1.accounts.retrieve(account_id).metadata.to_dict() == {}
