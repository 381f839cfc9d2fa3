"""Stripe's other outcomes: refunds that stay pending and later succeed or fail, the dispute
lifecycle with its balance moves, the payout lifecycle, deliveries in a random order and
duplicated, and answers lost after the work is done."""

from __future__ import annotations

from collections import Counter

import pytest
import stripe

from payments.sandbox import chaos, controls
from payments.sandbox.client import InProcessHTTPClient
from payments.sandbox.models import StripeObject, WebhookDelivery
from tests.payments.sandbox.test_payments import _session, coach_account  # noqa: F401

pytestmark = pytest.mark.django_db


def _events(event_type: str) -> list[dict]:
    return controls.events_of_type(event_type)


def _platform_by_type() -> Counter:
    totals: Counter = Counter()
    for row in StripeObject.objects.filter(object_type="balance_transaction", account=""):
        totals[row.data["type"]] += row.data["amount"]
    return totals


def test_a_refund_of_the_7726_card_stays_pending_then_succeeds(stripe_client, coach_account):  # noqa: F811
    paid = controls.pay_checkout_session(
        _session(stripe_client, coach_account.id).id, card="4000000000007726"
    )
    refund = stripe_client.v1.refunds.create(
        params={"payment_intent": paid["payment_intent"], "amount": 4000}
    )
    assert refund.status == "pending" and refund.pending_reason == "processing"
    # the money left the platform when the refund was made, as on Stripe
    assert _platform_by_type()["refund"] == -4000
    controls.advance_clock(3600)
    settled = stripe_client.v1.refunds.retrieve(refund.id)
    assert settled.status == "succeeded" and settled.pending_reason is None
    (updated,) = _events("charge.refund.updated")
    assert updated["data"]["object"]["object"] == "refund"
    assert updated["data"]["previous_attributes"]["status"] == "pending"
    assert [e["data"]["object"]["status"] for e in _events("refund.updated")] == ["succeeded"]
    assert _events("refund.failed") == []


def test_a_refund_of_the_5126_card_succeeds_then_fails_and_the_money_comes_back(
    stripe_client,
    coach_account,  # noqa: F811
):
    paid = controls.pay_checkout_session(
        _session(stripe_client, coach_account.id).id, card="4000000000005126"
    )
    refund = stripe_client.v1.refunds.create(
        params={
            "payment_intent": paid["payment_intent"],
            "reverse_transfer": True,
            "refund_application_fee": True,
        }
    )
    assert refund.status == "succeeded"
    controls.settle_refunds()
    failed = stripe_client.v1.refunds.retrieve(refund.id, params={"expand": ["charge"]})
    assert failed.status == "failed" and failed.failure_reason == "expired_or_canceled_card"
    txn = stripe_client.v1.balance_transactions.retrieve(failed.failure_balance_transaction)
    assert (txn.type, txn.amount, txn.source) == ("refund_failure", 10000, refund.id)
    assert failed.charge.amount_refunded == 0 and failed.charge.refunded is False
    # the transfer reversal and the fee refund stay made: the platform holds the money
    totals = _platform_by_type()
    assert totals["refund"] + totals["refund_failure"] == 0
    assert totals["transfer_refund"] == 10000 and totals["application_fee_refund"] == -1500
    assert [e["type"] for e in controls.events_of_type("refund.failed")] == ["refund.failed"]
    (updated,) = _events("charge.refund.updated")
    assert updated["data"]["object"]["id"] == refund.id
    assert updated["data"]["previous_attributes"]["status"] == "succeeded"
    # settling again changes nothing
    controls.settle_refunds()
    assert len(_events("refund.failed")) == 1


def test_the_refund_outcome_is_selectable_per_charge_and_for_all(stripe_client, coach_account):  # noqa: F811
    first = controls.pay_checkout_session(_session(stripe_client, coach_account.id).id)
    second = controls.pay_checkout_session(_session(stripe_client, coach_account.id).id)
    first_charge = stripe_client.v1.payment_intents.retrieve(first["payment_intent"]).latest_charge
    controls.set_refund_outcome("pending_fails", charge_id=first_charge)
    pending = stripe_client.v1.refunds.create(params={"payment_intent": first["payment_intent"]})
    at_once = stripe_client.v1.refunds.create(
        params={"payment_intent": second["payment_intent"], "amount": 100}
    )
    assert (pending.status, at_once.status) == ("pending", "succeeded")
    controls.set_refund_outcome("pending_succeeds")
    later = stripe_client.v1.refunds.create(
        params={"payment_intent": second["payment_intent"], "amount": 100}
    )
    assert later.status == "pending"
    assert sorted(controls.settle_refunds()) == sorted([pending.id, later.id])
    assert stripe_client.v1.refunds.retrieve(pending.id).status == "failed"
    assert stripe_client.v1.refunds.retrieve(later.id).status == "succeeded"
    with pytest.raises(ValueError):
        controls.set_refund_outcome("sometimes")


def test_a_dispute_won_reinstates_the_amount_but_not_the_fee(stripe_client, coach_account):  # noqa: F811
    paid = controls.pay_checkout_session(
        _session(stripe_client, coach_account.id).id, card="4000000000000259"
    )
    (dispute,) = stripe_client.v1.disputes.list(
        params={"payment_intent": paid["payment_intent"]}
    ).data
    assert [e["type"] for e in controls.events_of_type("charge.dispute.funds_withdrawn")] == [
        "charge.dispute.funds_withdrawn"
    ]
    updated = stripe_client.v1.disputes.update(
        dispute.id, params={"evidence": {"uncategorized_text": "winning_evidence"}}
    )
    assert updated.status == "won"
    assert [e["data"]["object"]["status"] for e in _events("charge.dispute.updated")] == [
        "under_review"
    ]
    assert _events("charge.dispute.closed")[0]["data"]["object"]["status"] == "won"
    (reinstated,) = _events("charge.dispute.funds_reinstated")
    moves = reinstated["data"]["object"]["balance_transactions"]
    assert [(t["amount"], t["fee"], t["reporting_category"]) for t in moves] == [
        (-10000, 1500, "dispute"),
        (10000, 0, "dispute_reversal"),
    ]
    # closing again is a no-op; evidence on a closed dispute is refused
    assert controls.close_dispute(dispute.id, "lost")["status"] == "won"
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.disputes.update(
            dispute.id, params={"evidence": {"uncategorized_text": "more"}}
        )


def test_a_dispute_lost_keeps_the_funds_withdrawn(stripe_client, coach_account):  # noqa: F811
    paid = controls.pay_checkout_session(
        _session(stripe_client, coach_account.id).id, card="4000000000000259"
    )
    (dispute,) = stripe_client.v1.disputes.list(
        params={"payment_intent": paid["payment_intent"]}
    ).data
    closed = stripe_client.v1.disputes.close(dispute.id)
    assert closed.status == "lost"
    assert _events("charge.dispute.funds_reinstated") == []
    assert _platform_by_type()["adjustment"] == -10000


def test_a_payout_goes_pending_then_in_transit_then_paid_as_the_clock_passes(
    stripe_client,
    coach_account,  # noqa: F811
):
    # given: money available on the coach's account, paid out by hand
    controls.set_available_delay(0)
    controls.pay_checkout_session(_session(stripe_client, coach_account.id).id)
    options = {"stripe_account": coach_account.id}
    payout = stripe_client.v1.payouts.create(
        params={"amount": 8500, "currency": "usd"}, options=options
    )
    assert payout.status == "pending"

    def status() -> str:
        return stripe_client.v1.payouts.retrieve(payout.id, options=options).status

    # when: Stripe submits it to the bank an hour later
    controls.advance_clock(3600)
    # then: in transit, told with payout.updated; a payout in transit cannot be canceled
    assert status() == "in_transit"
    (updated,) = _events("payout.updated")
    assert updated["account"] == coach_account.id
    assert updated["data"]["previous_attributes"] == {"status": "pending"}
    with pytest.raises(stripe.InvalidRequestError, match="pending"):
        stripe_client.v1.payouts.cancel(payout.id, options=options)
    # when: it arrives, a day after it was made
    controls.advance_clock(86400 - 3600)
    # then
    assert status() == "paid"
    assert [e["type"] for e in controls.events_of_type("payout.paid")] == ["payout.paid"]
    assert len(_events("payout.updated")) == 1


def test_a_payout_beyond_the_available_balance_is_refused_in_stripes_words(
    stripe_client,
    coach_account,  # noqa: F811
):
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.payouts.create(
            params={"amount": 100, "currency": "usd"},
            options={"stripe_account": coach_account.id},
        )
    assert refused.value.code == "balance_insufficient"
    assert refused.value.user_message == (
        "You have insufficient funds in your Stripe account for this transfer. Your card "
        "balance is too low.  You can use the /v1/balance endpoint to view your Stripe balance "
        "(for more details, see stripe.com/docs/api#balance)."
    )


def test_shuffled_deliveries_go_in_a_random_order_with_duplicates(
    stripe_client,
    coach_account,  # noqa: F811
    settings,
):
    # given: deliveries held back, shuffled, half of them twice
    controls.set_delivery_chaos(shuffled=True, duplicate_percent=50, seed=7)
    for _ in range(3):
        controls.pay_checkout_session(_session(stripe_client, coach_account.id).id)
    recorded = list(WebhookDelivery.objects.order_by("id").values_list("pk", flat=True))
    assert recorded and not WebhookDelivery.objects.filter(attempts__gt=0).exists()
    # when
    statuses = controls.deliver_pending_events()
    # then: every delivery went, some twice, not in the order they were recorded
    attempts = dict(WebhookDelivery.objects.values_list("pk", "attempts"))
    assert all(count >= 1 for count in attempts.values())
    assert len(statuses) > len(recorded) and max(attempts.values()) == 2
    order = [
        pk
        for pk, _ in sorted(
            (
                (row.pk, entry["at"])
                for row in WebhookDelivery.objects.all()
                for entry in row.log[:1]
            ),
            key=lambda pair: pair[1],
        )
    ]
    assert order != sorted(order)
    # and the same seed gives the same order again
    chaos.reseed(7)
    first = chaos.delivery_order(recorded)
    chaos.reseed(7)
    assert chaos.delivery_order(recorded) == first


def test_a_lost_answer_after_the_work_is_retried_with_the_same_key(
    stripe_client,
    coach_account,  # noqa: F811
    settings,
):
    # given: every answer lost, and a client that does not retry
    paid = controls.pay_checkout_session(_session(stripe_client, coach_account.id).id)
    controls.set_lost_answers(100, seed=1)
    once = stripe.StripeClient(
        api_key=settings.STRIPE_SANDBOX_SECRET_KEY,
        stripe_version=settings.STRIPE_API_VERSION,
        base_addresses={"api": settings.STRIPE_API_BASE},
        http_client=InProcessHTTPClient(),
        max_network_retries=0,
    )
    # when: the refund is made but its answer is lost
    with pytest.raises(stripe.APIConnectionError):
        once.v1.refunds.create(
            params={"payment_intent": paid["payment_intent"], "amount": 1000},
            options={"idempotency_key": "refund-lost-1"},
        )
    # then: the work was done; the retry with the same key gets the same refund, not another
    assert StripeObject.objects.filter(object_type="refund").count() == 1
    controls.set_lost_answers(0)
    again = once.v1.refunds.create(
        params={"payment_intent": paid["payment_intent"], "amount": 1000},
        options={"idempotency_key": "refund-lost-1"},
    )
    assert StripeObject.objects.filter(object_type="refund").count() == 1
    assert again.id == StripeObject.objects.get(object_type="refund").stripe_id


def test_lost_answers_are_drawn_at_the_chosen_rate_and_the_library_retries_them(
    stripe_client,
    coach_account,  # noqa: F811
):
    controls.set_lost_answers(30, seed=3)
    # the product's client retries twice: 30% lost answers rarely reach it
    seen = [stripe_client.v1.balance.retrieve() for _ in range(20)]
    assert len(seen) == 20

    chaos.reseed(3)
    draws = [chaos.answer_lost() for _ in range(1000)]
    lost = [draw for draw in draws if draw]
    assert 250 < len(lost) < 350
    assert set(lost) == {chaos.LOST_CONNECTION, chaos.LOST_TIMEOUT}


def test_the_outcomes_are_chosen_and_settled_from_the_developer_page(
    settings,
    stripe_client,
    coach_account,  # noqa: F811
):
    from django.test import Client

    from payments.sandbox.models import SandboxState
    from tests.factories import UserFactory
    from tests.mfa import sign_in_with_totp

    settings.DEBUG = False
    browser = Client()
    sign_in_with_totp(browser, UserFactory(is_staff=True))
    # when: outcomes chosen on the page
    answer = browser.post(
        "/_stripe/",
        {
            "action": "outcomes",
            "refund_outcome": "pending_fails",
            "deliveries_shuffled": "on",
            "duplicate_percent": "20",
            "lost_answer_percent": "0",
            "chaos_seed": "5",
        },
    )
    assert answer.status_code == 302
    state = SandboxState.objects.get()
    assert (state.refund_outcome, state.deliveries_shuffled, state.duplicate_percent) == (
        "pending_fails",
        True,
        20,
    )
    # then: a refund waits for its outcome and the page settles it; a dispute is decided there
    paid = controls.pay_checkout_session(
        _session(stripe_client, coach_account.id).id, card="4000000000000259"
    )
    other = controls.pay_checkout_session(_session(stripe_client, coach_account.id).id)
    refund = stripe_client.v1.refunds.create(params={"payment_intent": other["payment_intent"]})
    page = browser.get("/_stripe/").content.decode()
    assert refund.id in page and "Open disputes" in page
    browser.post("/_stripe/", {"action": "refund_succeeded", "refund": refund.id})
    assert stripe_client.v1.refunds.retrieve(refund.id).status == "succeeded"
    (dispute,) = stripe_client.v1.disputes.list(
        params={"payment_intent": paid["payment_intent"]}
    ).data
    browser.post("/_stripe/", {"action": "dispute_lost", "dispute": dispute.id})
    assert stripe_client.v1.disputes.retrieve(dispute.id).status == "lost"
    refused = browser.post("/_stripe/", {"action": "outcomes", "duplicate_percent": "300"})
    assert refused.status_code == 302 and SandboxState.objects.get().duplicate_percent == 20
