"""Products and Prices (one-time and recurring), as Stripe keeps them.

Stripe's rules kept here: a Price's amount, currency and interval never change (make a new
Price); a recurring interval is at most three years; a Product with Prices cannot be
deleted; an archived (inactive) Price or Product sells nothing new.
"""

from __future__ import annotations

from typing import Any

from payments.sandbox import errors, events, store
from payments.sandbox.models import StripeObject

# Stripe's longest billing interval: three years, in each unit (docs.stripe.com/billing).
MAX_INTERVALS = {"day": 3 * 365, "week": 156, "month": 36, "year": 3}
MAX_UNIT_AMOUNT = 99_999_999  # eight digits of minor units


def product_create(*, params: dict[str, Any]) -> dict[str, Any]:
    now = store.now()
    product = {
        "id": params.get("id") or store.new_id("prod_", 14),
        "object": "product",
        "active": params.get("active", True),
        "created": now,
        "default_price": None,
        "description": params.get("description"),
        "images": list(params.get("images") or []),
        "livemode": False,
        "marketing_features": [],
        "metadata": dict(params.get("metadata") or {}),
        "name": params["name"],
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": params.get("statement_descriptor"),
        "tax_code": params.get("tax_code"),
        "tax_details": None,
        "type": "service",
        "unit_label": params.get("unit_label"),
        "updated": now,
        "url": params.get("url"),
    }
    if store.find(product["id"]) is not None:
        raise errors.invalid(
            "id", f"Product already exists: {product['id']}", "resource_already_exists"
        )
    store.insert(product)
    events.record("product.created", product)
    default = params.get("default_price_data")
    if default:
        price = price_create(params={**default, "product": product["id"]})
        row = store.get(product["id"], "product", account="", lock=True)
        row.data["default_price"] = price["id"]
        store.save(row)
        return row.data
    return product


def product_update(*, product_id: str, params: dict[str, Any]) -> dict[str, Any]:
    row = store.get(product_id, "product", account="", lock=True, param="product")
    product = row.data
    previous: dict[str, Any] = {}
    for key in ("active", "description", "name", "statement_descriptor", "unit_label", "url"):
        if key in params and product.get(key) != params[key]:
            previous[key] = product.get(key)
            product[key] = params[key]
    if "default_price" in params:
        price = price_row(params["default_price"], param="default_price")
        if price.data["product"] != product_id:
            raise errors.invalid(
                "default_price",
                f"The price {price.stripe_id} does not belong to the product {product_id}.",
            )
        previous["default_price"] = product["default_price"]
        product["default_price"] = price.stripe_id
    for key, value in (params.get("metadata") or {}).items():
        previous.setdefault("metadata", dict(product["metadata"]))
        if value == "":
            product["metadata"].pop(key, None)
        else:
            product["metadata"][key] = value
    product["updated"] = store.now()
    store.save(row)
    if previous:
        events.record("product.updated", product, previous_attributes=previous)
    return product


def product_delete(*, product_id: str) -> dict[str, Any]:
    row = store.get(product_id, "product", account="", lock=True, param="product")
    if StripeObject.objects.filter(object_type="price", data__product=product_id).exists():
        raise errors.invalid(
            "product",
            "This product cannot be deleted because it has one or more user-created prices.",
        )
    data = row.data
    row.delete()
    events.record("product.deleted", data)
    return {"id": product_id, "object": "product", "deleted": True}


def _recurring(recurring: dict[str, Any] | None) -> dict[str, Any] | None:
    if recurring is None:
        return None
    interval = recurring["interval"]
    count = recurring.get("interval_count", 1)
    if not 1 <= count <= MAX_INTERVALS[interval]:
        raise errors.invalid(
            "recurring[interval_count]",
            "The maximum billing interval is 3 years (3 years, 36 months, 156 weeks or 1095 days).",
        )
    return {
        "interval": interval,
        "interval_count": count,
        "meter": None,
        "trial_period_days": recurring.get("trial_period_days"),
        "usage_type": recurring.get("usage_type", "licensed"),
    }


def price_create(*, params: dict[str, Any]) -> dict[str, Any]:
    product_id = params.get("product")
    if product_id is None and params.get("product_data") is None:
        raise errors.missing("product")
    if product_id is not None:
        product = store.get(product_id, "product", account="", param="product")
        if not product.data["active"]:
            raise errors.invalid(
                "product", f"The product {product_id} is archived: prices cannot be added."
            )
    else:
        product_id = product_create(params=params["product_data"])["id"]
    amount = params.get("unit_amount")
    if amount is None and params.get("unit_amount_decimal") is not None:
        amount = int(float(params["unit_amount_decimal"]))
    if amount is None:
        raise errors.missing("unit_amount")
    if not 0 <= amount <= MAX_UNIT_AMOUNT:
        raise errors.invalid(
            "unit_amount",
            f"Invalid integer: unit_amount must be between 0 and {MAX_UNIT_AMOUNT}.",
            "parameter_invalid_integer",
        )
    recurring = _recurring(params.get("recurring"))
    price = {
        "id": store.new_id("price_"),
        "object": "price",
        "active": params.get("active", True),
        "billing_scheme": "per_unit",
        "created": store.now(),
        "currency": params["currency"].lower(),
        "currency_options": None,
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": params.get("lookup_key"),
        "metadata": dict(params.get("metadata") or {}),
        "nickname": params.get("nickname"),
        "product": product_id,
        "recurring": recurring,
        "tax_behavior": params.get("tax_behavior", "unspecified"),
        "tiers": None,
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "recurring" if recurring else "one_time",
        "unit_amount": amount,
        "unit_amount_decimal": str(amount),
    }
    store.insert(price)
    events.record("price.created", price)
    return price


def price_row(price_id: str, *, lock: bool = False, param: str = "price") -> StripeObject:
    return store.get(price_id, "price", account="", lock=lock, param=param)


# What may change on a Price: everything else is fixed once it exists.
PRICE_UPDATABLE = ("active", "lookup_key", "nickname", "tax_behavior")


def price_update(*, price_id: str, params: dict[str, Any]) -> dict[str, Any]:
    row = price_row(price_id, lock=True, param="id")
    price = row.data
    previous: dict[str, Any] = {}
    for key in PRICE_UPDATABLE:
        if key in params and price.get(key) != params[key]:
            previous[key] = price.get(key)
            price[key] = params[key]
    for key, value in (params.get("metadata") or {}).items():
        previous.setdefault("metadata", dict(price["metadata"]))
        if value == "":
            price["metadata"].pop(key, None)
        else:
            price["metadata"][key] = value
    store.save(row)
    if previous:
        events.record("price.updated", price, previous_attributes=previous)
    return price
