"""Checkout Sessions (``mode=payment``) and what paying one does: the PaymentIntent, the
charge with its destination-charge effects, declines, authentication, disputes."""

from __future__ import annotations

import copy
from typing import Any

from django.conf import settings

from payments.sandbox import accounts, errors, events, ledger, store

MIN_EXPIRY_SECONDS = 30 * 60
MAX_EXPIRY_SECONDS = 24 * 3600
MINIMUM_AMOUNT = 50

# Stripe's test cards: number -> what happens. Any other number is refused as Stripe's test
# mode refuses real cards.
TEST_CARDS: dict[str, dict[str, Any]] = {
    "4242424242424242": {"outcome": "succeed"},
    "5555555555554444": {"outcome": "succeed"},
    "4000000000000077": {"outcome": "succeed", "available_immediately": True},
    "4000000000000002": {
        "outcome": "decline",
        "code": "card_declined",
        "decline_code": "generic_decline",
        "message": "Your card was declined.",
    },
    "4000000000009995": {
        "outcome": "decline",
        "code": "card_declined",
        "decline_code": "insufficient_funds",
        "message": "Your card has insufficient funds.",
    },
    "4000000000000069": {
        "outcome": "decline",
        "code": "expired_card",
        "decline_code": "expired_card",
        "message": "Your card has expired.",
    },
    "4000000000000127": {
        "outcome": "decline",
        "code": "incorrect_cvc",
        "decline_code": "incorrect_cvc",
        "message": "Your card's security code is incorrect.",
    },
    "4000002500003155": {"outcome": "authenticate"},
    "4000000000003220": {"outcome": "authenticate"},
    "4000000000000259": {"outcome": "succeed", "dispute": True},
}


class PaymentDeclined(Exception):
    """The card was declined or authentication failed; ``message`` is what the page shows."""

    def __init__(self, message: str, code: str, decline_code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.decline_code = decline_code


def _line_item(session_id: str, item: dict[str, Any], index: int) -> dict[str, Any]:
    price_data = item.get("price_data")
    if not price_data:
        raise errors.StripeError(
            "The local Stripe supports line_items with price_data only (no saved Prices).",
            param=f"line_items[{index}][price]",
        )
    for key in ("currency", "unit_amount"):
        if key not in price_data:
            raise errors.missing(f"line_items[{index}][price_data][{key}]")
    if not price_data.get("product") and not (price_data.get("product_data") or {}).get("name"):
        raise errors.missing(f"line_items[{index}][price_data][product_data][name]")
    quantity = item.get("quantity")
    if quantity is None:
        raise errors.missing(f"line_items[{index}][quantity]")
    if quantity < 1:
        raise errors.invalid(f"line_items[{index}][quantity]", "Quantity must be at least 1.")
    currency = price_data["currency"].lower()
    unit_amount = price_data["unit_amount"]
    product = price_data.get("product") or store.new_id("prod_", 14)
    name = (price_data.get("product_data") or {}).get("name") or product
    amount = unit_amount * quantity
    return {
        "id": store.new_id("li_"),
        "object": "item",
        "amount_discount": 0,
        "amount_subtotal": amount,
        "amount_tax": 0,
        "amount_total": amount,
        "currency": currency,
        "description": name,
        "discounts": [],
        "price": {
            "id": store.new_id("price_"),
            "object": "price",
            "active": False,
            "billing_scheme": "per_unit",
            "created": store.now(),
            "currency": currency,
            "currency_options": None,
            "custom_unit_amount": None,
            "livemode": False,
            "lookup_key": None,
            "metadata": {},
            "nickname": None,
            "product": product,
            "recurring": None,
            "tax_behavior": price_data.get("tax_behavior", "unspecified"),
            "tiers": None,
            "tiers_mode": None,
            "transform_quantity": None,
            "type": "one_time",
            "unit_amount": unit_amount,
            "unit_amount_decimal": str(unit_amount),
        },
        "quantity": quantity,
        "taxes": [],
    }


def session_create(*, params: dict[str, Any]) -> dict[str, Any]:
    if params["mode"] != "payment":
        raise errors.StripeError(
            f"The local Stripe simulates mode=payment only (got mode={params['mode']}).",
            param="mode",
        )
    line_items_params = params.get("line_items") or []
    if not line_items_params:
        raise errors.missing("line_items")
    session_id = store.new_id("cs_test_", 58)
    items = [_line_item(session_id, item, i) for i, item in enumerate(line_items_params)]
    currencies = {item["currency"] for item in items}
    if len(currencies) > 1:
        raise errors.StripeError("All line_items must use the same currency.", param="line_items")
    currency = currencies.pop()
    amount_total = sum(item["amount_total"] for item in items)
    if amount_total < MINIMUM_AMOUNT:
        raise errors.StripeError(
            f"The Checkout Session's total amount due must add up to at least "
            f"{MINIMUM_AMOUNT} minor units of {currency}.",
            param="line_items",
        )
    intent_data = params.get("payment_intent_data") or {}
    transfer_data = intent_data.get("transfer_data")
    fee_amount = intent_data.get("application_fee_amount")
    if transfer_data:
        if not transfer_data.get("destination"):
            raise errors.missing("payment_intent_data[transfer_data][destination]")
        if not accounts.can_receive_transfers(transfer_data["destination"]):
            raise errors.StripeError(
                "Your destination account needs to have at least one of the following "
                "capabilities enabled: transfers, crypto_transfers, legacy_payments",
                code="insufficient_capabilities_for_transfer",
                param="payment_intent_data[transfer_data][destination]",
            )
        if transfer_data.get("amount") is not None and fee_amount is not None:
            raise errors.StripeError(
                "You cannot set both payment_intent_data[application_fee_amount] and "
                "payment_intent_data[transfer_data][amount].",
                param="payment_intent_data[application_fee_amount]",
            )
        if transfer_data.get("amount") is not None and transfer_data["amount"] > amount_total:
            raise errors.invalid(
                "payment_intent_data[transfer_data][amount]",
                "The transfer amount cannot exceed the charge amount.",
            )
    if fee_amount is not None:
        if not transfer_data:
            raise errors.StripeError(
                "Can only apply an application_fee_amount when the PaymentIntent is attempting a "
                "direct payment (using an OAuth key or Stripe-Account header) or destination "
                "payment (using `transfer_data[destination]`).",
                param="payment_intent_data[application_fee_amount]",
            )
        if fee_amount < 0 or fee_amount > amount_total:
            raise errors.invalid(
                "payment_intent_data[application_fee_amount]",
                "The application fee amount cannot be greater than the charge amount.",
            )
    if intent_data.get("on_behalf_of"):
        accounts.get_account(intent_data["on_behalf_of"])
    created = store.now()
    expires_at = params.get("expires_at", created + MAX_EXPIRY_SECONDS)
    if expires_at < created + MIN_EXPIRY_SECONDS:
        raise errors.invalid(
            "expires_at",
            "The `expires_at` timestamp must be at least 30 minutes from Checkout Session "
            "creation.",
        )
    if expires_at > created + MAX_EXPIRY_SECONDS:
        raise errors.invalid(
            "expires_at",
            "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.",
        )
    session = {
        "id": session_id,
        "object": "checkout.session",
        "adaptive_pricing": {"enabled": False},
        "after_expiration": None,
        "allow_promotion_codes": params.get("allow_promotion_codes"),
        "amount_subtotal": amount_total,
        "amount_total": amount_total,
        "automatic_tax": {"enabled": False, "liability": None, "provider": None, "status": None},
        "billing_address_collection": params.get("billing_address_collection"),
        "branding_settings": None,
        "cancel_url": params.get("cancel_url"),
        "client_reference_id": params.get("client_reference_id"),
        "client_secret": None,
        "collected_information": None,
        "consent": None,
        "consent_collection": None,
        "created": created,
        "currency": currency,
        "currency_conversion": None,
        "custom_fields": [],
        "custom_text": {
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        "customer": params.get("customer"),
        "customer_creation": params.get("customer_creation", "if_required"),
        "customer_details": None,
        "customer_email": params.get("customer_email"),
        "discounts": [],
        "excluded_payment_method_types": [],
        "expires_at": expires_at,
        "invoice": None,
        "invoice_creation": {
            "enabled": False,
            "invoice_data": {
                "account_tax_ids": None,
                "custom_fields": None,
                "description": None,
                "footer": None,
                "issuer": None,
                "metadata": {},
                "rendering_options": None,
            },
        },
        "livemode": False,
        "locale": params.get("locale"),
        "metadata": dict(params.get("metadata") or {}),
        "mode": "payment",
        "name_collection": None,
        "optional_items": None,
        "origin_context": None,
        "payment_intent": None,
        "payment_link": None,
        "payment_method_collection": "if_required",
        "payment_method_configuration_details": None,
        "payment_method_options": {"card": _card_options()},
        "payment_method_types": params.get("payment_method_types") or ["card"],
        "payment_status": "unpaid",
        "permissions": None,
        "phone_number_collection": {"enabled": False},
        "presentment_details": None,
        "recovered_from": None,
        "redirect_on_completion": None,
        "return_url": None,
        "saved_payment_method_options": None,
        "setup_intent": None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "shipping_options": [],
        "status": "open",
        "submit_type": params.get("submit_type"),
        "subscription": None,
        "success_url": params.get("success_url"),
        "tax_id_collection": {"enabled": False, "required": "never"},
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted",
        "url": settings.SITE_URL + f"/_stripe/checkout/{session_id}/",
        "wallet_options": None,
    }
    store.insert(session, internal={"line_items": items, "payment_intent_data": intent_data})
    return session


def session_with_line_items(row_data: dict[str, Any], internal: dict[str, Any]) -> dict[str, Any]:
    session = copy.deepcopy(row_data)
    session["line_items"] = line_items_list(session["id"], internal)
    return session


def line_items_list(session_id: str, internal: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "list",
        "data": internal["line_items"],
        "has_more": False,
        "url": f"/v1/checkout/sessions/{session_id}/line_items",
    }


def session_expire(*, session_id: str) -> dict[str, Any]:
    row = store.get(
        session_id,
        "checkout.session",
        account="",
        lock=True,
        kind="checkout.session",
        param="session",
    )
    if row.data["status"] != "open":
        raise errors.StripeError(
            f"Only Checkout Sessions with a status of `open` can be expired. This session has a "
            f"status of `{row.data['status']}`.",
            param="session",
        )
    return _expire(row)


def _expire(row) -> dict[str, Any]:
    session = row.data
    session["status"] = "expired"
    # Stripe's ``url`` is present only while the session is open.
    session["url"] = None
    if session["payment_intent"]:
        intent_row = store.get(session["payment_intent"], "payment_intent", lock=True)
        if intent_row.data["status"] != "succeeded":
            intent_row.data.update(
                {
                    "status": "canceled",
                    "canceled_at": store.now(),
                    "cancellation_reason": "abandoned",
                }
            )
            store.save(intent_row)
            events.record("payment_intent.canceled", intent_row.data)
    store.save(row)
    events.record("checkout.session.expired", session)
    return session


def expire_due_sessions(*, now: int) -> None:
    for row in store.StripeObject.objects.filter(
        object_type="checkout.session", data__status="open", data__expires_at__lt=now
    ).select_for_update():
        _expire(row)


def _card_options() -> dict[str, Any]:
    return {
        "capture_method": None,
        "installments": None,
        "request_extended_authorization": None,
        "request_incremental_authorization": None,
        "request_multicapture": None,
        "request_overcapture": None,
        "request_three_d_secure": "automatic",
        "restrictions": None,
        "setup_future_usage": None,
        "statement_descriptor_suffix_kana": None,
        "statement_descriptor_suffix_kanji": None,
    }


# --- paying -------------------------------------------------------------------------------


def _intent(session: dict[str, Any], intent_data: dict[str, Any]) -> dict[str, Any]:
    intent_id = store.new_id("pi_")
    transfer_data = intent_data.get("transfer_data")
    transfer_group = intent_data.get("transfer_group")
    if transfer_data and not transfer_group:
        transfer_group = f"group_{intent_id}"
    return {
        "id": intent_id,
        "object": "payment_intent",
        "amount": session["amount_total"],
        "amount_capturable": 0,
        "amount_details": {
            "discount_amount": None,
            "shipping": None,
            "tax": None,
            "tip": {"amount": None},
        },
        "amount_received": 0,
        "application": None,
        "application_fee_amount": intent_data.get("application_fee_amount"),
        "automatic_payment_methods": None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": intent_data.get("capture_method", "automatic"),
        "client_secret": f"{intent_id}_secret_{store.new_id('', 24)}",
        "confirmation_method": "automatic",
        "created": store.now(),
        "currency": session["currency"],
        "customer": session.get("customer"),
        "description": intent_data.get("description"),
        "excluded_payment_method_types": None,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": dict(intent_data.get("metadata") or {}),
        "next_action": None,
        "on_behalf_of": intent_data.get("on_behalf_of"),
        "payment_details": None,
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {
            "card": {
                **_card_options(),
                "mandate_options": None,
                "network": None,
                "require_cvc_recollection": None,
            }
        },
        "payment_method_types": ["card"],
        "presentment_details": None,
        "processing": None,
        "receipt_email": intent_data.get("receipt_email"),
        "review": None,
        "setup_future_usage": intent_data.get("setup_future_usage"),
        "shipping": None,
        "source": None,
        "statement_descriptor": intent_data.get("statement_descriptor"),
        "statement_descriptor_suffix": intent_data.get("statement_descriptor_suffix"),
        "status": "requires_payment_method",
        "transfer_data": (
            {"amount": transfer_data.get("amount"), "destination": transfer_data["destination"]}
            if transfer_data
            else None
        ),
        "transfer_group": transfer_group,
    }


def session_pay(
    *,
    session_id: str,
    card_number: str,
    authenticate: bool = True,
    email: str | None = None,
    name: str | None = None,
    exp_month: int = 12,
    exp_year: int = 2034,
) -> tuple[dict[str, Any], PaymentDeclined | None]:
    """Pay an open session as the hosted Checkout page does.

    Returns the session and, when the card was declined or authentication failed, the
    ``PaymentDeclined`` to show (the session stays open, as on Stripe; the failed intent and
    charge are recorded, so the caller commits before raising it). Raises ``StripeError``
    when the session cannot be paid (expired, complete)."""
    number = "".join(card_number.split())
    row = store.get(session_id, "checkout.session", account="", lock=True, kind="checkout.session")
    session = row.data
    if session["status"] == "open" and store.now() > session["expires_at"]:
        _expire(row)
    if session["status"] != "open":
        raise errors.StripeError(
            f"This Checkout Session is {session['status']}.", code="checkout_session_not_open"
        )
    card_rule = TEST_CARDS.get(number)
    if card_rule is None:
        raise PaymentDeclined(
            "Your card was declined. Your request was in test mode, but used a non test card. "
            "For a list of valid test cards, visit: https://stripe.com/docs/testing.",
            code="card_declined",
            decline_code="test_mode_live_card",
        )
    intent_data = row.internal.get("payment_intent_data") or {}
    email = email or session.get("customer_email")
    if session["payment_intent"]:
        intent_row = store.get(session["payment_intent"], "payment_intent", lock=True)
        intent = intent_row.data
    else:
        intent = _intent(session, intent_data)
        intent_row = store.insert(intent)
        session["payment_intent"] = intent["id"]
        store.save(row)
        events.record("payment_intent.created", intent)
    card = {
        "number": number,
        "exp_month": exp_month,
        "exp_year": exp_year,
        "three_d_secure": card_rule["outcome"] == "authenticate",
    }
    failure: dict[str, Any] | None = None
    if card_rule["outcome"] == "decline":
        failure = {
            "code": card_rule["code"],
            "decline_code": card_rule["decline_code"],
            "message": card_rule["message"],
        }
    elif card_rule["outcome"] == "authenticate" and not authenticate:
        failure = {
            "code": "payment_intent_authentication_failure",
            "decline_code": None,
            "message": "We are unable to authenticate your payment method. Please choose a "
            "different payment method and try again.",
        }
    charge = ledger.charge_shape(
        prefix="ch_",
        amount=intent["amount"],
        currency=intent["currency"],
        payment_intent=intent["id"],
        card=card,
        billing={"email": email, "name": name},
        status="failed" if failure else "succeeded",
        failure=failure,
        metadata=intent["metadata"],
        description=intent["description"],
        receipt_email=intent["receipt_email"] or email,
        transfer_data=intent["transfer_data"],
        on_behalf_of=intent["on_behalf_of"],
        transfer_group=intent["transfer_group"],
        application_fee_amount=intent["application_fee_amount"],
        statement_descriptor=intent["statement_descriptor"],
    )
    intent["latest_charge"] = charge["id"]
    intent["payment_method"] = charge["payment_method"]
    if failure:
        if failure["code"] == "payment_intent_authentication_failure":
            # No charge is made when authentication fails, as on Stripe.
            intent["latest_charge"] = None
        else:
            store.insert(charge)
            events.record("charge.failed", charge)
        intent["status"] = "requires_payment_method"
        intent["last_payment_error"] = {
            "advice_code": None,
            "charge": charge["id"]
            if failure["code"] != "payment_intent_authentication_failure"
            else None,
            "code": failure["code"],
            "decline_code": failure["decline_code"],
            "doc_url": f"https://stripe.com/docs/error-codes/{failure['code'].replace('_', '-')}",
            "message": failure["message"],
            "param": None,
            "payment_method": {
                "id": charge["payment_method"],
                "object": "payment_method",
                "type": "card",
            },
            "type": "card_error"
            if failure["code"] != "payment_intent_authentication_failure"
            else "invalid_request_error",
        }
        intent_row.data = intent
        store.save(intent_row)
        events.record("payment_intent.payment_failed", intent)
        return session, PaymentDeclined(
            failure["message"], failure["code"], failure["decline_code"]
        )
    charge = ledger.settle_charge(
        charge=charge, available_immediately=bool(card_rule.get("available_immediately"))
    )
    intent.update(
        {"status": "succeeded", "amount_received": intent["amount"], "last_payment_error": None}
    )
    intent_row.data = intent
    store.save(intent_row)
    events.record("payment_intent.succeeded", intent)
    session.update(
        {
            "status": "complete",
            "payment_status": "paid",
            "url": None,
            "customer_details": {
                "address": {
                    "city": None,
                    "country": "US",
                    "line1": None,
                    "line2": None,
                    "postal_code": None,
                    "state": None,
                },
                "business_name": None,
                "email": email,
                "individual_name": None,
                "name": name,
                "phone": None,
                "tax_exempt": "none",
                "tax_ids": [],
            },
        }
    )
    store.save(row)
    events.record("checkout.session.completed", session)
    if card_rule.get("dispute"):
        ledger.dispute_create(charge_id=charge["id"])
    return session, None
