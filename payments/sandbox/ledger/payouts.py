"""Payouts: from an available balance to a bank account, paid, failed or canceled.

A connected account's payouts are manual (``POST /v1/payouts`` with ``Stripe-Account``) or
made on the account's schedule; the platform's are manual (no ``Stripe-Account``), to the
platform's own bank account. Every payout follows Stripe's lifecycle: it starts ``pending``
(``payout.created``), becomes ``in_transit`` when it is submitted to the bank an hour later by
the sandbox clock (``payout.updated``), and ends when it arrives, a day after it was made:
``paid`` (``payout.paid``) or ``failed`` (``payout.failed``, the amount back in the balance),
as the bank account decides (a coach's failing test account number, or ``outcome="failed"``).
Only a pending manual payout can be canceled (``POST /v1/payouts/{id}/cancel``:
``payout.canceled``, the amount back)."""

from __future__ import annotations

import copy
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from marketplace.money import format_money
from payments.sandbox import accounts, errors, events, store
from payments.sandbox.ledger.balances import balance_amounts, balance_transaction, lock_balance
from payments.sandbox.models import StripeObject

PAYOUT_TRANSIT_SECONDS = 86400
# How long after it is made a payout is submitted to the bank (``in_transit``).
PAYOUT_SUBMIT_SECONDS = 3600
# The platform's own bank account (the platform is not an account object in the sandbox).
PLATFORM_BANK_ACCOUNT = "ba_platform_local_bank"
PAYOUT_OUTCOMES = ("paid", "failed")
# Stripe's answer to a payout of more than the available balance (two spaces and all).
INSUFFICIENT_FUNDS = (
    "You have insufficient funds in your Stripe account for this transfer. Your card balance "
    "is too low.  You can use the /v1/balance endpoint to view your Stripe balance (for more "
    "details, see stripe.com/docs/api#balance)."
)


def payouts_for(*, account: str) -> list[dict[str, Any]]:
    rows = []
    for row in StripeObject.objects.filter(object_type="payout", account=account)[:50]:
        payout = row.data
        rows.append(
            {
                **payout,
                "amount_display": format_money(payout["amount"], payout["currency"]),
                "arrival_display": datetime.fromtimestamp(payout["arrival_date"], UTC).strftime(
                    "%Y-%m-%d %H:%M UTC"
                ),
            }
        )
    return rows


def _payout_due(schedule: dict[str, Any], day_start: int) -> bool:
    day = datetime.fromtimestamp(day_start, UTC)
    interval = schedule.get("interval")
    if interval == "daily":
        return True
    if interval == "weekly":
        return day.strftime("%A").lower() == schedule.get("weekly_anchor", "monday")
    if interval == "monthly":
        return day.day == int(schedule.get("monthly_anchor", 1))
    return False


def payout_create(
    *,
    account: str,
    amount: int,
    currency: str,
    automatic: bool,
    description: str | None = None,
    metadata: dict[str, Any] | None = None,
    at: int | None = None,
    outcome: str | None = None,
) -> dict[str, Any]:
    """Pay ``amount`` of ``account``'s ("" = the platform's) available balance out to its
    bank account. ``outcome`` (``paid`` or ``failed``) decides how it arrives; by default a
    connected account's bank decides (the failing test account number) and the platform's
    pays."""
    if outcome is not None and outcome not in PAYOUT_OUTCOMES:
        raise ValueError(f"a payout arrives {' or '.join(PAYOUT_OUTCOMES)}, not {outcome!r}")
    lock_balance(account)
    available = balance_amounts(account).get(currency, {}).get("available", 0)
    if amount <= 0 or amount > available:
        raise errors.StripeError(INSUFFICIENT_FUNDS, code="balance_insufficient", param="amount")
    if account:
        row = accounts.get_account(account)
        externals = row.data["external_accounts"]["data"]
        if not externals:
            raise errors.StripeError(
                "This account has no bank account to pay out to.", code="no_external_account"
            )
        destination = externals[0]["id"]
        fails = bool(row.internal.get("payout_failure"))
    else:
        destination, fails = PLATFORM_BANK_ACCOUNT, False
    if outcome is not None:
        fails = outcome == "failed"
    payout_id = store.new_id("po_")
    created = store.now() if at is None else at
    txn = balance_transaction(
        account=account,
        amount=-amount,
        currency=currency,
        type="payout",
        source=payout_id,
        reporting_category="payout",
        available_on=created,
    )
    payout = {
        "id": payout_id,
        "object": "payout",
        "amount": amount,
        "application_fee": None,
        "application_fee_amount": None,
        "arrival_date": created + PAYOUT_TRANSIT_SECONDS,
        "automatic": automatic,
        "balance_transaction": txn["id"],
        "created": created,
        "currency": currency,
        "description": description or "STRIPE PAYOUT",
        "destination": destination,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "livemode": False,
        "metadata": dict(metadata or {}),
        "method": "standard",
        "original_payout": None,
        "payout_method": None,
        "reconciliation_status": "not_applicable" if not automatic else "in_progress",
        "reversed_by": None,
        "source_type": "card",
        "statement_descriptor": None,
        "status": "pending",
        "trace_id": {"status": "pending", "value": None},
        "type": "bank_account",
    }
    store.insert(payout, account=account, internal={"fails": fails})
    events.record("payout.created", payout, account=account)
    return payout


def payout_cancel(*, account: str, payout_id: str) -> dict[str, Any]:
    """Cancel a pending manual payout: its amount returns to the available balance."""
    lock_balance(account)
    row = store.get(payout_id, "payout", account=account, lock=True, param="payout")
    payout = row.data
    if payout["automatic"]:
        raise errors.StripeError(
            "Automatic payouts cannot be canceled. You can only cancel payouts you created.",
        )
    if payout["status"] != "pending":
        raise errors.StripeError(
            f"Payouts can only be canceled while they are pending. This payout is "
            f"{payout['status']}.",
        )
    txn = balance_transaction(
        account=account,
        amount=payout["amount"],
        currency=payout["currency"],
        type="payout_cancel",
        source=payout["id"],
        reporting_category="payout_reversal",
    )
    payout["status"] = "canceled"
    payout["failure_balance_transaction"] = txn["id"]
    store.save(row)
    events.record("payout.canceled", payout, account=account)
    return payout


def payout_arrive(*, payout_id: str) -> dict[str, Any]:
    """The payout arrives now (whatever its arrival date): paid or failed, in transit first
    if it was still pending."""
    row = store.get(payout_id, "payout")
    _settle_payout(row)
    return store.get(payout_id, "payout").data


def payout_submit(*, payout_id: str) -> dict[str, Any]:
    """Stripe submits a pending payout to the bank now: ``in_transit`` (``payout.updated``).
    A payout already submitted, arrived or canceled is left as it is."""
    row = store.get(payout_id, "payout", lock=True)
    payout = row.data
    if payout["status"] != "pending":
        return payout
    payout["status"] = "in_transit"
    store.save(row)
    events.record(
        "payout.updated", payout, account=row.account, previous_attributes={"status": "pending"}
    )
    return payout


def run_payouts(*, until: int, since: int) -> None:
    """Make the scheduled payouts of each day boundary in ``(since, until]`` and settle the
    payouts whose arrival date has come (``payout.paid`` or ``payout.failed``)."""
    first_day = (since // 86400 + 1) * 86400
    for row in StripeObject.objects.filter(object_type="account").order_by("id"):
        account = row.data
        if row.internal.get("deleted") or row.internal.get("deauthorized"):
            continue
        schedule = account["settings"]["payouts"]["schedule"]
        if not account["payouts_enabled"] or schedule.get("interval") == "manual":
            continue
        for day_start in range(first_day, until + 1, 86400):
            if not _payout_due(schedule, day_start):
                continue
            lock_balance(account["id"])
            available_now = balance_amounts(account["id"])
            for currency, then in _balance_at(account["id"], day_start).items():
                # What was available at the payout time, and still is (a later refund or
                # reversal may have taken some).
                amount = min(then, available_now.get(currency, {}).get("available", 0))
                if amount > 0 and account["external_accounts"]["data"]:
                    payout_create(
                        account=account["id"],
                        amount=amount,
                        currency=currency,
                        automatic=True,
                        at=day_start,
                    )
    for payout_row in StripeObject.objects.filter(
        object_type="payout", data__status__in=["pending", "in_transit"]
    ).order_by("created", "id"):
        if payout_row.data["arrival_date"] <= until:
            _settle_payout(payout_row)
        elif payout_row.data["created"] + PAYOUT_SUBMIT_SECONDS <= until:
            payout_submit(payout_id=payout_row.stripe_id)


def _balance_at(account: str, moment: int) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for txn in StripeObject.objects.filter(
        object_type="balance_transaction", account=account
    ).values_list("data", flat=True):
        if txn["available_on"] <= moment:
            totals[txn["currency"]] += txn["net"]
    return totals


def _settle_payout(row: StripeObject) -> None:
    lock_balance(row.account)
    payout = payout_submit(payout_id=row.stripe_id)
    if payout["status"] != "in_transit":
        return
    row = store.get(row.stripe_id, "payout", lock=True)
    payout = row.data
    if row.internal.get("fails"):
        txn = balance_transaction(
            account=row.account,
            amount=payout["amount"],
            currency=payout["currency"],
            type="payout_failure",
            source=payout["id"],
            reporting_category="payout_reversal",
        )
        payout.update(
            {
                "status": "failed",
                "failure_code": "no_account",
                "failure_message": "The bank account details on file are probably incorrect. "
                "No bank account could be located with those details.",
                "failure_balance_transaction": txn["id"],
            }
        )
        store.save(row)
        events.record("payout.failed", payout, account=row.account)
        if not row.account:
            return
        # As on Stripe, a failed payout disables payouts until the bank account is replaced.
        account_row = accounts.get_account(row.account, lock=True)
        before = copy.deepcopy(account_row.data)
        requirements = account_row.data["requirements"]
        requirements["currently_due"] = sorted({*requirements["currently_due"], "external_account"})
        requirements["eventually_due"] = sorted(
            {*requirements["eventually_due"], "external_account"}
        )
        requirements["errors"] = [
            {
                "code": "verification_failed_other",
                "reason": "Payout failed: no bank account with those details.",
                "requirement": "external_account",
            }
        ]
        account_row.data["payouts_enabled"] = False
        accounts.save_and_announce(account_row, before)
    else:
        payout["status"] = "paid"
        payout["reconciliation_status"] = "completed" if payout["automatic"] else "not_applicable"
        payout["trace_id"] = {"status": "supported", "value": "LOCALTRACE" + payout["id"][-8:]}
        store.save(row)
        events.record("payout.paid", payout, account=row.account)
