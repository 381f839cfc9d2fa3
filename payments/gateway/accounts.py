"""Connected accounts: creating, reading and updating the coach's Express account."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import stripe

from payments.gateway.client import stripe_client
from payments.gateway.errors import translate
from payments.gateway.fields import field_value, plain_dict, timestamp

if TYPE_CHECKING:
    from payments.models import ConnectedAccount


def idempotency_key(account: ConnectedAccount, action: str, *parts: object) -> str:
    """The idempotency key of one action on our connected account row:
    ``connected-account-<id>-<action>[-<parts>]``."""
    suffix = "-".join(str(part) for part in parts)
    return f"connected-account-{account.pk}-{action}" + (f"-{suffix}" if suffix else "")


def _digest(params: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class PayoutSchedule:
    interval: str = "daily"
    weekly_anchor: str = ""
    monthly_anchor: int | None = None
    delay_days: int | None = None


@dataclass(frozen=True)
class AccountSnapshot:
    """What we mirror of a Stripe account."""

    id: str
    type: str
    country: str
    service_agreement: str
    default_currency: str
    email: str
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool
    currently_due: list[str] = field(default_factory=list)
    eventually_due: list[str] = field(default_factory=list)
    past_due: list[str] = field(default_factory=list)
    pending_verification: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    disabled_reason: str = ""
    current_deadline: datetime | None = None
    capabilities: dict[str, str] = field(default_factory=dict)
    business_url: str = ""
    product_description: str = ""
    payout_schedule: PayoutSchedule = field(default_factory=PayoutSchedule)
    metadata: dict[str, str] = field(default_factory=dict)


def _account_snapshot(account: Any) -> AccountSnapshot:
    requirements = field_value(account, "requirements")
    business = field_value(account, "business_profile")
    schedule = field_value(field_value(field_value(account, "settings"), "payouts"), "schedule")
    capabilities = field_value(account, "capabilities") or {}
    metadata = field_value(account, "metadata") or {}
    return AccountSnapshot(
        id=account["id"],
        type=field_value(account, "type", "express"),
        country=field_value(account, "country", ""),
        service_agreement=field_value(
            field_value(account, "tos_acceptance"), "service_agreement", ""
        )
        or "full",
        default_currency=field_value(account, "default_currency", ""),
        email=field_value(account, "email", ""),
        charges_enabled=bool(field_value(account, "charges_enabled", False)),
        payouts_enabled=bool(field_value(account, "payouts_enabled", False)),
        details_submitted=bool(field_value(account, "details_submitted", False)),
        currently_due=list(field_value(requirements, "currently_due", [])),
        eventually_due=list(field_value(requirements, "eventually_due", [])),
        past_due=list(field_value(requirements, "past_due", [])),
        pending_verification=list(field_value(requirements, "pending_verification", [])),
        errors=[
            f"{field_value(error, 'requirement', '')}: {field_value(error, 'reason', '')}"
            for error in field_value(requirements, "errors", [])
        ],
        disabled_reason=field_value(requirements, "disabled_reason", ""),
        current_deadline=timestamp(field_value(requirements, "current_deadline")),
        capabilities={str(name): str(value) for name, value in plain_dict(capabilities).items()},
        business_url=field_value(business, "url", ""),
        product_description=field_value(business, "product_description", ""),
        payout_schedule=PayoutSchedule(
            interval=field_value(schedule, "interval", "daily"),
            weekly_anchor=field_value(schedule, "weekly_anchor", ""),
            monthly_anchor=field_value(schedule, "monthly_anchor"),
            delay_days=field_value(schedule, "delay_days"),
        ),
        metadata={str(name): str(value) for name, value in plain_dict(metadata).items()},
    )


def account_create(
    *,
    account: ConnectedAccount,
    email: str,
    country: str,
    service_agreement: str = "full",
    business_url: str = "",
    product_description: str = "",
    transfers_only: bool = False,
) -> AccountSnapshot:
    """Create the holder's Express account, keyed on our row: never two for one row.

    A ``recipient`` account asks for ``transfers`` only (it cannot take card payments), and
    so does a payee's (``transfers_only``: paid by the platform, never charging anyone)."""
    capabilities: dict[str, Any] = {"transfers": {"requested": True}}
    if service_agreement != "recipient" and not transfers_only:
        capabilities["card_payments"] = {"requested": True}
    params: dict[str, Any] = {
        "type": "express",
        "country": country,
        "email": email,
        "capabilities": capabilities,
        "tos_acceptance": {"service_agreement": service_agreement},
        "metadata": {
            "connected_account_id": str(account.pk),
            "coach_id": str(account.coach_id),
        },
    }
    business_profile = {
        name: value
        for name, value in (("url", business_url), ("product_description", product_description))
        if value
    }
    if business_profile:
        params["business_profile"] = business_profile
    try:
        created = stripe_client().v1.accounts.create(
            params=params,  # type: ignore[arg-type]
            options={"idempotency_key": idempotency_key(account, "create")},
        )
    except stripe.StripeError as error:
        raise translate(error) from error
    return _account_snapshot(created)


def account_retrieve(*, stripe_account_id: str) -> AccountSnapshot:
    """Read the account as itself (``Stripe-Account`` header): when the coach revoked the
    platform's access this fails with ``account_invalid`` (``StripeObjectMissing``)."""
    try:
        return _account_snapshot(
            stripe_client().v1.accounts.retrieve(
                stripe_account_id, options={"stripe_account": stripe_account_id}
            )
        )
    except stripe.StripeError as error:
        raise translate(error) from error


def _account_update(
    *, account: ConnectedAccount, action: str, params: dict[str, Any]
) -> AccountSnapshot:
    assert account.stripe_account_id, "the Stripe account must exist"
    # The key names the row, the action and the exact change: a retry of the same change is
    # one request, a different change later is a new one.
    stamp = int(account.updated_at.timestamp() * 1_000_000) if account.updated_at else 0
    try:
        updated = stripe_client().v1.accounts.update(
            account.stripe_account_id,
            params=params,  # type: ignore[arg-type]
            options={"idempotency_key": idempotency_key(account, action, stamp, _digest(params))},
        )
    except stripe.StripeError as error:
        raise translate(error) from error
    return _account_snapshot(updated)


def account_update_business_profile(
    *, account: ConnectedAccount, url: str, product_description: str
) -> AccountSnapshot:
    return _account_update(
        account=account,
        action="business-profile",
        params={"business_profile": {"url": url, "product_description": product_description}},
    )


def account_update_payout_schedule(
    *,
    account: ConnectedAccount,
    schedule: PayoutSchedule,
    minimum_amount: int,
    default_currency: str = "",
) -> AccountSnapshot:
    stripe_schedule: dict[str, Any] = {"interval": schedule.interval}
    if schedule.interval == "weekly":
        stripe_schedule["weekly_anchor"] = schedule.weekly_anchor
    if schedule.interval == "monthly":
        stripe_schedule["monthly_anchor"] = schedule.monthly_anchor
    if schedule.delay_days is not None and schedule.interval != "manual":
        stripe_schedule["delay_days"] = schedule.delay_days
    params: dict[str, Any] = {
        "settings": {"payouts": {"schedule": stripe_schedule}},
        "metadata": {"payout_minimum_amount": str(minimum_amount)},
    }
    if default_currency:
        params["default_currency"] = default_currency
    return _account_update(account=account, action="payout-schedule", params=params)
