"""Earnings equal the local Stripe's balance, transfers and payouts to the cent, after money
has moved: destination charges, a partial refund with a transfer reversal, payouts."""

from __future__ import annotations

from django.urls import reverse

from marketplace.money import format_money
from payments import selectors
from payments.gateway import stripe_client
from payments.models import Payout
from payments.sandbox import controls
from payments.sandbox.models import StripeObject

CHARGES = [(12000, 1800), (8000, 1200), (5000, 750)]


def _pay(destination: str, amount: int, fee: int) -> dict:
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
        options={"idempotency_key": f"test-session-{destination}-{amount}"},
    )
    return controls.pay_checkout_session(session.id)


def test_earnings_equal_the_local_stripe_to_the_cent(
    active_account, connect_coach, client, django_capture_on_commit_callbacks
):
    destination = active_account.stripe_account_id
    # given: three paid sessions, one partly refunded with its transfer reversed
    with django_capture_on_commit_callbacks(execute=True):
        paid = [_pay(destination, amount, fee) for amount, fee in CHARGES]
        stripe_client().v1.refunds.create(
            params={
                "payment_intent": paid[0]["payment_intent"],
                "amount": 4000,
                "reverse_transfer": True,
                "refund_application_fee": True,
            },
            options={"idempotency_key": "test-refund-1"},
        )
    before_payout = selectors.coach_earnings(connect_coach)
    assert before_payout is not None
    assert sum(a.amount for a in before_payout.pending) > 0
    # when: days pass: funds become available and the daily payout runs and arrives
    with django_capture_on_commit_callbacks(execute=True):
        controls.advance_clock(5 * 24 * 3600)
    earnings = selectors.coach_earnings(connect_coach)
    assert earnings is not None

    # then: the balance is the local Stripe's, to the cent
    stripe_balance = controls.balance(destination)
    assert {a.currency: a.amount for a in earnings.available} == {
        cur: v["available"] for cur, v in stripe_balance.items()
    }
    assert {a.currency: a.amount for a in earnings.pending} == {
        cur: v["pending"] for cur, v in stripe_balance.items()
    }
    # the transfers are the local Stripe's transfers to this account
    stripe_transfers = {
        row.stripe_id: row.data
        for row in StripeObject.objects.filter(object_type="transfer")
        if row.data["destination"] == destination
    }
    assert len(stripe_transfers) == len(CHARGES)
    assert {t.id: (t.amount, t.amount_reversed) for t in earnings.transfers} == {
        tid: (t["amount"], t["amount_reversed"]) for tid, t in stripe_transfers.items()
    }
    # lifetime, against the connected account's ledger at the local Stripe
    ledger = [
        row.data
        for row in StripeObject.objects.filter(
            object_type="balance_transaction", account=destination
        )
    ]
    reversed_total = sum(t["amount_reversed"] for t in stripe_transfers.values())
    assert reversed_total > 0
    fee_refunded = sum(t["amount"] for t in ledger if t["type"] == "application_fee_refund")
    assert fee_refunded > 0
    assert earnings.gross == {"usd": sum(amount for amount, _ in CHARGES)}
    assert earnings.platform_fees == {"usd": sum(fee for _, fee in CHARGES) - fee_refunded}
    assert earnings.refunds == {"usd": reversed_total}
    assert earnings.net == {
        "usd": sum(t["net"] for t in ledger if not t["type"].startswith("payout"))
    }
    assert earnings.net["usd"] == (
        earnings.gross["usd"] - earnings.platform_fees["usd"] - earnings.refunds["usd"]
    )
    # the payouts are the local Stripe's payouts of this account
    stripe_payouts = {
        row.stripe_id: row.data
        for row in StripeObject.objects.filter(object_type="payout", account=destination)
    }
    assert stripe_payouts, "the daily schedule should have paid out"
    assert {p.id: (p.amount, p.status) for p in earnings.payouts} == {
        pid: (p["amount"], p["status"]) for pid, p in stripe_payouts.items()
    }
    # the money is either paid out (or on its way) or still in the balance
    paid_out = sum(
        p["amount"] for p in stripe_payouts.values() if p["status"] not in ("failed", "canceled")
    )
    assert (
        paid_out + stripe_balance["usd"]["available"] + stripe_balance["usd"]["pending"]
        == (earnings.net["usd"])
    )
    # payout.* webhooks were mirrored, re-read from Stripe
    assert {p.stripe_payout_id: (p.amount, p.status) for p in Payout.objects.all()} == {
        pid: (p["amount"], p["status"]) for pid, p in stripe_payouts.items()
    }
    # the month chart adds up to the lifetime net
    assert sum(month.amount for month in earnings.by_month) == earnings.net["usd"]

    # and the page and the CSV show the same figures
    client.force_login(connect_coach)
    html = client.get(reverse("payments:earnings")).content.decode()
    assert format_money(earnings.gross["usd"], "usd") in html
    assert format_money(earnings.platform_fees["usd"], "usd") in html
    assert format_money(earnings.net["usd"], "usd") in html
    assert format_money(earnings.refunds["usd"], "usd") in html
    for payout_id in stripe_payouts:
        assert payout_id in html
    csv_text = client.get(reverse("payments:earnings_csv")).content.decode()
    for transfer_id in stripe_transfers:
        assert transfer_id in csv_text
    for payout_id in stripe_payouts:
        assert payout_id in csv_text


def test_a_failed_payout_is_mirrored_and_alerts_coach_and_staff(
    stripe_local, connect_coach, django_capture_on_commit_callbacks, settings
):
    from django.core import mail

    from payments.models import AccountState, StaffAlert
    from tests.payments.conftest import make_account

    settings.STAFF_ALERT_EMAILS = ["ops@example.test"]
    # given: an active coach whose bank rejects payouts, and a paid session
    with django_capture_on_commit_callbacks(execute=True):
        account = make_account(connect_coach)
        controls.complete_onboarding(
            account.stripe_account_id,
            "complete",
            bank_account={"routing_number": "110000000", "account_number": "000111111116"},
        )
        _pay(account.stripe_account_id, 10000, 1500)
    account.refresh_from_db()
    assert account.state == AccountState.ACTIVE
    mail.outbox.clear()
    # when: the payout is made and fails at the bank
    with django_capture_on_commit_callbacks(execute=True):
        controls.advance_clock(5 * 24 * 3600)
    # then
    payout = Payout.objects.get(account=account)
    stripe_payout = StripeObject.objects.get(stripe_id=payout.stripe_payout_id).data
    assert (payout.status, payout.amount) == ("failed", stripe_payout["amount"])
    assert payout.failure_code == stripe_payout["failure_code"]
    assert (
        StaffAlert.objects.filter(kind=StaffAlert.Kind.PAYOUT_FAILED, account=account).count() == 1
    )
    assert any(connect_coach.email in m.to and "payout" in m.subject.lower() for m in mail.outbox)
    assert any("ops@example.test" in m.to for m in mail.outbox)
