"""Transfers: a package session's share sent from the platform's balance to the coach.

One row per (package purchase, session sequence) and one per booking, both enforced by the
database, so running anything twice can never pay a session twice; the Stripe call's
idempotency key is ``transfer-<id>``.

Lock order: the owner's rows (booking → package purchase, the caller's) → transfer.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from marketplace import states
from marketplace.models import User
from marketplace.queue import enqueue
from payments import gateway
from payments.errors import stripe_errors
from payments.models import ConnectedAccount, StaffAlert, Transfer, TransferStatus
from payments.services.alerts import staff_alert_raise


class PlatformBalanceTooLow(Exception):
    """The platform's available balance cannot cover a transfer yet; retry later."""


def transfer_record(
    *,
    booking_id: int,
    package_purchase_id: int,
    coach_user: User,
    currency: str,
    transfer_group: str,
    share_of_session: Callable[[int], int],
) -> Transfer:
    """Record the transfer of one completed package session and queue it after commit.

    Call under the package purchase's lock: the session's sequence (1, 2, ...) is counted
    under it, and ``share_of_session(sequence)`` gives its amount. A booking already
    recorded returns its row.
    """
    existing = Transfer.objects.filter(booking_id=booking_id).first()
    if existing is not None:
        return existing
    sequence = Transfer.objects.filter(package_purchase_id=package_purchase_id).count() + 1
    account = ConnectedAccount.objects.get(coach=coach_user)
    transfer = Transfer.objects.create(
        package_purchase_id=package_purchase_id,
        booking_id=booking_id,
        sequence=sequence,
        amount=share_of_session(sequence),
        currency=currency,
        destination_account_id=account.stripe_account_id or "",
        transfer_group=transfer_group,
    )
    enqueue("payments.transfer_package_share", transfer.pk)
    return transfer


def transfer_execute(*, transfer_id: int) -> Transfer:
    """Send a recorded transfer to Stripe (idempotency key ``transfer-<id>``).

    Raises ``PlatformBalanceTooLow`` (the task retries with backoff) when the platform's
    available balance cannot cover it yet, ``PaymentProviderError`` when Stripe fails.
    """
    with transaction.atomic():
        transfer = Transfer.objects.select_for_update().get(pk=transfer_id)
        if transfer.status == TransferStatus.PAID:
            return transfer
        transfer.attempts += 1
        transfer.save(update_fields=["attempts"])
    if transfer.stripe_transfer_id is None:
        with stripe_errors():
            available = gateway.platform_available_balance(transfer.currency)
        if available < transfer.amount:
            shortfall = f"platform balance {available} {transfer.currency} < {transfer.amount}"
            with transaction.atomic():
                locked = Transfer.objects.select_for_update().get(pk=transfer.pk)
                if locked.status == TransferStatus.WAITING_FOR_BALANCE:
                    locked.last_error = shortfall
                    locked.save(update_fields=["last_error"])
                else:
                    states.transition(
                        locked,
                        TransferStatus.WAITING_FOR_BALANCE,
                        source="balance_check",
                        note=shortfall,
                        changes={"last_error": shortfall},
                        locked=True,
                    )
            raise PlatformBalanceTooLow(shortfall)
    with stripe_errors():
        result = gateway.transfer_create(
            idempotency_key=f"transfer-{transfer.pk}",
            amount=transfer.amount,
            currency=transfer.currency,
            destination=transfer.destination_account_id,
            transfer_group=transfer.transfer_group,
            metadata={"transfer_id": str(transfer.pk), "booking_id": str(transfer.booking_id)},
        )
    with transaction.atomic():
        locked = Transfer.objects.select_for_update().get(pk=transfer.pk)
        if locked.status != TransferStatus.PAID:
            states.transition(
                locked,
                TransferStatus.PAID,
                source="stripe",
                reference=result.id,
                changes={
                    "stripe_transfer_id": result.id,
                    "paid_at": timezone.now(),
                    "last_error": "",
                },
                locked=True,
            )
        return locked


def transfer_balance_alert(*, transfer_id: int) -> None:
    transfer = Transfer.objects.get(pk=transfer_id)
    staff_alert_raise(
        kind=StaffAlert.Kind.OTHER,
        message=(
            f"Transfer {transfer.pk} of {transfer.amount} {transfer.currency} to "
            f"{transfer.destination_account_id} waits for the platform balance: "
            f"{transfer.last_error}"
        ),
    )


def transfer_sync_reversal(*, stripe_transfer_id: str) -> Transfer | None:
    """Mirror a reversal of one of our package transfers (``transfer.reversed``)."""
    transfer = Transfer.objects.filter(stripe_transfer_id=stripe_transfer_id).first()
    if transfer is None:
        return None
    with stripe_errors():
        result = gateway.transfer_retrieve(stripe_transfer_id)
    with transaction.atomic():
        locked = Transfer.objects.select_for_update().get(pk=transfer.pk)
        if locked.reversed_amount != result.amount_reversed:
            locked.reversed_amount = result.amount_reversed
            locked.save(update_fields=["reversed_amount"])
            if result.amount_reversed >= locked.amount:
                states.transition(locked, TransferStatus.REVERSED, source="stripe", locked=True)
        return locked
