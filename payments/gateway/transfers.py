"""Transfers from the platform to connected accounts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import stripe

from payments.gateway.client import stripe_client
from payments.gateway.errors import call, translate
from payments.gateway.fields import field_value, plain_dict, timestamp


@dataclass(frozen=True)
class TransferSummary:
    id: str
    amount: int
    amount_reversed: int
    currency: str
    created: datetime | None
    reversed: bool
    source_transaction: str
    description: str


def transfers_list(*, stripe_account_id: str, limit: int = 100) -> list[TransferSummary]:
    """Transfers from the platform to the account, newest first (auto-paginated)."""
    try:
        page = stripe_client().v1.transfers.list(
            params={"destination": stripe_account_id, "limit": min(limit, 100)}
        )
        transfers = []
        for transfer in page.auto_paging_iter():
            source = field_value(transfer, "source_transaction", "")
            transfers.append(
                TransferSummary(
                    id=transfer["id"],
                    amount=int(transfer["amount"]),
                    amount_reversed=int(field_value(transfer, "amount_reversed", 0)),
                    currency=transfer["currency"],
                    created=timestamp(field_value(transfer, "created")),
                    reversed=bool(field_value(transfer, "reversed", False)),
                    source_transaction=source if isinstance(source, str) else source["id"],
                    description=field_value(transfer, "description", ""),
                )
            )
            if len(transfers) >= limit:
                break
    except stripe.StripeError as error:
        raise translate(error) from error
    return transfers


@dataclass(frozen=True)
class TransferResult:
    id: str
    amount: int
    currency: str
    amount_reversed: int


def _transfer_result(transfer: Any) -> TransferResult:
    return TransferResult(
        id=transfer["id"],
        amount=int(transfer["amount"]),
        currency=transfer["currency"],
        amount_reversed=int(field_value(transfer, "amount_reversed", 0)),
    )


def transfer_create(
    *,
    idempotency_key: str,
    amount: int,
    currency: str,
    destination: str,
    transfer_group: str,
    metadata: dict[str, str],
    source_transaction: str = "",
    description: str = "",
) -> TransferResult:
    """A separate transfer; with ``source_transaction`` (a charge id) it draws on that
    charge's funds, available or not, instead of the platform's available balance."""
    params: dict[str, Any] = {
        "amount": amount,
        "currency": currency,
        "destination": destination,
        "transfer_group": transfer_group,
        "metadata": metadata,
    }
    if source_transaction:
        params["source_transaction"] = source_transaction
    if description:
        params["description"] = description
    transfer = call(
        stripe_client().v1.transfers.create,
        params=params,
        options={"idempotency_key": idempotency_key},
    )
    return _transfer_result(transfer)


def transfer_find(*, transfer_group: str, metadata_key: str, value: str) -> TransferResult | None:
    """The platform's transfer in ``transfer_group`` whose ``metadata[metadata_key]`` is
    ``value``, if Stripe made one (an attempt whose answer was lost)."""
    try:
        page = stripe_client().v1.transfers.list(
            params={"transfer_group": transfer_group, "limit": 100}
        )
        for transfer in page.auto_paging_iter():
            metadata = plain_dict(field_value(transfer, "metadata"))
            if str(metadata.get(metadata_key, "")) == value:
                return _transfer_result(transfer)
    except stripe.StripeError as error:
        raise translate(error) from error
    return None


def transfer_retrieve(transfer_id: str) -> TransferResult:
    transfer = call(stripe_client().v1.transfers.retrieve, transfer_id)
    return TransferResult(
        id=transfer["id"],
        amount=int(transfer["amount"]),
        currency=transfer["currency"],
        amount_reversed=int(field_value(transfer, "amount_reversed", 0)),
    )


@dataclass(frozen=True)
class ReversalResult:
    id: str
    amount: int


def transfer_reversal_create(
    *,
    idempotency_key: str,
    transfer_id: str,
    amount: int,
    refund_application_fee: bool,
    metadata: dict[str, str],
) -> ReversalResult:
    """Take ``amount`` of a transfer back from the connected account; with
    ``refund_application_fee`` the application fee comes back to it in proportion."""
    reversal = call(
        stripe_client().v1.transfers.reversals.create,
        transfer_id,
        params={
            "amount": amount,
            "refund_application_fee": refund_application_fee,
            "metadata": metadata,
        },
        options={"idempotency_key": idempotency_key},
    )
    return ReversalResult(id=reversal["id"], amount=int(reversal["amount"]))
