"""What subscriptions are to: a Product and its recurring Prices on the platform, made for a
coaching plan or a platform membership (a Price is fixed once made: a new amount or interval
is a new Price)."""

from __future__ import annotations

from payments import gateway
from payments.errors import stripe_errors

SAVE_FAILED = "Stripe could not save the plan; please try again."


def product_ensure(*, product_id: str, name: str, key: str, metadata: dict[str, str]) -> str:
    """``product_id``, or a new Product named ``name`` (idempotent under ``key``)."""
    if product_id:
        return product_id
    with stripe_errors(message=SAVE_FAILED):
        return gateway.product_create(
            name=name, idempotency_key=f"{key}-product", metadata=metadata
        )


def recurring_price_create(
    *,
    product_id: str,
    unit_amount: int,
    currency: str,
    interval: str,
    key: str,
    metadata: dict[str, str],
) -> str:
    """A recurring Price of the Product; the same terms under the same ``key`` give the same
    Price back."""
    with stripe_errors(message=SAVE_FAILED):
        return gateway.price_create(
            product_id=product_id,
            unit_amount=unit_amount,
            currency=currency,
            interval=interval,
            idempotency_key=f"{key}-price-{unit_amount}-{currency}-{interval}",
            metadata=metadata,
        )


def product_rename(*, product_id: str, name: str, key: str) -> None:
    """Rename the Product (a renamed plan); each rename has its own ``key``."""
    with stripe_errors(message=SAVE_FAILED):
        gateway.product_rename(product_id=product_id, name=name, idempotency_key=key)
