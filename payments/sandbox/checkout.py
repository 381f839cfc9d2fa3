"""Checkout Sessions (``mode=payment``, ``mode=subscription`` and ``mode=setup``): creating
one with its line items (``price_data``, or saved Prices; none in setup mode, whose
SetupIntent is made with the session), expiring it (on request or when ``expires_at``
passes), and the decline its hosted page shows. With ``customer`` the page offers the
customer's saved cards (those ``allow_redisplay_filters`` admit) and, with
``saved_payment_method_options[payment_method_save]=enabled``, to save the card (to the
session's customer, or to the one ``customer_creation=always`` makes)."""

from __future__ import annotations

import copy
from typing import Any

from marketplace.money import MAX_CHARGE_AMOUNT, format_money, minimum_charge
from payments.sandbox import accounts, customers, errors, events, regions, setup_intents, store
from payments.sandbox.models import StripeObject

MIN_EXPIRY_SECONDS = 30 * 60
MAX_EXPIRY_SECONDS = 24 * 3600


class PaymentDeclined(Exception):
    """The card was declined or authentication failed: the session stays open and the hosted
    Checkout page shows ``message``."""

    def __init__(self, message: str, code: str, decline_code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.decline_code = decline_code


def _price_of(item: dict[str, Any], index: int) -> dict[str, Any]:
    """The Price of a line item: a saved one (``price``), or one made from ``price_data``
    (recurring only in ``subscription`` mode)."""
    if item.get("price"):
        price = store.get(item["price"], "price", account="", param=f"line_items[{index}][price]")
        if not price.data["active"]:
            raise errors.invalid(
                f"line_items[{index}][price]",
                f"The price `{item['price']}` is not available to be purchased because it is "
                "archived.",
            )
        return price.data
    price_data = item.get("price_data")
    if not price_data:
        raise errors.missing(f"line_items[{index}][price]")
    for key in ("currency", "unit_amount"):
        if key not in price_data:
            raise errors.missing(f"line_items[{index}][price_data][{key}]")
    if not price_data.get("product") and not (price_data.get("product_data") or {}).get("name"):
        raise errors.missing(f"line_items[{index}][price_data][product_data][name]")
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
    recurring = price_data.get("recurring")
    return {
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
        "recurring": {
            "interval": recurring["interval"],
            "interval_count": recurring.get("interval_count", 1),
            "meter": None,
            "trial_period_days": None,
            "usage_type": "licensed",
        }
        if recurring
        else None,
        "tax_behavior": price_data.get("tax_behavior", "unspecified"),
        "tiers": None,
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "recurring" if recurring else "one_time",
        "unit_amount": unit_amount,
        "unit_amount_decimal": str(unit_amount),
        # the name a line of price_data shows (no Product object is made for it)
        "_name": (price_data.get("product_data") or {}).get("name") or product,
    }


def _line_item(item: dict[str, Any], index: int, *, mode: str) -> dict[str, Any]:
    price = _price_of(item, index)
    name = price.pop("_name", None)
    if name is None:
        product = store.find(price["product"])
        name = product.data["name"] if product is not None else price["product"]
    if price["type"] == "recurring" and mode == "payment":
        raise errors.invalid(
            f"line_items[{index}]",
            "You specified `payment` mode but passed a recurring price. Either switch to "
            "`subscription` mode or use only one-time prices.",
        )
    quantity = item.get("quantity")
    if quantity is None:
        raise errors.missing(f"line_items[{index}][quantity]")
    if quantity < 1:
        raise errors.invalid(f"line_items[{index}][quantity]", "Quantity must be at least 1.")
    amount = price["unit_amount"] * quantity
    return {
        "id": store.new_id("li_"),
        "object": "item",
        "adjustable_quantity": None,
        "amount_discount": 0,
        "amount_subtotal": amount,
        "amount_tax": 0,
        "amount_total": amount,
        "currency": price["currency"],
        "description": name,
        "discounts": [],
        "metadata": {},
        "price": price,
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


def _check_mode(params: dict[str, Any]) -> str:
    mode = params["mode"]
    if mode == "setup":
        for param in ("line_items", "payment_intent_data", "subscription_data"):
            if params.get(param):
                raise errors.invalid(param, f"You can not pass `{param}` in `setup` mode.")
        if not params.get("currency") and not params.get("payment_method_types"):
            raise errors.missing("currency")
    elif params.get("setup_intent_data"):
        raise errors.invalid(
            "setup_intent_data", f"You can not pass `setup_intent_data` in `{mode}` mode."
        )
    if mode == "subscription" and params.get("payment_intent_data"):
        raise errors.invalid(
            "payment_intent_data", "You can not pass `payment_intent_data` in `subscription` mode."
        )
    if mode == "payment" and params.get("subscription_data"):
        raise errors.invalid(
            "subscription_data", "You can not pass `subscription_data` in `payment` mode."
        )
    if mode != "payment" and (params.get("invoice_creation") or {}).get("enabled"):
        raise errors.invalid(
            "invoice_creation",
            "You can only enable invoice creation when `mode` is set to `payment`. Invoices are "
            "created automatically in `subscription` mode.",
        )
    if params.get("customer"):
        customers.customer_row(params["customer"], param="customer")
        if params.get("customer_email"):
            raise errors.invalid(
                "customer_email",
                "You may only specify one of these parameters: customer, customer_email.",
            )
    elif params.get("saved_payment_method_options") and not _saves_for_new_customer(params):
        raise errors.invalid(
            "saved_payment_method_options",
            "`saved_payment_method_options` can only be used with an existing `customer`.",
        )
    return mode


def _saves_for_new_customer(params: dict[str, Any]) -> bool:
    """A session that makes its customer (``customer_creation=always``, payment mode) may
    offer to save the card to it: saving needs a Customer, an existing one or the one the
    session creates. Saved cards to show or remove need an existing one."""
    options = params.get("saved_payment_method_options") or {}
    return (
        params["mode"] == "payment"
        and params.get("customer_creation") == "always"
        and set(options) <= {"payment_method_save"}
    )


def session_create(*, params: dict[str, Any]) -> dict[str, Any]:
    mode = _check_mode(params)
    if mode == "setup":
        return _setup_session_create(params)
    line_items_params = params.get("line_items") or []
    if not line_items_params:
        raise errors.missing("line_items")
    session_id = store.new_id("cs_test_", 58)
    items = [_line_item(item, i, mode=mode) for i, item in enumerate(line_items_params)]
    if mode == "subscription" and not any(i["price"]["type"] == "recurring" for i in items):
        raise errors.invalid(
            "line_items",
            "You must provide at least one recurring price in `subscription` mode when using "
            "prices.",
        )
    currencies = {item["currency"] for item in items}
    if len(currencies) > 1:
        raise errors.StripeError("All line_items must use the same currency.", param="line_items")
    currency = currencies.pop()
    amount_total = sum(item["amount_total"] for item in items)
    if amount_total > MAX_CHARGE_AMOUNT:
        raise _amount_too_large("line_items", currency)
    if amount_total < minimum_charge(currency):
        raise errors.StripeError(
            f"The Checkout Session's total amount due must add up to at least "
            f"{minimum_charge(currency)} minor units of {currency}.",
            param="line_items",
        )
    intent_data = params.get("payment_intent_data") or {}
    subscription_data = params.get("subscription_data") or {}
    if subscription_data.get("transfer_data"):
        destination = subscription_data["transfer_data"].get("destination")
        if not accounts.can_receive_transfers(destination):
            raise errors.StripeError(
                "Your destination account needs to have at least one of the following "
                "capabilities enabled: transfers, crypto_transfers, legacy_payments",
                code="insufficient_capabilities_for_transfer",
                param="subscription_data[transfer_data][destination]",
            )
    if subscription_data.get("application_fee_percent") is not None and not (
        subscription_data.get("transfer_data")
    ):
        raise errors.invalid(
            "subscription_data[application_fee_percent]",
            "Can only apply an application_fee_percent when the request is made on behalf of "
            "another account (using an OAuth key, the Stripe-Account header, or the "
            "transfer_data[destination] parameter).",
        )
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
    if subscription_data:
        _check_settlement(
            {
                "on_behalf_of": subscription_data.get("on_behalf_of"),
                "transfer_data": subscription_data.get("transfer_data"),
            }
        )
    created = store.now()
    expires_at = _expires_at(params, created)
    session = session_shape(
        session_id=session_id,
        params=params,
        mode=mode,
        created=created,
        expires_at=expires_at,
        currency=currency,
        amount_total=amount_total,
    )
    store.insert(
        session,
        internal={
            "line_items": items,
            "payment_intent_data": intent_data,
            "subscription_data": subscription_data,
        },
    )
    return session


def _expires_at(params: dict[str, Any], created: int) -> int:
    expires_at = int(params.get("expires_at", created + MAX_EXPIRY_SECONDS))
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
    return expires_at


def session_shape(
    *,
    session_id: str,
    params: dict[str, Any],
    mode: str,
    created: int,
    expires_at: int,
    currency: str | None,
    amount_total: int | None,
) -> dict[str, Any]:
    """A new session's JSON, of any mode."""
    invoice_data = (params.get("invoice_creation") or {}).get("invoice_data") or {}
    saved_options = params.get("saved_payment_method_options") or {}
    return {
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
            "enabled": bool((params.get("invoice_creation") or {}).get("enabled")),
            "invoice_data": {
                "account_tax_ids": None,
                "custom_fields": None,
                "description": invoice_data.get("description"),
                "footer": invoice_data.get("footer"),
                "issuer": None,
                "metadata": dict(invoice_data.get("metadata") or {}),
                "rendering_options": None,
            },
        }
        if mode == "payment"
        else None,
        "livemode": False,
        "managed_payments": None,
        "locale": params.get("locale"),
        "metadata": dict(params.get("metadata") or {}),
        "mode": mode,
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
        "saved_payment_method_options": {
            "allow_redisplay_filters": saved_options.get("allow_redisplay_filters") or ["always"],
            "payment_method_remove": saved_options.get("payment_method_remove", "disabled"),
            "payment_method_save": saved_options.get("payment_method_save", "disabled"),
        }
        if params.get("customer") or _saves_for_new_customer(params)
        else None,
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
        "url": store.hosted_page_url(f"checkout/{session_id}/"),
        "wallet_options": None,
    }


def _setup_session_create(params: dict[str, Any]) -> dict[str, Any]:
    """A ``mode=setup`` session: no line items, nothing to pay; its SetupIntent is made with
    it (``setup_intent``), confirmed when the customer saves a card on the page."""
    session_id = store.new_id("cs_test_", 58)
    created = store.now()
    expires_at = _expires_at(params, created)
    intent_data = params.get("setup_intent_data") or {}
    intent = setup_intents.setup_intent_create(
        params={
            "customer": params.get("customer"),
            "description": intent_data.get("description"),
            "metadata": intent_data.get("metadata") or {},
            "on_behalf_of": intent_data.get("on_behalf_of"),
        },
        checkout_session=session_id,
    )
    session = session_shape(
        session_id=session_id,
        params=params,
        mode="setup",
        created=created,
        expires_at=expires_at,
        currency=(params.get("currency") or "").lower() or None,
        amount_total=None,
    )
    session.update(
        {
            "payment_status": "no_payment_required",
            "setup_intent": intent.stripe_id,
            "total_details": None,
        }
    )
    store.insert(session, internal={"line_items": [], "setup_intent_data": intent_data})
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
    PaymentIntent unless that succeeded, or its open SetupIntent."""
    session = row.data
    session["status"] = "expired"
    # Stripe's ``url`` is present only while the session is open.
    session["url"] = None
    if session.get("setup_intent"):
        intent = setup_intents.setup_intent_row(session["setup_intent"])
        if intent.data["status"] in setup_intents.OPEN:
            setup_intents.setup_intent_cancel(
                setup_intent_id=intent.stripe_id, reason="abandoned", by_checkout=True
            )
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
