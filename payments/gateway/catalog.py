"""Products and recurring Prices: what a subscription is to (a coaching plan, a platform
membership). A Price is fixed once made: a new amount is a new Price."""

from __future__ import annotations

from payments.gateway.client import stripe_client
from payments.gateway.errors import call


def product_create(*, name: str, idempotency_key: str, metadata: dict[str, str]) -> str:
    """A Product on the platform; its id."""
    product = call(
        stripe_client().v1.products.create,
        params={"name": name, "metadata": metadata},
        options={"idempotency_key": idempotency_key},
    )
    return str(product["id"])


def price_create(
    *,
    product_id: str,
    unit_amount: int,
    currency: str,
    interval: str,
    idempotency_key: str,
    metadata: dict[str, str],
) -> str:
    """A recurring Price of ``unit_amount`` minor units each ``interval`` (day, week, month,
    year); its id."""
    price = call(
        stripe_client().v1.prices.create,
        params={
            "product": product_id,
            "unit_amount": unit_amount,
            "currency": currency,
            "recurring": {"interval": interval},  # type: ignore[typeddict-item]
            "metadata": metadata,
        },
        options={"idempotency_key": idempotency_key},
    )
    return str(price["id"])


def product_rename(*, product_id: str, name: str, idempotency_key: str) -> None:
    call(
        stripe_client().v1.products.update,
        product_id,
        params={"name": name},
        options={"idempotency_key": idempotency_key},
    )
