"""SetupIntents (``/v1/setup_intents``) and their SetupAttempts: a customer's card saved for
later payments without charging it, as Stripe sets it up.

A SetupIntent is ``requires_payment_method`` until it has a card, ``requires_confirmation``
once it has one, and confirming it tries the card (one SetupAttempt per try): Stripe's test
cards decide. A good card ``succeeded`` — attached to the intent's customer
(``payment_method.attached``) — a declined one sends it back to ``requires_payment_method``
with ``last_setup_error`` (402 ``card_error``), a 3-D Secure card (4000 0025 0000 3155,
4000 0027 6000 3184, 4000 0000 0000 3220) waits in ``requires_action`` for the customer to
authenticate on the test page (``next_action``), which succeeds or fails it. It can be
``canceled`` before it succeeds. A card 4000 0025 0000 3155 set up this way is charged off
session afterwards without asking again, as on Stripe.

Stripe's rules kept here, with its words (the state and ownership refusals carry the
SetupIntent in the error, as Stripe's do): a SetupIntent without a payment method is not
confirmed (the customer's default card is not used), one that succeeded or was canceled is
not confirmed or given another card, only an open one is canceled; its card must be its
customer's or no one's; a Checkout Session's SetupIntent is confirmed on the Checkout page
and ends with the session, never through the API.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from typing import Any

from payments.sandbox import customers, errors, events, store
from payments.sandbox.cards import TEST_CARDS
from payments.sandbox.models import StripeObject

OPEN = ("requires_payment_method", "requires_confirmation", "requires_action")

# What else a SetupIntent's success sets in motion: ``(row)``. Billing clears a
# subscription's ``pending_setup_intent`` (and saves its card as the default).
WHEN_SUCCEEDED: list[Callable[[StripeObject], None]] = []
USAGES = ("off_session", "on_session")
CANCELLATION_REASONS = ("abandoned", "duplicate", "requested_by_customer")

MISSING_PAYMENT_METHOD = (
    "You cannot confirm this SetupIntent because it's missing a payment method. You can either "
    "update the SetupIntent with a payment method and then confirm it again, or confirm it "
    "again directly with a payment method or ConfirmationToken."
)
DOES_NOT_BELONG = (
    "The PaymentMethod {payment_method} does not belong to the Customer you supplied "
    "{customer}. Please use this PaymentMethod with the Customer that it belongs to instead."
)
BELONGS_TO_ANOTHER = (
    "The payment method supplied ({payment_method}) belongs to the Customer {customer}. "
    "Please include the Customer in the `customer` parameter on the SetupIntent."
)
AUTHENTICATION_FAILED = (
    "The latest attempt to set up the payment method has failed because authentication failed."
)
INVALID_TYPE = (
    "The payment method type provided: {type} is invalid. Please ensure the provided type is "
    "activated in your dashboard (https://dashboard.stripe.com/account/payments/settings) and "
    "your account is enabled for any preview features that you are trying to use."
)


def setup_intent_row(setup_intent_id: str, *, lock: bool = False) -> StripeObject:
    # Stripe names it in one word: "No such setupintent: 'seti_…'"
    return store.get(
        setup_intent_id, "setup_intent", account="", lock=lock, kind="setupintent", param="intent"
    )


def _unexpected_state(message: str, intent: dict[str, Any]) -> errors.StripeError:
    return errors.StripeError(
        message,
        code="setup_intent_unexpected_state",
        extra={"setup_intent": copy.deepcopy(intent)},
    )


def _allowed_types(params: dict[str, Any]) -> list[str] | None:
    """``allowed_payment_method_types`` (the pinned version's name for the types to offer):
    the local Stripe sets up cards only, so another type is one not activated."""
    allowed = params.get("allowed_payment_method_types")
    if not allowed:
        return None
    for index, kind in enumerate(allowed):
        if kind != "card":
            raise errors.invalid(
                f"allowed_payment_method_types[{index}]",
                INVALID_TYPE.format(type=kind),
                "payment_method_invalid_parameter",
            )
    return list(allowed)


def _card_options(params: dict[str, Any]) -> dict[str, Any]:
    card = ((params.get("payment_method_options") or {}).get("card")) or {}
    return {
        "mandate_options": None,
        "network": card.get("network"),
        "request_three_d_secure": card.get("request_three_d_secure", "automatic"),
        "setup_credential_usage": None,
    }


def _method(payment_method_id: str) -> StripeObject:
    """The card to set up: a stored PaymentMethod, or a new one from Stripe's test ids."""
    return customers.payment_method_row(payment_method_id, lock=True)


def _check_owner(
    method: StripeObject, customer_id: str | None, intent: dict[str, Any] | None
) -> None:
    """The card must be the intent's customer's, or no one's yet."""
    owner = method.data["customer"]
    if owner is None or owner == customer_id:
        return
    message = (
        BELONGS_TO_ANOTHER.format(payment_method=method.stripe_id, customer=owner)
        if customer_id is None
        else DOES_NOT_BELONG.format(payment_method=method.stripe_id, customer=customer_id)
    )
    raise errors.StripeError(
        message,
        param="payment_method",
        extra={"setup_intent": copy.deepcopy(intent)} if intent is not None else None,
    )


def setup_intent_create(
    *,
    params: dict[str, Any],
    checkout_session: str | None = None,
    subscription: str | None = None,
) -> StripeObject:
    """A new SetupIntent (``setup_intent.created``); with ``confirm`` the caller confirms it
    next (``setup_intent_confirm``). ``checkout_session``: the Checkout Session in
    ``mode=setup`` it belongs to; ``subscription``: the subscription whose
    ``pending_setup_intent`` it is."""
    customer_id = params.get("customer")
    if customer_id:
        customers.customer_row(customer_id, param="customer")
    allowed = _allowed_types(params)
    method = None
    if params.get("payment_method"):
        method = _method(params["payment_method"])
        _check_owner(method, customer_id, None)
    intent_id = store.new_id("seti_")
    automatic = params.get("automatic_payment_methods")
    intent = {
        "id": intent_id,
        "object": "setup_intent",
        "allowed_payment_method_types": allowed,
        "application": None,
        "attach_to_self": params.get("attach_to_self"),
        "automatic_payment_methods": {
            "allow_redirects": automatic.get("allow_redirects", "always"),
            "enabled": bool(automatic.get("enabled")),
        }
        if automatic
        else None,
        "cancellation_reason": None,
        "client_secret": f"{intent_id}_secret_{store.new_id('', 32)}",
        "created": store.now(),
        "customer": customer_id,
        "customer_account": None,
        "description": params.get("description"),
        "excluded_payment_method_types": params.get("excluded_payment_method_types"),
        "flow_directions": None,
        "last_setup_error": None,
        "latest_attempt": None,
        "livemode": False,
        "managed_payments": None,
        "mandate": None,
        "metadata": dict(params.get("metadata") or {}),
        "next_action": None,
        "on_behalf_of": params.get("on_behalf_of"),
        "payment_method": method.stripe_id if method is not None else None,
        "payment_method_configuration_details": None,
        "payment_method_options": {"card": _card_options(params)},
        "payment_method_types": ["card"],
        "single_use_mandate": None,
        "status": "requires_confirmation" if method is not None else "requires_payment_method",
        "usage": params.get("usage", "off_session"),
    }
    internal = {
        key: value
        for key, value in (("checkout_session", checkout_session), ("subscription", subscription))
        if value
    }
    row = store.insert(intent, internal=internal)
    events.record("setup_intent.created", intent)
    return row


def setup_intent_update(*, setup_intent_id: str, params: dict[str, Any]) -> dict[str, Any]:
    row = setup_intent_row(setup_intent_id, lock=True)
    intent = row.data
    if "customer" in params:
        if params["customer"]:
            customers.customer_row(params["customer"], param="customer")
        intent["customer"] = params["customer"] or None
    if params.get("payment_method"):
        if intent["status"] == "succeeded":
            raise _unexpected_state(
                "You cannot update this SetupIntent because it has already succeeded.", intent
            )
        if intent["status"] == "canceled":
            raise _unexpected_state(
                "You cannot update this SetupIntent because it has been canceled.", intent
            )
        method = _method(params["payment_method"])
        _check_owner(method, intent["customer"], intent)
        intent["payment_method"] = method.stripe_id
        if intent["status"] == "requires_payment_method":
            intent["status"] = "requires_confirmation"
    if "description" in params:
        intent["description"] = params["description"] or None
    if "allowed_payment_method_types" in params:
        intent["allowed_payment_method_types"] = _allowed_types(params)
    if "payment_method_options" in params:
        intent["payment_method_options"] = {"card": _card_options(params)}
    for key, value in (params.get("metadata") or {}).items():
        if value == "":
            intent["metadata"].pop(key, None)
        else:
            intent["metadata"][key] = value
    store.save(row)
    return intent


def _attempt(
    intent: dict[str, Any],
    method: StripeObject,
    status: str,
    setup_error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A SetupAttempt of the intent with the card (``setatt_``), the intent's
    ``latest_attempt``."""
    card = method.data["card"]
    attempt = {
        "id": store.new_id("setatt_"),
        "object": "setup_attempt",
        "application": None,
        "attach_to_self": intent["attach_to_self"],
        "created": store.now(),
        "customer": intent["customer"],
        "customer_account": None,
        "flow_directions": None,
        "livemode": False,
        "on_behalf_of": intent["on_behalf_of"],
        "payment_method": method.stripe_id,
        "payment_method_details": {
            "type": "card",
            "card": {
                "brand": card["brand"],
                "checks": dict(card["checks"]),
                "country": card["country"],
                "description": card["description"],
                "exp_month": card["exp_month"],
                "exp_year": card["exp_year"],
                "fingerprint": card["fingerprint"],
                "funding": card["funding"],
                "iin": card["iin"],
                "issuer": card["issuer"],
                "last4": card["last4"],
                "moto": None,
                "network": card["brand"],
                "three_d_secure": None,
                "wallet": None,
            },
        },
        "setup_error": setup_error,
        "setup_intent": intent["id"],
        "status": status,
        "usage": intent["usage"],
    }
    store.insert(attempt)
    intent["latest_attempt"] = attempt["id"]
    return attempt


def _setup_error(
    *, code: str, message: str, error_type: str, method: StripeObject, decline_code: str | None
) -> dict[str, Any]:
    return {
        "advice_code": None,
        "charge": None,
        "code": code,
        "decline_code": decline_code,
        "doc_url": f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}",
        "message": message,
        "network_advice_code": None,
        "network_decline_code": None,
        "param": "exp_month" if code == "expired_card" else None,
        "payment_intent": None,
        "payment_method": copy.deepcopy(method.data),
        "payment_method_type": "card",
        "request_log_url": None,
        "setup_intent": None,
        "source": None,
        "type": error_type,
    }


def _three_d_secure(result: str) -> dict[str, Any]:
    return {
        "authentication_flow": "challenge",
        "electronic_commerce_indicator": "05" if result == "authenticated" else None,
        "result": result,
        "result_reason": None if result == "authenticated" else "rejected",
        "transaction_id": str(uuid.uuid4()),
        "version": "2.2.0",
    }


def _succeed(row: StripeObject, method: StripeObject) -> None:
    """The card is set up: attached to the intent's customer first (as on Stripe), then the
    intent ``succeeded``."""
    intent = row.data
    if intent["customer"] and method.data["customer"] is None:
        customers.payment_method_attach(
            payment_method_id=method.stripe_id, customer_id=intent["customer"]
        )
        method = store.get(method.stripe_id, "payment_method", lock=True)
    # once set up, a card that asks for 3-D Secure only when set up is charged off session
    method.internal["set_up"] = True
    store.save(method)
    intent.update(
        {
            "status": "succeeded",
            "payment_method": method.stripe_id,
            "next_action": None,
            "last_setup_error": None,
        }
    )
    store.save(row)
    events.record("setup_intent.succeeded", intent)
    for succeeded in WHEN_SUCCEEDED:
        succeeded(row)


def _next_action(intent: dict[str, Any], return_url: str | None) -> dict[str, Any]:
    """Where the customer authenticates: the test 3-D Secure page, reached by a redirect
    (with ``return_url``) or by Stripe.js (``use_stripe_sdk``)."""
    page = store.hosted_page_url(f"setup_intents/{intent['id']}/authenticate/")
    if return_url:
        return {
            "type": "redirect_to_url",
            "redirect_to_url": {"return_url": return_url, "url": page},
        }
    return {
        "type": "use_stripe_sdk",
        "use_stripe_sdk": {
            "type": "three_d_secure_redirect",
            "stripe_js": page,
            "source": store.new_id("src_"),
        },
    }


def setup_outcome(method: StripeObject) -> str:
    """What setting the card up does, as its test card says: ``succeed``, ``decline`` or
    ``authenticate`` (3-D Secure first)."""
    rule = TEST_CARDS.get(customers.card_number(method), {"outcome": "succeed"})
    return str(rule.get("setup", rule["outcome"]))


def setup_intent_confirm(
    *, setup_intent_id: str, params: dict[str, Any], from_checkout: bool = False
) -> dict[str, Any]:
    """Try the intent's card (or ``params["payment_method"]``). Returns the intent
    (``succeeded``, or ``requires_action`` to authenticate); a declined card raises Stripe's
    402 ``card_error`` after the failure is recorded (``errors.CommittedError``)."""
    row = setup_intent_row(setup_intent_id, lock=True)
    intent = row.data
    wanted = params.get("payment_method") or intent["payment_method"]
    if not wanted:
        raise _unexpected_state(MISSING_PAYMENT_METHOD, intent)
    if intent["status"] == "succeeded":
        raise _unexpected_state(
            "You cannot confirm this SetupIntent because it has already succeeded.", intent
        )
    if intent["status"] == "canceled":
        raise _unexpected_state(
            "You cannot confirm this SetupIntent because it has been canceled.", intent
        )
    if row.internal.get("checkout_session") and not from_checkout:
        raise _unexpected_state(
            "You cannot confirm this SetupIntent because it belongs to a Checkout Session: the "
            "customer confirms it on the Checkout page.",
            intent,
        )
    method = _method(wanted)
    _check_owner(method, intent["customer"], intent)
    if method.data["customer"] is None and method.internal.get("spent"):
        raise errors.invalid(
            "payment_method", customers.USED_AND_SPENT, "payment_method_unexpected_state"
        )
    if "payment_method_options" in params:
        intent["payment_method_options"] = {"card": _card_options(params)}
    intent["payment_method"] = method.stripe_id
    rule = TEST_CARDS.get(customers.card_number(method), {"outcome": "succeed"})
    outcome = setup_outcome(method)
    if outcome == "authenticate":
        _attempt(intent, method, "requires_action")
        intent["status"] = "requires_action"
        intent["next_action"] = _next_action(intent, params.get("return_url"))
        row.internal["return_url"] = params.get("return_url")
        store.save(row)
        events.record("setup_intent.requires_action", intent)
        return intent
    if outcome == "decline":
        decline_code = rule.get("decline_code") or rule["code"]
        failure = _setup_error(
            code=rule["code"],
            message=rule["message"],
            error_type="card_error",
            method=method,
            decline_code=decline_code,
        )
        _attempt(intent, method, "failed", failure)
        intent.update(
            {
                "status": "requires_payment_method",
                "payment_method": None,
                "last_setup_error": failure,
            }
        )
        store.save(row)
        events.record("setup_intent.setup_failed", intent)
        raise errors.CommittedError(
            rule["message"],
            status=402,
            type="card_error",
            code=rule["code"],
            param=failure["param"],
            extra={
                "decline_code": decline_code,
                "payment_method": copy.deepcopy(method.data),
                "setup_intent": copy.deepcopy(intent),
            },
        )
    _attempt(intent, method, "succeeded")
    _succeed(row, method)
    return intent


def setup_intent_authenticate(*, setup_intent_id: str, succeed: bool) -> dict[str, Any]:
    """The customer answers the 3-D Secure test page: the card is set up, or the intent goes
    back to ``requires_payment_method`` (``setup_intent_authentication_failure``)."""
    row = setup_intent_row(setup_intent_id, lock=True)
    intent = row.data
    if intent["status"] != "requires_action":
        raise _unexpected_state(
            "This SetupIntent cannot be actioned on because it has a status of "
            f"{intent['status']}. Only a SetupIntent with one of the following statuses may be "
            'actioned on: ["requires_action"].',
            intent,
        )
    method = store.get(intent["payment_method"], "payment_method", lock=True)
    attempt = store.get(intent["latest_attempt"], "setup_attempt", lock=True)
    attempt.data["payment_method_details"]["card"]["three_d_secure"] = _three_d_secure(
        "authenticated" if succeed else "failed"
    )
    if succeed:
        attempt.data["status"] = "succeeded"
        store.save(attempt)
        _succeed(row, method)
        return intent
    failure = _setup_error(
        code="setup_intent_authentication_failure",
        message=AUTHENTICATION_FAILED,
        error_type="invalid_request_error",
        method=method,
        decline_code=None,
    )
    attempt.data.update({"status": "failed", "setup_error": failure})
    store.save(attempt)
    intent.update(
        {
            "status": "requires_payment_method",
            "payment_method": None,
            "next_action": None,
            "last_setup_error": failure,
        }
    )
    store.save(row)
    events.record("setup_intent.setup_failed", intent)
    return intent


def setup_intent_cancel(
    *, setup_intent_id: str, reason: str | None = None, by_checkout: bool = False
) -> dict[str, Any]:
    row = setup_intent_row(setup_intent_id, lock=True)
    intent = row.data
    if row.internal.get("checkout_session") and not by_checkout:
        raise _unexpected_state(
            "You can't cancel the SetupIntent for a Checkout Session. Expire the Checkout "
            "Session instead.",
            intent,
        )
    if intent["status"] == "canceled":
        raise _unexpected_state(
            "You cannot cancel this SetupIntent because it is already canceled.", intent
        )
    if intent["status"] not in OPEN:
        raise _unexpected_state(
            f"You cannot cancel this SetupIntent because it has a status of {intent['status']}. "
            "Only a SetupIntent with one of the following statuses may be canceled: "
            "`requires_payment_method`, `requires_confirmation`, or `requires_action`.",
            intent,
        )
    intent.update({"status": "canceled", "cancellation_reason": reason, "next_action": None})
    store.save(row)
    events.record("setup_intent.canceled", intent)
    return intent
