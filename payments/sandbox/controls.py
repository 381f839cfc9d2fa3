"""Controls of the local Stripe for tests and development.

These do what Stripe (or a person on a Stripe-hosted page) would do; the hosted pages call the
same functions. See docs/stripe-sandbox.md for the whole list.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db import transaction

from payments.sandbox import (
    billing,
    billing_portal,
    chaos,
    checkout,
    events,
    onboarding,
    payment_intents,
    setup_intents,
    store,
)
from payments.sandbox.ledger import balances, disputes, payouts, refunds
from payments.sandbox.models import (
    DeliveryStatus,
    IdempotencyKey,
    SandboxState,
    StripeObject,
    WebhookDelivery,
    WebhookEndpoint,
)

PLATFORM_WEBHOOK_PATH = "/payments/webhooks/stripe/"
CONNECT_WEBHOOK_PATH = "/payments/webhooks/stripe/connect/"


def reset() -> None:
    """Forget every object, key, event, delivery and endpoint; the clock returns to now."""
    with transaction.atomic():
        WebhookDelivery.objects.all().delete()
        WebhookEndpoint.objects.all().delete()
        StripeObject.objects.all().delete()
        IdempotencyKey.objects.all().delete()
        SandboxState.objects.all().delete()
        store.state()


def register_endpoint(
    *, url: str, secret: str, connect: bool, enabled_events: list[str] | None = None
) -> WebhookEndpoint:
    """An endpoint listening to ``enabled_events`` (Stripe's list: exact types, or ``*``, the
    default), in the local Stripe's mode, signing with ``secret`` (a product's endpoints are
    made through the API by ``manage.py stripe_webhook_endpoints``)."""
    events_enabled = list(enabled_events or ["*"])
    mode = {"livemode": store.current_livemode(), "status": "enabled"}
    endpoint, _ = WebhookEndpoint.objects.update_or_create(
        url=url,
        connect=connect,
        defaults={"secret": secret, "enabled_events": events_enabled, **mode},
        create_defaults={
            "secret": secret,
            "enabled_events": events_enabled,
            "stripe_id": store.new_id("we_"),
            "created": store.now(),
            "api_version": settings.STRIPE_API_VERSION,
            **mode,
        },
    )
    return endpoint


def roll_endpoint_secret(endpoint_id: str, *, old_expires_in: int = 24 * 3600) -> str:
    """Roll an endpoint's signing secret as the Dashboard does: a new secret signs from now
    on, and the old one too (a second ``v1`` signature) until ``old_expires_in`` seconds of
    the sandbox clock have passed. Returns the new secret."""
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(stripe_id=endpoint_id)
        endpoint.previous_secrets = [
            *endpoint.previous_secrets,
            {"secret": endpoint.secret, "expires": store.now() + old_expires_in},
        ]
        endpoint.secret = "whsec_" + secrets.token_hex(16)
        endpoint.save(update_fields=["secret", "previous_secrets"])
    return endpoint.secret


def register_default_endpoints(site_url: str | None = None) -> list[WebhookEndpoint]:
    """The product's two endpoints on ``SITE_URL``, with the secrets from settings (idempotent)."""
    site_url = (site_url or settings.SITE_URL).rstrip("/")
    return [
        register_endpoint(
            url=site_url + PLATFORM_WEBHOOK_PATH,
            secret=settings.STRIPE_WEBHOOK_SECRETS[0],
            connect=False,
        ),
        register_endpoint(
            url=site_url + CONNECT_WEBHOOK_PATH,
            secret=settings.STRIPE_CONNECT_WEBHOOK_SECRETS[0],
            connect=True,
        ),
    ]


def now() -> int:
    """The sandbox clock (Unix seconds)."""
    return store.now()


# --- accounts ------------------------------------------------------------------------------


def complete_onboarding(account_id: str, outcome: str = "complete", **details: Any) -> dict:
    """Finish onboarding as the hosted page does: ``complete``, ``leave_due``,
    ``pending_verification`` or ``reject``. ``details`` may carry ``individual`` and
    ``bank_account`` (``account_number`` 000111111116 makes payouts fail)."""
    with transaction.atomic():
        return onboarding.onboarding_complete(account_id=account_id, outcome=outcome, **details)


def verify_account(account_id: str) -> dict:
    """Stripe finished a pending verification: charges and payouts become enabled."""
    with transaction.atomic():
        return onboarding.account_verify(account_id=account_id)


def update_account(account_id: str, **changes: Any) -> dict:
    """Change an account as Stripe would: ``past_due=[...]``, ``currently_due=[...]`` with
    ``current_deadline``, ``disabled_reason="rejected.fraud"`` / ``"platform_paused"`` ...,
    ``charges_enabled``/``payouts_enabled``, or ``deauthorize=True`` (the account holder
    disconnects the platform: ``account.application.deauthorized``)."""
    with transaction.atomic():
        return onboarding.account_change(account_id=account_id, **changes)


# --- clock --------------------------------------------------------------------------------


def advance_clock(seconds: int) -> int:
    """Move the sandbox clock forward and do what Stripe does as time passes: account and
    login links expire, open Checkout Sessions past ``expires_at`` expire
    (``checkout.session.expired``), pending funds become available (``balance.available``),
    payouts are made on each account's schedule and arrive (``payout.paid``/``payout.failed``).
    Returns the new sandbox time."""
    if seconds < 0:
        raise ValueError("the sandbox clock only moves forward")
    with transaction.atomic():
        state = store.state(lock=True)
        before = store.now()
        balances_before = _all_available()
        state.clock_offset_seconds += seconds
        state.save(update_fields=["clock_offset_seconds"])
        after = store.now()
        checkout.expire_due_sessions(now=after)
        for account, available in _all_available().items():
            if available != balances_before.get(account) and _became_available(
                balances_before.get(account, {}), available
            ):
                events.record("balance.available", balances.balance_shape(account), account=account)
        refunds.settle_due_refunds(now=after)
        payouts.run_payouts(since=before, until=after)
        billing.run_due(None, after)
    return after


def _all_available() -> dict[str, dict[str, int]]:
    account_ids = StripeObject.objects.filter(object_type="account").values_list(
        "stripe_id", flat=True
    )
    owners = ["", *account_ids]
    return {
        owner: {cur: v["available"] for cur, v in balances.balance_amounts(owner).items()}
        for owner in owners
    }


def _became_available(before: dict[str, int], after: dict[str, int]) -> bool:
    return any(after[cur] > before.get(cur, 0) for cur in after)


def set_available_delay(seconds: int) -> None:
    """How long new charges stay pending before they become available (default two days);
    turns business-day availability off."""
    store.state()
    SandboxState.objects.filter(pk=1).update(
        available_delay_seconds=seconds, available_business_days=None
    )


def set_available_business_days(days: int | None) -> None:
    """New charges become available at 00:00 UTC after ``days`` business days (Monday to
    Friday), as on Stripe; None goes back to the fixed delay."""
    store.state()
    SandboxState.objects.filter(pk=1).update(available_business_days=days)


# --- payments ------------------------------------------------------------------------------


def pay_checkout_session(
    session_id: str,
    card: str = "4242424242424242",
    authenticate: bool = True,
    email: str | None = None,
    name: str | None = "Test Client",
    save_card: bool = False,
    saved_payment_method: str | None = None,
) -> dict:
    """Pay as the hosted Checkout page does. Returns the completed session; a declined card
    raises ``checkout.PaymentDeclined`` (the session stays open). 4000002500003155 asks for
    authentication: ``authenticate=False`` fails it. ``save_card`` ticks "save my card"
    (when the session offers it); ``saved_payment_method`` pays with one of the customer's
    saved cards instead."""
    # One clock read for the whole payment, as for an API request.
    with transaction.atomic(), store.request_scope():
        session, declined = payment_intents.session_pay(
            session_id=session_id,
            card_number=card,
            authenticate=authenticate,
            email=email,
            name=name,
            save_card=save_card,
            saved_payment_method=saved_payment_method,
        )
    if declined is not None:
        raise declined
    return session


def authenticate_setup_intent(setup_intent_id: str, succeed: bool = True) -> dict:
    """What the customer does on the 3-D Secure test page a SetupIntent in
    ``requires_action`` sends them to (its ``next_action``): complete the authentication (the
    card is set up and attached) or fail it (``setup_intent_authentication_failure``)."""
    with transaction.atomic(), store.request_scope(), billing.on_clock_of(setup_intent_id):
        return setup_intents.setup_intent_authenticate(
            setup_intent_id=setup_intent_id, succeed=succeed
        )


def make_payout(
    account: str = "",
    *,
    amount: int | None = None,
    currency: str | None = None,
    outcome: str = "paid",
) -> dict:
    """Pay out ``account``'s ("" = the platform's) available balance (all of it in
    ``currency`` unless ``amount``), as the account holder does from the Dashboard
    (``payout.created``). ``outcome`` is what happens next: ``paid`` or ``failed`` when it
    arrives a day later by the sandbox clock (``advance_clock`` or ``payout_arrive``), in
    transit an hour after it was made, or ``canceled`` at once (``payout.canceled``)."""
    with transaction.atomic():
        available = balances.balance_amounts(account)
        currency = currency or next(
            (cur for cur, amounts in sorted(available.items()) if amounts["available"] > 0),
            settings.PLATFORM_CURRENCY,
        )
        if amount is None:
            amount = available.get(currency, {}).get("available", 0)
        payout = payouts.payout_create(
            account=account,
            amount=amount,
            currency=currency,
            automatic=False,
            outcome=None if outcome == "canceled" else outcome,
        )
        if outcome == "canceled":
            payout = payouts.payout_cancel(account=account, payout_id=payout["id"])
    return payout


def submit_payout(payout_id: str) -> dict:
    """Stripe submits a pending payout to the bank now (an hour after it was made, by the
    sandbox clock): ``in_transit``, ``payout.updated``."""
    with transaction.atomic():
        return payouts.payout_submit(payout_id=payout_id)


def payout_arrive(payout_id: str) -> dict:
    """A payout arrives now: ``payout.paid`` or ``payout.failed`` (after ``payout.updated``
    to ``in_transit`` if it was still pending)."""
    with transaction.atomic():
        return payouts.payout_arrive(payout_id=payout_id)


def send_event(event_type: str, object_id: str, *, livemode: bool | None = None) -> dict:
    """Record and deliver an event about a stored object as it is now, optionally in the
    other mode: ``livemode=False`` on a live local Stripe is what a test-mode connected
    account sends to a live platform's Connect endpoint. An account's events carry the
    account (``event.account``), any other object's its owner's."""
    row = StripeObject.objects.exclude(object_type="event").get(stripe_id=object_id)
    account = row.stripe_id if row.object_type == "account" else row.account
    with transaction.atomic():
        return events.record(event_type, row.data, account=account, livemode=livemode)


def dispute_charge(charge_id: str, reason: str = "fraudulent") -> dict:
    """The cardholder disputes the charge: the amount and Stripe's dispute fee leave the
    platform (``charge.dispute.created``, ``charge.dispute.funds_withdrawn``)."""
    with transaction.atomic():
        return disputes.dispute_create(charge_id=charge_id, reason=reason)


def submit_dispute_evidence(dispute_id: str, text: str = "") -> dict:
    """Evidence is submitted: the dispute goes ``under_review`` (``charge.dispute.updated``).
    As in Stripe's test mode, ``winning_evidence`` / ``losing_evidence`` closes it too."""
    with transaction.atomic():
        return disputes.dispute_submit_evidence(
            dispute_id=dispute_id, evidence={"uncategorized_text": text or "Session held."}
        )


def close_dispute(dispute_id: str, outcome: str) -> dict:
    """The card network decides: ``won`` (the amount is reinstated,
    ``charge.dispute.funds_reinstated``; Stripe keeps its fee) or ``lost``
    (``charge.dispute.closed`` either way)."""
    with transaction.atomic():
        return disputes.dispute_close(dispute_id=dispute_id, outcome=outcome)


def set_refund_outcome(outcome: str, charge_id: str | None = None) -> None:
    """What new refunds do: ``succeeded`` (at once), ``pending_succeeds``, ``pending_fails``
    or ``fails_later`` (succeeded, then failed, as Stripe's 4000 0000 0000 5126 card). With
    ``charge_id``, for that charge's refunds only; else for every charge without its own."""
    if outcome not in SandboxState.RefundOutcome.values:
        raise ValueError(f"unknown refund outcome {outcome!r}")
    with transaction.atomic():
        if charge_id:
            row = store.get(charge_id, "charge", account="", lock=True)
            row.internal = {**row.internal, "refund_outcome": outcome}
            store.save(row)
        else:
            store.state()
            SandboxState.objects.filter(pk=1).update(refund_outcome=outcome)


def settle_refund(refund_id: str, outcome: str | None = None) -> dict:
    """A pending (or later-failing) refund reaches its outcome now: ``succeeded`` or
    ``failed``, by default the one chosen when it was made."""
    with transaction.atomic():
        return refunds.refund_settle(refund_id=refund_id, outcome=outcome)


def settle_refunds() -> list[str]:
    """Every refund waiting for a later outcome reaches it now; returns their ids."""
    with transaction.atomic():
        return refunds.settle_due_refunds(now=2**62)


def set_delivery_chaos(*, shuffled: bool = True, duplicate_percent: int = 0, seed: int = 0) -> None:
    """Hold deliveries back and send them (``deliver_pending_events``, the sweeper, the
    developer page) in a random order, ``duplicate_percent`` of them twice; ``seed`` makes
    the run repeatable. ``shuffled=False`` returns to delivery at commit."""
    if not 0 <= duplicate_percent <= 100:
        raise ValueError("duplicate_percent is between 0 and 100")
    store.state()
    SandboxState.objects.filter(pk=1).update(
        deliveries_shuffled=shuffled, duplicate_percent=duplicate_percent, chaos_seed=seed
    )
    chaos.reseed(seed)


def set_lost_answers(percent: int, seed: int | None = None) -> None:
    """Lose ``percent`` of the API's answers after the work is done: the caller sees a
    connection error or a timeout and must retry with the same idempotency key."""
    if not 0 <= percent <= 100:
        raise ValueError("percent is between 0 and 100")
    store.state()
    changes: dict[str, int] = {"lost_answer_percent": percent}
    if seed is not None:
        changes["chaos_seed"] = seed
    SandboxState.objects.filter(pk=1).update(**changes)
    if seed is not None:
        chaos.reseed(seed)


def set_latency(p50_ms: int | None, p95_ms: int | None = None) -> None:
    """Delay each API answer by a log-normal time with median ``p50_ms`` and 95th percentile
    ``p95_ms`` (milliseconds; a median of 0: no delay; no p95: always the median); ``None``:
    as the settings say."""
    if p50_ms is not None and (p50_ms < 0 or (p95_ms and p95_ms < p50_ms)):
        raise ValueError("latency: 0 <= p50 <= p95")
    store.state()
    SandboxState.objects.filter(pk=1).update(
        latency_p50_ms=p50_ms, latency_p95_ms=None if p50_ms is None else (p95_ms or p50_ms)
    )


def balance(account: str = "") -> dict[str, dict[str, int]]:
    """``{currency: {"available", "pending"}}`` of the platform ("") or a connected account."""
    return balances.balance_amounts(account)


# --- events and deliveries -----------------------------------------------------------------


def pause_deliveries() -> None:
    """Record events and deliveries but send nothing until ``resume_deliveries`` or
    ``deliver_pending_events``."""
    SandboxState.objects.filter(pk=store.state().pk).update(deliveries_paused=True)


def resume_deliveries() -> None:
    """Send again from now on (pending deliveries wait for ``deliver_pending_events``)."""
    SandboxState.objects.filter(pk=store.state().pk).update(deliveries_paused=False)


@contextlib.contextmanager
def deliveries_paused() -> Iterator[None]:
    pause_deliveries()
    try:
        yield
    finally:
        resume_deliveries()


def pending_events() -> list[dict]:
    """Events with a delivery not yet answered with 2xx, oldest first."""
    event_ids = list(
        WebhookDelivery.objects.exclude(status=DeliveryStatus.SUCCEEDED)
        .order_by("id")
        .values_list("event_id", flat=True)
        .distinct()
    )
    seen: list[str] = []
    for event_id in event_ids:
        if event_id not in seen:
            seen.append(event_id)
    return [store.get(event_id, "event").data for event_id in seen]


def events_of_type(event_type: str) -> list[dict]:
    """Every recorded event of ``event_type``, oldest first."""
    return [
        row.data
        for row in StripeObject.objects.filter(object_type="event", data__type=event_type).order_by(
            "created", "id"
        )
    ]


def deliver_pending_events(order: list[str] | None = None) -> list[int]:
    """Deliver now, synchronously, and return the answers' HTTP statuses.

    Without ``order``: every delivery not yet answered 2xx, oldest first (in a random order,
    some twice, with ``set_delivery_chaos``). With ``order`` (a
    list of event ids, repeats allowed): those events' deliveries in that order, again even if
    already delivered — so tests can deliver out of order and duplicate.
    """
    with store.request_scope():
        return _deliver(order)


def _deliver(order: list[str] | None) -> list[int]:
    statuses: list[int] = []
    if order is None:
        ids = chaos.delivery_order(
            list(
                WebhookDelivery.objects.exclude(status=DeliveryStatus.SUCCEEDED)
                .order_by("id")
                .values_list("pk", flat=True)
            )
        )
        sent: set[int] = set()
        for delivery_id in ids:
            status = events.deliver(delivery_id, force=delivery_id in sent, schedule_retry=False)
            sent.add(delivery_id)
            if status is not None:
                statuses.append(status)
        return statuses
    for event_id in order:
        store.get(event_id, "event")  # a wrong id fails loudly
        for delivery_id in WebhookDelivery.objects.filter(event_id=event_id).values_list(
            "pk", flat=True
        ):
            status = events.deliver(delivery_id, force=True, schedule_retry=False)
            if status is not None:
                statuses.append(status)
    return statuses


def deliveries(event_id: str | None = None) -> list[WebhookDelivery]:
    """Delivery rows (with their attempt logs), optionally of one event."""
    query = WebhookDelivery.objects.select_related("endpoint").order_by("id")
    if event_id:
        query = query.filter(event_id=event_id)
    return list(query)


def save_portal_settings(**features: Any) -> dict:
    """Save the customer portal's settings as Stripe's Dashboard does: the default
    configuration sessions use when they name none (cards may be updated unless told)."""
    with transaction.atomic():
        StripeObject.objects.filter(
            object_type="billing_portal.configuration", data__is_default=True
        ).delete()
        return billing_portal.configuration_create(
            params={
                "features": {
                    "payment_method_update": {"enabled": True},
                    "invoice_history": {"enabled": True},
                    **features,
                }
            },
            is_default=True,
        )


def set_failed_renewal_outcome(outcome: str) -> None:
    """What a subscription becomes when the retries of a failed renewal run out, as the
    Dashboard's setting chooses: ``canceled`` (the default), ``unpaid`` or ``past_due``."""
    if outcome not in ("canceled", "unpaid", "past_due"):
        raise ValueError(f"unknown outcome {outcome!r}")
    store.state()
    SandboxState.objects.filter(pk=1).update(failed_renewal_outcome=outcome)
