"""What the holder and Stripe do to an account: the outcomes of the hosted onboarding page,
and the changes Stripe makes on its own (verification, requirements coming due, restriction,
deauthorization). The controls and the hosted pages call these."""

from __future__ import annotations

import copy
from typing import Any

from payments.sandbox import events, store
from payments.sandbox.accounts import (
    get_account,
    requirements_shape,
    save_and_announce,
    takes_card_payments,
)

ONBOARDING_OUTCOMES = ("complete", "leave_due", "pending_verification", "reject")


FAILING_ACCOUNT_NUMBERS = {"000111111116", "000111111113"}


def onboarding_complete(
    *,
    account_id: str,
    outcome: str = "complete",
    individual: dict[str, Any] | None = None,
    bank_account: dict[str, Any] | None = None,
    ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """Finish onboarding as the hosted page does, with one of ``ONBOARDING_OUTCOMES``."""
    if outcome not in ONBOARDING_OUTCOMES:
        raise ValueError(f"outcome must be one of {ONBOARDING_OUTCOMES}")
    row = get_account(account_id, lock=True)
    before = copy.deepcopy(row.data)
    account = row.data
    now = store.now()
    individual = individual or {
        "first_name": "Jenny",
        "last_name": "Rosen",
        "dob": {"day": 1, "month": 1, "year": 1990},
        "address": {
            "line1": "address_full_match",
            "city": "Schenectady",
            "state": "NY",
            "postal_code": "12345",
            "country": account["country"],
        },
    }
    bank_account = bank_account or {"routing_number": "110000000", "account_number": "000123456789"}
    account["details_submitted"] = True
    account["business_type"] = "individual"
    account["individual"] = _person_shape(account, individual)
    account["tos_acceptance"].update({"date": now, "ip": ip, "user_agent": "local-stripe"})
    account["business_profile"]["mcc"] = account["business_profile"]["mcc"] or "8299"
    account["business_profile"]["url"] = account["business_profile"]["url"] or "https://coach.local"
    if outcome != "reject":
        external = _bank_account_shape(account, bank_account)
        account["external_accounts"]["data"] = [external]
        account["external_accounts"]["total_count"] = 1
        row.internal["payout_failure"] = bank_account["account_number"] in FAILING_ACCOUNT_NUMBERS
    if outcome == "complete":
        account["requirements"] = requirements_shape([])
        account["payouts_enabled"] = True
        account["charges_enabled"] = takes_card_payments(account)
        status = "active"
    elif outcome == "leave_due":
        due = ["individual.verification.document"]
        account["requirements"] = requirements_shape(
            due, past_due=due, disabled_reason="requirements.past_due"
        )
        account["charges_enabled"] = account["payouts_enabled"] = False
        status = "inactive"
    elif outcome == "pending_verification":
        account["requirements"] = requirements_shape(
            [],
            pending=["individual.id_number"],
            disabled_reason="requirements.pending_verification",
        )
        account["charges_enabled"] = account["payouts_enabled"] = False
        status = "pending"
    else:
        account["requirements"] = requirements_shape([], disabled_reason="rejected.fraud")
        account["charges_enabled"] = account["payouts_enabled"] = False
        status = "inactive"
    account["capabilities"] = {name: status for name in account["capabilities"]}
    row.internal["onboarding"] = outcome
    return save_and_announce(row, before)


def _bank_account_shape(account: dict[str, Any], bank: dict[str, Any]) -> dict[str, Any]:
    number = bank["account_number"]
    return {
        "id": store.new_id("ba_"),
        "object": "bank_account",
        "account": account["id"],
        "account_holder_name": None,
        "account_holder_type": None,
        "account_type": None,
        "available_payout_methods": ["standard"],
        "bank_name": "STRIPE TEST BANK",
        "country": account["country"],
        "currency": account["default_currency"],
        "default_for_currency": True,
        "fingerprint": store.new_id("", 16),
        "future_requirements": None,
        "last4": number[-4:],
        "metadata": {},
        "requirements": None,
        "routing_number": bank.get("routing_number"),
        "status": "new",
    }


def _person_shape(account: dict[str, Any], individual: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": store.new_id("person_", 16),
        "object": "person",
        "account": account["id"],
        "address": {
            "city": None,
            "country": account["country"],
            "line1": None,
            "line2": None,
            "postal_code": None,
            "state": None,
            **(individual.get("address") or {}),
        },
        "created": store.now(),
        "dob": individual.get("dob") or {"day": None, "month": None, "year": None},
        "email": account.get("email"),
        "first_name": individual.get("first_name"),
        "last_name": individual.get("last_name"),
        "metadata": {},
        "phone": individual.get("phone"),
        "relationship": {
            "director": False,
            "executive": False,
            "owner": False,
            "percent_ownership": None,
            "representative": True,
            "title": None,
        },
        "requirements": requirements_shape([]),
        "ssn_last_4_provided": True,
        "verification": {"status": "verified", "document": {"back": None, "front": None}},
    }


def account_verify(*, account_id: str) -> dict[str, Any]:
    """Stripe finished verifying what was pending: the account becomes fully enabled."""
    row = get_account(account_id, lock=True)
    before = copy.deepcopy(row.data)
    row.data["requirements"] = requirements_shape([])
    row.data["payouts_enabled"] = True
    row.data["charges_enabled"] = takes_card_payments(row.data)
    row.data["capabilities"] = {name: "active" for name in row.data["capabilities"]}
    return save_and_announce(row, before)


def account_change(
    *,
    account_id: str,
    past_due: list[str] | None = None,
    currently_due: list[str] | None = None,
    current_deadline: int | None = None,
    disabled_reason: str | None = None,
    charges_enabled: bool | None = None,
    payouts_enabled: bool | None = None,
    deauthorize: bool = False,
) -> dict[str, Any]:
    """What Stripe does to an account on its own: requirements come due, it restricts it,
    or the account holder disconnects the platform (``account.application.deauthorized``)."""
    row = get_account(account_id, lock=True)
    if deauthorize:
        row.internal["deauthorized"] = True
        store.save(row)
        application = {
            "id": store.new_id("ca_", 24),
            "object": "application",
            "name": "Coach Connect",
        }
        events.record("account.application.deauthorized", application, account=account_id)
        return row.data
    before = copy.deepcopy(row.data)
    requirements = row.data["requirements"]
    if currently_due is not None:
        requirements["currently_due"] = list(currently_due)
        requirements["eventually_due"] = sorted(
            set(requirements["eventually_due"]) | set(currently_due)
        )
        requirements["current_deadline"] = current_deadline
    if past_due is not None:
        requirements["past_due"] = list(past_due)
        requirements["currently_due"] = sorted(set(requirements["currently_due"]) | set(past_due))
        requirements["eventually_due"] = sorted(set(requirements["eventually_due"]) | set(past_due))
        if past_due:
            requirements["disabled_reason"] = "requirements.past_due"
            row.data["charges_enabled"] = row.data["payouts_enabled"] = False
    if disabled_reason is not None:
        requirements["disabled_reason"] = disabled_reason or None
    if charges_enabled is not None:
        # An account without ``card_payments`` never takes charges, whatever is asked.
        row.data["charges_enabled"] = charges_enabled and takes_card_payments(row.data)
    if payouts_enabled is not None:
        row.data["payouts_enabled"] = payouts_enabled
    if (
        (row.data["charges_enabled"] or not takes_card_payments(row.data))
        and row.data["payouts_enabled"]
        and not requirements["disabled_reason"]
    ):
        status = "active"
    else:
        status = "inactive"
    row.data["capabilities"] = {name: status for name in row.data["capabilities"]}
    return save_and_announce(row, before)
