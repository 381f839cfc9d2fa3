"""Customers and their saved cards (PaymentMethods), as Stripe keeps them.

A Customer is the platform's (``account == ""``). A card PaymentMethod is made by a hosted
page that collected the number (Checkout saving it, the customer portal adding one) or from
one of Stripe's test PaymentMethods (``pm_card_visa``: attaching it makes a new card each
time, as in Stripe's test mode). The number stays in the row's ``internal``, never in its
JSON, so a later charge of the saved card gets the test card's outcome.

Stripe's rules kept here: a PaymentMethod belongs to one Customer at a time; one used
without a Customer, or detached, may not be used again; a Customer's default payment method
must be one of its own; detaching the default clears it; a deleted Customer answers
``{"deleted": true}`` and its cards are detached.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from payments.sandbox import errors, events, store
from payments.sandbox.models import StripeObject

# Stripe's test PaymentMethods (docs.stripe.com/testing): id -> the card number it stands for.
TEST_PAYMENT_METHODS: dict[str, str] = {
    "pm_card_visa": "4242424242424242",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_amex": "378282246310005",
    "pm_card_chargeDeclined": "4000000000000002",
    "pm_card_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_chargeDeclinedExpiredCard": "4000000000000069",
    "pm_card_chargeDeclinedIncorrectCvc": "4000000000000127",
    # attaching succeeds, every charge of it fails (a renewal that cannot be paid)
    "pm_card_chargeCustomerFail": "4000000000000341",
    # 3-D Secure when set up, then off-session payments without it; 3-D Secure every time
    "pm_card_authenticationRequiredOnSetup": "4000002500003155",
    "pm_card_authenticationRequired": "4000002760003184",
    "pm_card_threeDSecure2Required": "4000000000003220",
}

ALREADY_ATTACHED = "The payment method you provided has already been attached to a customer."
NOT_ATTACHED = (
    "The payment method you provided is not attached to a customer so detachment is impossible."
)
USED_AND_SPENT = (
    "The provided PaymentMethod was previously used with a PaymentIntent without Customer "
    "attachment, shared with a connected account without Customer attachment, or was detached "
    "from a Customer. It may not be used again. To use a PaymentMethod multiple times, you "
    "must attach it to a Customer first."
)


def not_the_customers(
    payment_method_id: str, *, param: str = "invoice_settings[default_payment_method]"
) -> errors.StripeError:
    return errors.invalid(
        param,
        f"The customer does not have a payment method with the ID {payment_method_id}. The "
        "payment method must be attached to the customer.",
        "resource_missing",
    )


def brand_of(number: str) -> str:
    if number.startswith("4"):
        return "visa"
    if number[:2] in ("34", "37"):
        return "amex"
    if number[:1] == "5" or (number[:4].isdigit() and 2221 <= int(number[:4]) <= 2720):
        return "mastercard"
    if number.startswith("6"):
        return "discover"
    return "unknown"


def _fingerprint(number: str) -> str:
    # the same card number has the same fingerprint on one platform, as on Stripe
    return hashlib.sha256(f"fingerprint:{number}".encode()).hexdigest()[:16]


# --- customers ------------------------------------------------------------------------------


def customer_shape(params: dict[str, Any], *, created: int) -> dict[str, Any]:
    settings_in = params.get("invoice_settings") or {}
    return {
        "id": store.new_id("cus_", 14),
        "object": "customer",
        "address": params.get("address") or None,
        "balance": params.get("balance", 0),
        "business_name": params.get("business_name"),
        "cash_balance": None,
        "created": created,
        "customer_account": None,
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": params.get("description"),
        "discount": None,
        "email": params.get("email"),
        "individual_name": params.get("individual_name"),
        "invoice_credit_balance": {},
        "invoice_prefix": store.new_id("", 8).upper(),
        "invoice_settings": {
            "custom_fields": settings_in.get("custom_fields") or None,
            "default_payment_method": None,
            "footer": settings_in.get("footer"),
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": dict(params.get("metadata") or {}),
        "name": params.get("name"),
        "next_invoice_sequence": params.get("next_invoice_sequence", 1),
        "phone": params.get("phone"),
        "preferred_locales": list(params.get("preferred_locales") or []),
        "shipping": params.get("shipping") or None,
        # includable lists (``expand[]=sources`` …) are left out unless expanded, as on Stripe
        "sources": None,
        "subscriptions": None,
        "tax": None,
        "tax_exempt": params.get("tax_exempt", "none"),
        "tax_ids": None,
        "test_clock": params.get("test_clock"),
    }


def customer_create(*, params: dict[str, Any], created: int | None = None) -> dict[str, Any]:
    """A new Customer; on a test clock, ``created`` is the clock's frozen time."""
    customer = customer_shape(params, created=store.now() if created is None else created)
    row = store.insert(customer)
    events.record("customer.created", customer)
    if params.get("payment_method"):
        payment_method_attach(payment_method_id=params["payment_method"], customer_id=row.stripe_id)
    default = (params.get("invoice_settings") or {}).get("default_payment_method")
    if default:
        return customer_update(
            customer_id=row.stripe_id,
            params={"invoice_settings": {"default_payment_method": default}},
        )
    return store.get(row.stripe_id, "customer", account="").data


def customer_row(customer_id: str, *, lock: bool = False, param: str = "id") -> StripeObject:
    row = store.get(customer_id, "customer", account="", lock=lock, param=param)
    if row.internal.get("deleted"):
        raise errors.no_such("customer", customer_id, param)
    return row


_UPDATABLE = (
    "address",
    "balance",
    "description",
    "email",
    "name",
    "next_invoice_sequence",
    "phone",
    "preferred_locales",
    "shipping",
    "tax_exempt",
)


def customer_update(*, customer_id: str, params: dict[str, Any]) -> dict[str, Any]:
    row = customer_row(customer_id, lock=True)
    customer = row.data
    previous: dict[str, Any] = {}

    for key in _UPDATABLE:
        if key not in params:
            continue
        # an empty string unsets an address
        value = (params[key] or None) if key in ("address", "shipping") else params[key]
        if customer.get(key) != value:
            previous.setdefault(key, customer.get(key))
            customer[key] = value
    settings_in = params.get("invoice_settings")
    if settings_in:
        invoice_settings = dict(customer["invoice_settings"])
        before = dict(invoice_settings)
        if "default_payment_method" in settings_in:
            wanted = settings_in["default_payment_method"] or None
            if wanted is not None:
                method = store.find(wanted)
                if (
                    method is None
                    or method.object_type != "payment_method"
                    or method.data.get("customer") != customer_id
                ):
                    raise not_the_customers(wanted)
            invoice_settings["default_payment_method"] = wanted
        if "footer" in settings_in:
            invoice_settings["footer"] = settings_in["footer"] or None
        if invoice_settings != before:
            previous["invoice_settings"] = before
            customer["invoice_settings"] = invoice_settings
    for key, value in (params.get("metadata") or {}).items():
        metadata = customer["metadata"]
        if value == "" and key in metadata:
            previous.setdefault("metadata", dict(metadata))
            metadata.pop(key)
        elif value != "" and metadata.get(key) != value:
            previous.setdefault("metadata", dict(metadata))
            metadata[key] = value
    store.save(row)
    if previous:
        events.record("customer.updated", customer, previous_attributes=previous)
    return customer


def customer_delete(*, customer_id: str) -> dict[str, Any]:
    row = customer_row(customer_id, lock=True)
    for method in StripeObject.objects.filter(
        object_type="payment_method", data__customer=customer_id
    ):
        _detach(method, notify=True)
    row.internal["deleted"] = True
    store.save(row)
    events.record("customer.deleted", row.data)
    return {"id": customer_id, "object": "customer", "deleted": True}


# --- payment methods ------------------------------------------------------------------------


def card_payment_method(
    *,
    number: str,
    exp_month: int,
    exp_year: int,
    name: str | None = None,
    email: str | None = None,
    country: str = "US",
) -> StripeObject:
    """A new card PaymentMethod from a number a hosted page collected (not attached)."""
    number = "".join(number.split())
    brand = brand_of(number)
    method = {
        "id": store.new_id("pm_"),
        "object": "payment_method",
        "allow_redisplay": "unspecified",
        "billing_details": {
            "address": {
                "city": None,
                "country": country,
                "line1": None,
                "line2": None,
                "postal_code": None,
                "state": None,
            },
            "email": email,
            "name": name,
            "phone": None,
            "tax_id": None,
        },
        "card": {
            "brand": brand,
            "checks": {
                "address_line1_check": None,
                "address_postal_code_check": None,
                "cvc_check": "pass",
            },
            "country": country,
            "description": None,
            "display_brand": brand,
            "exp_month": exp_month,
            "exp_year": exp_year,
            "fingerprint": _fingerprint(number),
            "funding": "credit",
            "generated_from": None,
            "iin": number[:6],
            "issuer": "Stripe Test (multi-country)",
            "last4": number[-4:],
            "networks": {"available": [brand], "preferred": None},
            "regulated_status": "unregulated",
            "three_d_secure_usage": {"supported": True},
            "wallet": None,
        },
        "created": store.now(),
        "customer": None,
        "customer_account": None,
        "livemode": False,
        "metadata": {},
        "radar_options": None,
        "type": "card",
    }
    return store.insert(method, internal={"number": number})


def payment_method_row(payment_method_id: str, *, lock: bool = False) -> StripeObject:
    """The PaymentMethod; one of Stripe's test ids (``pm_card_visa``) makes a new one."""
    number = TEST_PAYMENT_METHODS.get(payment_method_id)
    if number is not None:
        return card_payment_method(
            number=number,
            exp_month=12,
            exp_year=datetime.fromtimestamp(store.now(), tz=UTC).year + 8,
        )
    return store.get(
        payment_method_id,
        "payment_method",
        account="",
        lock=lock,
        kind="PaymentMethod",
        param="payment_method",
    )


def card_number(payment_method: StripeObject) -> str:
    return str(payment_method.internal.get("number", ""))


def payment_method_attach(*, payment_method_id: str, customer_id: str) -> dict[str, Any]:
    customer_row(customer_id, param="customer")
    row = payment_method_row(payment_method_id, lock=True)
    method = row.data
    if method["customer"] == customer_id:
        return method
    if method["customer"] is not None:
        raise errors.invalid("payment_method", ALREADY_ATTACHED, "payment_method_unexpected_state")
    if row.internal.get("spent"):
        raise errors.invalid("payment_method", USED_AND_SPENT, "payment_method_unexpected_state")
    method["customer"] = customer_id
    store.save(row)
    events.record("payment_method.attached", method)
    return method


def payment_method_spend(row: StripeObject) -> None:
    """A PaymentMethod paid once without a Customer may not be used again."""
    if row.data["customer"] is None:
        row.internal["spent"] = True
        store.save(row)


def _detach(row: StripeObject, *, notify: bool) -> dict[str, Any]:
    method = row.data
    customer_id = method["customer"]
    method["customer"] = None
    row.internal["spent"] = True
    store.save(row)
    customer = store.find(customer_id) if customer_id else None
    if customer is not None and (
        customer.data["invoice_settings"].get("default_payment_method") == method["id"]
    ):
        before = dict(customer.data["invoice_settings"])
        customer.data["invoice_settings"]["default_payment_method"] = None
        store.save(customer)
        if notify:
            events.record(
                "customer.updated", customer.data, previous_attributes={"invoice_settings": before}
            )
    events.record("payment_method.detached", method, previous_attributes={"customer": customer_id})
    return method


def payment_method_detach(*, payment_method_id: str) -> dict[str, Any]:
    row = store.get(
        payment_method_id,
        "payment_method",
        account="",
        lock=True,
        kind="PaymentMethod",
        param="payment_method",
    )
    if row.data["customer"] is None:
        raise errors.invalid("payment_method", NOT_ATTACHED, "payment_method_unexpected_state")
    return _detach(row, notify=True)


def payment_method_update(*, payment_method_id: str, params: dict[str, Any]) -> dict[str, Any]:
    row = store.get(
        payment_method_id,
        "payment_method",
        account="",
        lock=True,
        kind="PaymentMethod",
        param="payment_method",
    )
    method = row.data
    if method["customer"] is None:
        raise errors.invalid(
            "payment_method",
            "You must save this PaymentMethod to a customer before you can update it.",
            "payment_method_unexpected_state",
        )
    previous: dict[str, Any] = {}
    card = params.get("card") or {}
    for key in ("exp_month", "exp_year"):
        if key in card and method["card"][key] != card[key]:
            previous.setdefault("card", dict(method["card"]))
            method["card"][key] = card[key]
    details = params.get("billing_details") or {}
    for key in ("email", "name", "phone"):
        if key in details and method["billing_details"][key] != (details[key] or None):
            previous.setdefault("billing_details", dict(method["billing_details"]))
            method["billing_details"][key] = details[key] or None
    if "allow_redisplay" in params and method["allow_redisplay"] != params["allow_redisplay"]:
        previous["allow_redisplay"] = method["allow_redisplay"]
        method["allow_redisplay"] = params["allow_redisplay"]
    for key, value in (params.get("metadata") or {}).items():
        previous.setdefault("metadata", dict(method["metadata"]))
        if value == "":
            method["metadata"].pop(key, None)
        else:
            method["metadata"][key] = value
    store.save(row)
    if previous:
        events.record("payment_method.updated", method, previous_attributes=previous)
    return method


def payment_methods_of(
    *, customer_id: str | None, params: dict[str, Any], url: str
) -> dict[str, Any]:
    # without a customer: the platform's PaymentMethods that belong to none
    json_filters: dict[str, Any] = {"customer": customer_id}
    if params.get("type"):
        json_filters["type"] = params["type"]
    return store.list_page(
        "payment_method", account="", url=url, params=params, json_filters=json_filters
    )
