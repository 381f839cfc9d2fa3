"""Checkout Sessions (``mode=payment``): creating one with its line items, expiring it (on
request or when ``expires_at`` passes), and the decline its hosted page shows."""

from __future__ import annotations

import copy
from typing import Any

from django.conf import settings

from marketplace.money import MAX_CHARGE_AMOUNT, format_money
from payments.sandbox import accounts, errors, events, regions, store
from payments.sandbox.models import StripeObject

MIN_EXPIRY_SECONDS = 30 * 60
MAX_EXPIRY_SECONDS = 24 * 3600
MINIMUM_AMOUNT = 50


class PaymentDeclined(Exception):
    """The card was declined or authentication failed: the session stays open and the hosted
    Checkout page shows ``message``."""

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
    if unit_amount < 0:
        raise errors.invalid(
            f"line_items[{index}][price_data][unit_amount]",
            "This value must be greater than or equal to 0.",
        )
    if unit_amount > MAX_CHARGE_AMOUNT:
        raise _amount_too_large(f"line_items[{index}][price_data][unit_amount]", currency)
    product = price_data.get("product") or store.new_id("prod_", 14)
    name = (price_data.get("product_data") or {}).get("name") or product
    amount = unit_amount * quantity
    return {
        "id": store.new_id("li_"),
        "object": "item",
        "adjustable_quantity": None,
        "amount_discount": 0,
        "amount_subtotal": amount,
        "amount_tax": 0,
        "amount_total": amount,
        "currency": currency,
        "description": name,
        "discounts": [],
        "metadata": {},
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


def _amount_too_large(param: str, currency: str) -> errors.StripeError:
    """Stripe's refusal of a charge above eight digits of minor units."""
    return errors.StripeError(
        f"Amount must be no more than {format_money(MAX_CHARGE_AMOUNT, currency)}",
        code="amount_too_large",
        param=param,
    )


# Stripe's refusal of a destination charge to an account outside the platform's region.
CROSS_REGION_DESTINATION_CHARGE = (
    "Cannot create a destination charge for connected accounts in {country} because funds "
    "would be settled on the platform and the connected account is outside the platform's "
    "region. You may use the `on_behalf_of` parameter to have the charge settle in the "
    "connected account's country. For more information on `on_behalf_of`, see "
    "https://stripe.com/docs/connect/charges-transfers#on-behalf-of. If using capabilities "
    "(e.g. `card_payments`, `transfers`), note that they affect settlement as well. For more "
    "information on capabilities, see https://stripe.com/docs/connect/account-capabilities."
)


def _check_settlement(
    intent_data: dict[str, Any], destination_row: StripeObject | None = None
) -> None:
    """Who settles the charge: the settlement merchant named by ``on_behalf_of`` must be able
    to take card payments (a ``recipient`` account cannot); without it a destination charge
    settles on the platform, which Stripe allows only inside the platform's region or as a
    cross-border payout to a ``recipient`` account. ``destination_row``: the destination's
    account row when the caller has read it already."""

    def account_row(account_id: str) -> StripeObject:
        if destination_row is not None and destination_row.stripe_id == account_id:
            return destination_row
        return accounts.get_account(account_id)

    on_behalf_of = intent_data.get("on_behalf_of")
    if on_behalf_of:
        merchant = account_row(on_behalf_of).data
        if accounts.service_agreement(merchant) == "recipient" or (
            merchant["capabilities"].get("card_payments") != "active"
        ):
            raise errors.StripeError(
                f"The account {on_behalf_of} referenced in `on_behalf_of` cannot be the "
                "settlement merchant: it needs the `card_payments` capability, which accounts "
                "under the `recipient` service agreement cannot have.",
                param="payment_intent_data[on_behalf_of]",
            )
        return
    destination = (intent_data.get("transfer_data") or {}).get("destination")
    if not destination:
        return
    account = account_row(destination).data
    country = account["country"]
    if regions.same_region(country, regions.platform_country()):
        return
    if accounts.service_agreement(account) == "recipient" and (
        regions.cross_border_payout_allowed(destination_country=country)
    ):
        return
    raise errors.StripeError(
        CROSS_REGION_DESTINATION_CHARGE.format(country=country),
        param="payment_intent_data[transfer_data][destination]",
    )


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
    if amount_total > MAX_CHARGE_AMOUNT:
        raise _amount_too_large("line_items", currency)
    if amount_total < MINIMUM_AMOUNT:
        raise errors.StripeError(
            f"The Checkout Session's total amount due must add up to at least "
            f"{MINIMUM_AMOUNT} minor units of {currency}.",
            param="line_items",
        )
    intent_data = params.get("payment_intent_data") or {}
    transfer_data = intent_data.get("transfer_data")
    fee_amount = intent_data.get("application_fee_amount")
    destination_row: StripeObject | None = None
    if transfer_data:
        if not transfer_data.get("destination"):
            raise errors.missing("payment_intent_data[transfer_data][destination]")
        # read once: the capability here, the settlement rules below
        destination_row = accounts.get_account(transfer_data["destination"])
        if not accounts.takes_transfers(destination_row):
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
    _check_settlement(intent_data, destination_row)
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
        "allowed_payment_method_types": None,
        "customer": params.get("customer"),
        "customer_account": None,
        "customer_creation": params.get("customer_creation", "if_required"),
        "customer_details": None,
        "customer_email": params.get("customer_email"),
        "discounts": [],
        "excluded_payment_method_types": [],
        "expires_at": expires_at,
        "invoice": None,
        "integration_identifier": None,
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
        "managed_payments": None,
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
        "payment_method_options": {"card": card_payment_method_options()},
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
    return expire_session(row)


def expire_session(row: StripeObject) -> dict[str, Any]:
    """Expire the open session ``row`` (the caller holds its row lock), and cancel its
    PaymentIntent unless that succeeded."""
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
    for row in StripeObject.objects.filter(
        object_type="checkout.session", data__status="open", data__expires_at__lt=now
    ).select_for_update():
        expire_session(row)


def card_payment_method_options() -> dict[str, Any]:
    return {
        "capture_method": None,
        "installments": None,
        "request_extended_authorization": None,
        "request_incremental_authorization": None,
        "request_multicapture": None,
        "request_overcapture": None,
        "request_three_d_secure": "automatic",
        "restrictions": None,
        "setup_credential_usage": None,
        "setup_future_usage": None,
        "statement_descriptor_suffix_kana": None,
        "statement_descriptor_suffix_kanji": None,
        "stored_credential_usage": None,
    }
