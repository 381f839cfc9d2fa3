"""The one module that talks to Stripe.

Everything else calls the functions here with our own objects and gets small typed results.
With ``STRIPE_SECRET_KEY`` unset the same calls go, through the real ``stripe`` library, to the
local Stripe (``payments/sandbox/``): over HTTP at ``STRIPE_API_BASE`` when the product runs,
in-process (no sockets) in tests.

Every POST carries an idempotency key made from our row id and the action
(``connected-account-<id>-create``), so a retry or a double click never does the work twice.
Stripe errors come out as ``GatewayError`` (``StripeObjectMissing`` for an unknown object).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import stripe
from django.conf import settings
from django.utils import timezone

if TYPE_CHECKING:
    from payments.models import ConnectedAccount


@cache
def stripe_client() -> stripe.StripeClient:
    if not settings.STRIPE_SANDBOX:
        return stripe.StripeClient(
            api_key=settings.STRIPE_SECRET_KEY,
            stripe_version=settings.STRIPE_API_VERSION,
            max_network_retries=2,
        )
    http_client: stripe.HTTPClient | None = None
    if settings.STRIPE_SANDBOX_IN_PROCESS:
        from payments.sandbox.client import InProcessHTTPClient

        http_client = InProcessHTTPClient()
    base = settings.STRIPE_API_BASE
    return stripe.StripeClient(
        api_key=settings.STRIPE_SANDBOX_SECRET_KEY,
        stripe_version=settings.STRIPE_API_VERSION,
        base_addresses={"api": base, "connect": base, "files": base},
        http_client=http_client,
        max_network_retries=2,
    )


# --- errors -------------------------------------------------------------------------------


class GatewayError(Exception):
    """Stripe refused or could not be reached. ``code`` is Stripe's error code, if any."""

    def __init__(self, message: str, *, code: str = "", http_status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status


class StripeObjectMissing(GatewayError):
    """Stripe has no such object (``resource_missing``), or we may no longer see it."""


class InvalidWebhook(Exception):
    """The webhook body or its signature did not verify."""


def _translate(error: stripe.StripeError) -> GatewayError:
    # The library sets ``code`` on some error classes only (not on PermissionError); the
    # parsed body always has it.
    body = getattr(error, "json_body", None) or {}
    code = getattr(error, "code", None) or (body.get("error") or {}).get("code") or ""
    status = getattr(error, "http_status", None)
    message = getattr(error, "user_message", None) or str(error) or "Stripe request failed"
    # ``account_invalid`` (403): the platform's access to the account was revoked. Other
    # permission errors (a restricted key missing a scope) are configuration, not a gone object.
    if code in ("resource_missing", "account_invalid"):
        return StripeObjectMissing(message, code=code or "resource_missing", http_status=status)
    return GatewayError(message, code=code, http_status=status)


def _key(account: ConnectedAccount, action: str, *parts: object) -> str:
    suffix = "-".join(str(part) for part in parts)
    return f"connected-account-{account.pk}-{action}" + (f"-{suffix}" if suffix else "")


def _digest(params: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]


def _ts(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value else None


def _get(source: Any, name: str, default: Any = None) -> Any:
    if source is None:
        return default
    try:
        value = source[name] if isinstance(source, dict) else getattr(source, name)
    except (KeyError, AttributeError):
        return default
    return default if value is None else value


# --- accounts -----------------------------------------------------------------------------


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
    requirements = _get(account, "requirements")
    business = _get(account, "business_profile")
    schedule = _get(_get(_get(account, "settings"), "payouts"), "schedule")
    capabilities = _get(account, "capabilities") or {}
    metadata = _get(account, "metadata") or {}
    return AccountSnapshot(
        id=account["id"],
        type=_get(account, "type", "express"),
        country=_get(account, "country", ""),
        default_currency=_get(account, "default_currency", ""),
        email=_get(account, "email", ""),
        charges_enabled=bool(_get(account, "charges_enabled", False)),
        payouts_enabled=bool(_get(account, "payouts_enabled", False)),
        details_submitted=bool(_get(account, "details_submitted", False)),
        currently_due=list(_get(requirements, "currently_due", [])),
        eventually_due=list(_get(requirements, "eventually_due", [])),
        past_due=list(_get(requirements, "past_due", [])),
        pending_verification=list(_get(requirements, "pending_verification", [])),
        errors=[
            f"{_get(error, 'requirement', '')}: {_get(error, 'reason', '')}"
            for error in _get(requirements, "errors", [])
        ],
        disabled_reason=_get(requirements, "disabled_reason", ""),
        current_deadline=_ts(_get(requirements, "current_deadline")),
        capabilities={str(name): str(value) for name, value in dict(capabilities).items()},
        business_url=_get(business, "url", ""),
        product_description=_get(business, "product_description", ""),
        payout_schedule=PayoutSchedule(
            interval=_get(schedule, "interval", "daily"),
            weekly_anchor=_get(schedule, "weekly_anchor", ""),
            monthly_anchor=_get(schedule, "monthly_anchor"),
            delay_days=_get(schedule, "delay_days"),
        ),
        metadata={str(name): str(value) for name, value in dict(metadata).items()},
    )


def account_create(
    *,
    account: ConnectedAccount,
    email: str,
    country: str,
    business_url: str = "",
    product_description: str = "",
) -> AccountSnapshot:
    """Create the coach's Express account, keyed on our row: never two for one row."""
    params: dict[str, Any] = {
        "type": "express",
        "country": country,
        "email": email,
        "capabilities": {
            "card_payments": {"requested": True},
            "transfers": {"requested": True},
        },
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
            options={"idempotency_key": _key(account, "create")},
        )
    except stripe.StripeError as error:
        raise _translate(error) from error
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
        raise _translate(error) from error


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
            options={"idempotency_key": _key(account, action, stamp, _digest(params))},
        )
    except stripe.StripeError as error:
        raise _translate(error) from error
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


@dataclass(frozen=True)
class HostedLink:
    url: str
    expires_at: datetime | None = None


def account_link_create(
    *, account: ConnectedAccount, refresh_url: str, return_url: str
) -> HostedLink:
    """A fresh onboarding link. Links are single-use and expire, so each call makes a new one;
    the key still names the row and the action, plus the moment it was asked for."""
    assert account.stripe_account_id, "the Stripe account must exist"
    try:
        link = stripe_client().v1.account_links.create(
            params={
                "account": account.stripe_account_id,
                "refresh_url": refresh_url,
                "return_url": return_url,
                "type": "account_onboarding",
            },
            options={"idempotency_key": _key(account, "account-link", timezone.now().timestamp())},
        )
    except stripe.StripeError as error:
        raise _translate(error) from error
    return HostedLink(url=link.url, expires_at=_ts(_get(link, "expires_at")))


def login_link_create(*, account: ConnectedAccount) -> HostedLink:
    """A one-time link into the coach's Express dashboard."""
    assert account.stripe_account_id, "the Stripe account must exist"
    try:
        link = stripe_client().v1.accounts.login_links.create(
            account.stripe_account_id,
            options={"idempotency_key": _key(account, "login-link", timezone.now().timestamp())},
        )
    except stripe.StripeError as error:
        raise _translate(error) from error
    return HostedLink(url=link.url)


# --- money on the connected account -------------------------------------------------------


@dataclass(frozen=True)
class Amount:
    amount: int
    currency: str


@dataclass(frozen=True)
class BalanceSnapshot:
    available: list[Amount]
    pending: list[Amount]


def balance_retrieve(*, stripe_account_id: str) -> BalanceSnapshot:
    """The connected account's own balance (``Stripe-Account`` header)."""
    try:
        balance = stripe_client().v1.balance.retrieve(options={"stripe_account": stripe_account_id})
    except stripe.StripeError as error:
        raise _translate(error) from error
    return BalanceSnapshot(
        available=[Amount(int(item["amount"]), item["currency"]) for item in balance["available"]],
        pending=[Amount(int(item["amount"]), item["currency"]) for item in balance["pending"]],
    )


@dataclass(frozen=True)
class TransferSummary:
    id: str
    amount: int
    amount_reversed: int
    currency: str
    created: datetime | None
    reversed: bool
    source_transaction: str
    description: str


def transfers_list(*, stripe_account_id: str, limit: int = 100) -> list[TransferSummary]:
    """Transfers from the platform to the account, newest first (auto-paginated)."""
    try:
        page = stripe_client().v1.transfers.list(
            params={"destination": stripe_account_id, "limit": min(limit, 100)}
        )
        transfers = []
        for transfer in page.auto_paging_iter():
            source = _get(transfer, "source_transaction", "")
            transfers.append(
                TransferSummary(
                    id=transfer["id"],
                    amount=int(transfer["amount"]),
                    amount_reversed=int(_get(transfer, "amount_reversed", 0)),
                    currency=transfer["currency"],
                    created=_ts(_get(transfer, "created")),
                    reversed=bool(_get(transfer, "reversed", False)),
                    source_transaction=source if isinstance(source, str) else source["id"],
                    description=_get(transfer, "description", ""),
                )
            )
            if len(transfers) >= limit:
                break
    except stripe.StripeError as error:
        raise _translate(error) from error
    return transfers


@dataclass(frozen=True)
class PayoutSummary:
    id: str
    amount: int
    currency: str
    status: str
    arrival_date: datetime | None
    created: datetime | None
    failure_code: str
    failure_message: str


def _payout_summary(payout: Any) -> PayoutSummary:
    return PayoutSummary(
        id=payout["id"],
        amount=int(payout["amount"]),
        currency=payout["currency"],
        status=_get(payout, "status", ""),
        arrival_date=_ts(_get(payout, "arrival_date")),
        created=_ts(_get(payout, "created")),
        failure_code=_get(payout, "failure_code", ""),
        failure_message=_get(payout, "failure_message", ""),
    )


def payouts_list(*, stripe_account_id: str, limit: int = 100) -> list[PayoutSummary]:
    """Payouts from the account's balance to its bank, newest first (auto-paginated)."""
    try:
        page = stripe_client().v1.payouts.list(
            params={"limit": min(limit, 100)}, options={"stripe_account": stripe_account_id}
        )
        payouts = []
        for payout in page.auto_paging_iter():
            payouts.append(_payout_summary(payout))
            if len(payouts) >= limit:
                break
    except stripe.StripeError as error:
        raise _translate(error) from error
    return payouts


def payout_retrieve(*, stripe_account_id: str, payout_id: str) -> PayoutSummary:
    try:
        payout = stripe_client().v1.payouts.retrieve(
            payout_id, options={"stripe_account": stripe_account_id}
        )
    except stripe.StripeError as error:
        raise _translate(error) from error
    return _payout_summary(payout)


# --- webhooks -----------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifiedEvent:
    id: str
    type: str
    account: str
    api_version: str
    livemode: bool
    created: datetime
    object_id: str
    object_type: str
    payload: dict[str, Any]


def webhook_construct_event(*, payload: bytes, signature: str, secret: str) -> VerifiedEvent:
    """Verify the raw body against the ``Stripe-Signature`` header with the official library.

    Raises ``InvalidWebhook`` for a bad signature, a stale timestamp or a body that is not an
    event.
    """
    # Only the signature check of ``construct_event``: building the full ``stripe.Event``
    # object tree costs more than the rest of receiving, and nothing reads it.
    try:
        text = payload.decode("utf-8") if isinstance(payload, bytes) else payload
        stripe.WebhookSignature.verify_header(
            text, signature, secret, tolerance=stripe.Webhook.DEFAULT_TOLERANCE
        )
    except (stripe.SignatureVerificationError, ValueError) as error:
        raise InvalidWebhook(str(error)) from error
    try:
        body = json.loads(text)
        data_object = body["data"]["object"]
        return VerifiedEvent(
            id=body["id"],
            type=body["type"],
            account=body.get("account") or "",
            api_version=body.get("api_version") or "",
            livemode=bool(body.get("livemode", False)),
            created=_ts(body.get("created")) or timezone.now(),
            object_id=str(data_object.get("id", "")),
            object_type=str(data_object.get("object", "")),
            payload=body,
        )
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise InvalidWebhook(f"not a Stripe event: {error}") from error


# --- charges, refunds and transfers (bookings issue) --------------------------------------
# Small typed results; the rest of the product never sees a ``stripe`` object. Every POST
# carries an idempotency key made from our own row id and the action.


def _call(method: Any, *args: Any, **kwargs: Any) -> Any:
    """Call one Stripe method, turning its errors into ``GatewayError``."""
    try:
        return method(*args, **kwargs)
    except stripe.StripeError as error:
        raise _translate(error) from error


def _field(source: Any, name: str, default: Any = None) -> Any:
    if source is None:
        return default
    try:
        value = source[name]
    except (KeyError, TypeError):
        return default
    return default if value is None else value


def _id_of(value: Any) -> str:
    """An expandable field's id, whether Stripe sent the id or the expanded object."""
    if not value:
        return ""
    if isinstance(value, str):
        return value
    return str(_field(value, "id", ""))


def _timestamp(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value else None


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str
    status: str  # open | complete | expired
    payment_status: str  # unpaid | paid | no_payment_required
    payment_intent_id: str
    expires_at: datetime | None
    metadata: dict[str, str]


@dataclass(frozen=True)
class PaymentIntent:
    id: str
    status: str
    amount: int
    currency: str
    metadata: dict[str, str]
    charge_id: str
    transfer_id: str
    application_fee_id: str
    failure_message: str


@dataclass(frozen=True)
class RefundResult:
    id: str
    status: str
    amount: int
    transfer_reversal_amount: int


@dataclass(frozen=True)
class TransferResult:
    id: str
    amount: int
    currency: str
    amount_reversed: int


@dataclass(frozen=True)
class DisputeResult:
    id: str
    charge_id: str
    payment_intent_id: str
    amount: int
    currency: str
    reason: str
    status: str


def _checkout_session(session: Any) -> CheckoutSession:
    return CheckoutSession(
        id=session["id"],
        url=_field(session, "url", ""),
        status=_field(session, "status", ""),
        payment_status=_field(session, "payment_status", ""),
        payment_intent_id=_id_of(_field(session, "payment_intent")),
        expires_at=_timestamp(_field(session, "expires_at")),
        metadata=dict(_field(session, "metadata", {}) or {}),
    )


def checkout_session_create(
    *,
    idempotency_key: str,
    amount: int,
    currency: str,
    product_name: str,
    customer_email: str,
    success_url: str,
    cancel_url: str,
    expires_at: datetime,
    metadata: dict[str, str],
    application_fee_amount: int | None = None,
    destination: str | None = None,
    on_behalf_of: str | None = None,
    transfer_group: str | None = None,
) -> CheckoutSession:
    """A ``mode=payment`` Checkout Session for one line; with ``destination`` it is a
    destination charge (``application_fee_amount`` kept by the platform), without it a charge
    on the platform (packages), optionally in a ``transfer_group``."""
    intent_data: dict[str, Any] = {"metadata": metadata}
    if destination:
        intent_data["transfer_data"] = {"destination": destination}
        intent_data["application_fee_amount"] = application_fee_amount or 0
    if on_behalf_of:
        intent_data["on_behalf_of"] = on_behalf_of
    if transfer_group:
        intent_data["transfer_group"] = transfer_group
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": currency,
                    "unit_amount": amount,
                    "product_data": {"name": product_name},
                },
            }
        ],
        "customer_email": customer_email,
        "success_url": success_url,
        "cancel_url": cancel_url,
        "expires_at": int(expires_at.timestamp()),
        "metadata": metadata,
        "payment_intent_data": intent_data,
    }
    session = _call(
        stripe_client().v1.checkout.sessions.create,
        params=params,  # type: ignore[arg-type]
        options={"idempotency_key": idempotency_key},
    )
    return _checkout_session(session)


def checkout_session_retrieve(session_id: str) -> CheckoutSession:
    return _checkout_session(_call(stripe_client().v1.checkout.sessions.retrieve, session_id))


def checkout_session_expire(*, session_id: str) -> CheckoutSession | None:
    """Expire an open session (a swept hold); None when Stripe says it is no longer open."""
    try:
        session = stripe_client().v1.checkout.sessions.expire(
            session_id, options={"idempotency_key": f"checkout-session-{session_id}-expire"}
        )
    except stripe.InvalidRequestError:
        return None
    except stripe.StripeError as error:
        raise _translate(error) from error
    return _checkout_session(session)


def payment_intent_retrieve(payment_intent_id: str) -> PaymentIntent:
    intent = _call(
        stripe_client().v1.payment_intents.retrieve,
        payment_intent_id,
        params={"expand": ["latest_charge"]},
    )
    charge = _field(intent, "latest_charge")
    error = _field(intent, "last_payment_error")
    return PaymentIntent(
        id=intent["id"],
        status=_field(intent, "status", ""),
        amount=int(_field(intent, "amount", 0)),
        currency=_field(intent, "currency", ""),
        metadata=dict(_field(intent, "metadata", {}) or {}),
        charge_id=_id_of(charge),
        transfer_id=_id_of(_field(charge, "transfer")) if not isinstance(charge, str) else "",
        application_fee_id=(
            _id_of(_field(charge, "application_fee")) if not isinstance(charge, str) else ""
        ),
        failure_message=str(_field(error, "message", "")),
    )


def charge_payment_intent_id(charge_id: str) -> str:
    return _id_of(_field(_call(stripe_client().v1.charges.retrieve, charge_id), "payment_intent"))


def refund_create(
    *,
    idempotency_key: str,
    payment_intent_id: str,
    amount: int,
    reverse_transfer: bool,
    refund_application_fee: bool,
    metadata: dict[str, str],
) -> RefundResult:
    params: dict[str, Any] = {
        "payment_intent": payment_intent_id,
        "amount": amount,
        "metadata": metadata,
        "expand": ["transfer_reversal"],
    }
    if reverse_transfer:
        params["reverse_transfer"] = True
        params["refund_application_fee"] = refund_application_fee
    refund = _call(
        stripe_client().v1.refunds.create,
        params=params,  # type: ignore[arg-type]
        options={"idempotency_key": idempotency_key},
    )
    reversal = _field(refund, "transfer_reversal")
    return RefundResult(
        id=refund["id"],
        status=_field(refund, "status", ""),
        amount=int(_field(refund, "amount", 0)),
        transfer_reversal_amount=int(_field(reversal, "amount", 0))
        if not isinstance(reversal, str)
        else 0,
    )


def application_fee_amount_refunded(application_fee_id: str) -> int:
    """How much of an application fee has been refunded so far, in minor units."""
    fee = _call(stripe_client().v1.application_fees.retrieve, application_fee_id)
    return int(_field(fee, "amount_refunded", 0))


def transfer_create(
    *,
    idempotency_key: str,
    amount: int,
    currency: str,
    destination: str,
    transfer_group: str,
    metadata: dict[str, str],
) -> TransferResult:
    transfer = _call(
        stripe_client().v1.transfers.create,
        params={
            "amount": amount,
            "currency": currency,
            "destination": destination,
            "transfer_group": transfer_group,
            "metadata": metadata,
        },
        options={"idempotency_key": idempotency_key},
    )
    return TransferResult(
        id=transfer["id"],
        amount=int(transfer["amount"]),
        currency=transfer["currency"],
        amount_reversed=int(_field(transfer, "amount_reversed", 0)),
    )


def transfer_retrieve(transfer_id: str) -> TransferResult:
    transfer = _call(stripe_client().v1.transfers.retrieve, transfer_id)
    return TransferResult(
        id=transfer["id"],
        amount=int(transfer["amount"]),
        currency=transfer["currency"],
        amount_reversed=int(_field(transfer, "amount_reversed", 0)),
    )


def platform_available_balance(currency: str) -> int:
    """The platform's available balance in ``currency`` (minor units)."""
    balance = _call(stripe_client().v1.balance.retrieve)
    for entry in _field(balance, "available", []) or []:
        if _field(entry, "currency", "") == currency:
            return int(_field(entry, "amount", 0))
    return 0


def dispute_retrieve(dispute_id: str) -> DisputeResult:
    dispute = _call(stripe_client().v1.disputes.retrieve, dispute_id)
    return DisputeResult(
        id=dispute["id"],
        charge_id=_id_of(_field(dispute, "charge")),
        payment_intent_id=_id_of(_field(dispute, "payment_intent")),
        amount=int(_field(dispute, "amount", 0)),
        currency=_field(dispute, "currency", ""),
        reason=_field(dispute, "reason", ""),
        status=_field(dispute, "status", ""),
    )


@dataclass(frozen=True)
class BalanceTransactionSummary:
    id: str
    type: str
    amount: int
    fee: int
    net: int
    currency: str
    created: datetime | None
    available_on: datetime | None
    status: str
    source: str


def balance_transactions_list(
    *, stripe_account_id: str, limit: int = 10_000
) -> list[BalanceTransactionSummary]:
    """The connected account's balance transactions (its ledger), newest first."""
    try:
        page = stripe_client().v1.balance_transactions.list(
            params={"limit": 100}, options={"stripe_account": stripe_account_id}
        )
        rows = []
        for txn in page.auto_paging_iter():
            source = _get(txn, "source", "")
            rows.append(
                BalanceTransactionSummary(
                    id=txn["id"],
                    type=txn["type"],
                    amount=int(txn["amount"]),
                    fee=int(_get(txn, "fee", 0)),
                    net=int(txn["net"]),
                    currency=txn["currency"],
                    created=_ts(_get(txn, "created")),
                    available_on=_ts(_get(txn, "available_on")),
                    status=_get(txn, "status", ""),
                    source=source if isinstance(source, str) else source["id"],
                )
            )
            if len(rows) >= limit:
                break
    except stripe.StripeError as error:
        raise _translate(error) from error
    return rows
