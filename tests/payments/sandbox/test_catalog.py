"""Products and Prices on the local Stripe, through the real library: Stripe's shapes and
its rules (fixed prices, the longest interval, products with prices kept)."""

from __future__ import annotations

import pytest
import stripe

from payments.sandbox import controls


def plan_price(stripe_client, **recurring):
    return stripe_client.v1.prices.create(
        params={
            "currency": "usd",
            "unit_amount": 24000,
            "recurring": {"interval": "month", **recurring},
            "product_data": {"name": "4 sessions a month"},
        }
    )


def test_a_recurring_price_has_stripes_shape_and_its_product(stripe_client, sandbox):
    price = plan_price(stripe_client)
    assert price.id.startswith("price_") and price.type == "recurring"
    assert (price.unit_amount, price.currency) == (24000, "usd")
    assert (price.recurring.interval, price.recurring.interval_count) == ("month", 1)
    product = stripe_client.v1.products.retrieve(price.product)
    assert product.name == "4 sessions a month" and product.active is True
    listed = stripe_client.v1.prices.list(params={"product": product.id, "type": "recurring"})
    assert [p.id for p in listed.data] == [price.id]
    assert controls.events_of_type("price.created") and controls.events_of_type("product.created")


def test_a_product_with_a_default_price(stripe_client, sandbox):
    product = stripe_client.v1.products.create(
        params={
            "name": "Weekly check-in",
            "default_price_data": {
                "currency": "eur",
                "unit_amount": 5000,
                "recurring": {"interval": "week"},
            },
        }
    )
    price = stripe_client.v1.prices.retrieve(product.default_price)
    assert price.product == product.id and price.recurring.interval == "week"


def test_a_price_is_fixed_once_made_and_can_be_archived(
    stripe_client, sandbox, stripe_request_problems
):
    price = plan_price(stripe_client)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.prices.update(price.id, params={"unit_amount": 100})  # type: ignore[typeddict-unknown-key]
    assert refused.value.code == "parameter_unknown"
    # the stripe package does not declare it either
    assert any("unit_amount" in problem for problem in stripe_request_problems.take())
    archived = stripe_client.v1.prices.update(price.id, params={"active": False})
    assert archived.active is False and archived.unit_amount == 24000
    assert stripe_client.v1.prices.list(params={"active": True}).data == []


def test_the_longest_interval_is_three_years(stripe_client, sandbox):
    assert plan_price(stripe_client, interval_count=36).recurring.interval_count == 36
    with pytest.raises(stripe.InvalidRequestError) as refused:
        plan_price(stripe_client, interval_count=37)
    assert refused.value.param == "recurring[interval_count]"
    assert "maximum billing interval is 3 years" in str(refused.value)


def test_a_product_with_prices_is_kept_and_an_empty_one_deleted(stripe_client, sandbox):
    price = plan_price(stripe_client)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.products.delete(price.product)
    assert "has one or more user-created prices" in str(refused.value)
    empty = stripe_client.v1.products.create(params={"name": "Nothing yet"})
    assert stripe_client.v1.products.delete(empty.id).deleted is True
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe_client.v1.products.retrieve(empty.id)
    assert missing.value.http_status == 404


def test_an_archived_product_takes_no_new_price(stripe_client, sandbox):
    product = stripe_client.v1.products.create(params={"name": "Old plan"})
    stripe_client.v1.products.update(product.id, params={"active": False})
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.prices.create(
            params={"currency": "usd", "unit_amount": 100, "product": product.id}
        )
    assert refused.value.param == "product"
