"""Products and recurring Prices on the platform: what a subscription is to (a platform
membership, a coaching plan). The owner of the offer keeps the ids and says when a new Price
is needed; a Price is fixed once made, so a new amount, currency or interval is a new Price.

Called outside any transaction (each is one Stripe request); the caller's idempotency key
names its own row and change (``membership-plan-<id>-price-<n>``). A Stripe failure leaves
as ``PaymentProviderError``.
"""

from __future__ import annotations

from payments import gateway
from payments.errors import stripe_errors

UNAVAILABLE = "Stripe could not be reached; the plan's price is made when it can be."


def product_create(*, name: str, idempotency_key: str, metadata: dict[str, str]) -> str:
    """A Product on the platform; its id."""
    with stripe_errors(message=UNAVAILABLE, code="catalog_unavailable", status_code=503):
        return gateway.product_create(name=name, idempotency_key=idempotency_key, metadata=metadata)


def product_rename(*, product_id: str, name: str, idempotency_key: str) -> None:
    with stripe_errors(message=UNAVAILABLE, code="catalog_unavailable", status_code=503):
        gateway.product_rename(product_id=product_id, name=name, idempotency_key=idempotency_key)


def recurring_price_create(
    *,
    product_id: str,
    amount: int,
    currency: str,
    interval: str,
    idempotency_key: str,
    metadata: dict[str, str],
) -> str:
    """A recurring Price of ``amount`` minor units of ``currency`` each ``interval`` (month,
    year, ...) on ``product_id``; its id."""
    with stripe_errors(message=UNAVAILABLE, code="catalog_unavailable", status_code=503):
        return gateway.price_create(
            product_id=product_id,
            unit_amount=amount,
            currency=currency.lower(),
            interval=interval,
            idempotency_key=idempotency_key,
            metadata=metadata,
        )
