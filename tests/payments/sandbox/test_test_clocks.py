"""Test clocks on the local Stripe, through the real library: forward only, bounded
advances, three customers each, customers made at the clock's time."""

from __future__ import annotations

import pytest
import stripe

from payments.sandbox import controls, test_clocks

START = 1_800_000_000  # a fixed frozen time


def clock(stripe_client):
    return stripe_client.v1.test_helpers.test_clocks.create(
        params={"frozen_time": START, "name": "plans"}
    )


def test_a_clock_advances_forward_and_says_when_it_is_ready(stripe_client, sandbox):
    made = clock(stripe_client)
    assert made.status == "ready" and made.frozen_time == START
    assert made.deletes_after == made.created + 7 * 86400
    moving = stripe_client.v1.test_helpers.test_clocks.advance(
        made.id, params={"frozen_time": START + 86400}
    )
    assert moving.status == "advancing"
    ready = stripe_client.v1.test_helpers.test_clocks.retrieve(made.id)
    assert (ready.status, ready.frozen_time) == ("ready", START + 86400)
    kinds = [e["type"] for e in controls.events_of_type("test_helpers.test_clock.ready")]
    assert kinds == ["test_helpers.test_clock.ready"]
    assert controls.events_of_type("test_helpers.test_clock.advancing")


def test_a_clock_never_goes_back_nor_more_than_two_years_with_nothing_billing(
    stripe_client, sandbox
):
    made = clock(stripe_client)
    for frozen_time in (START, START - 1):
        with pytest.raises(stripe.InvalidRequestError) as refused:
            stripe_client.v1.test_helpers.test_clocks.advance(
                made.id, params={"frozen_time": frozen_time}
            )
        assert refused.value.param == "frozen_time"
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.test_helpers.test_clocks.advance(
            made.id, params={"frozen_time": START + test_clocks.TWO_YEARS_SECONDS + 1}
        )
    assert "two years" in str(refused.value)


def test_a_clock_holds_three_customers_made_at_its_time(stripe_client, sandbox):
    made = clock(stripe_client)
    held = [stripe_client.v1.customers.create(params={"test_clock": made.id}) for _ in range(3)]
    assert {c.test_clock for c in held} == {made.id} and {c.created for c in held} == {START}
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.customers.create(params={"test_clock": made.id})
    assert refused.value.param == "test_clock"
    listed = stripe_client.v1.customers.list(params={"test_clock": made.id})
    assert len(listed.data) == 3
    # deleting the clock deletes its customers
    assert stripe_client.v1.test_helpers.test_clocks.delete(made.id).deleted is True
    assert stripe_client.v1.customers.retrieve(held[0].id).deleted is True
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe_client.v1.customers.create(params={"test_clock": made.id})
    assert missing.value.http_status == 404
