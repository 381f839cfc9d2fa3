"""Separate transfers: a package session's share sent to the coach from the package's
charge, and a staff payout sent to its payee from the platform's balance.

One row per (package purchase, session sequence), one per booking and one per payout
request, all enforced by the database, so running anything twice can never pay twice. Each
share names the package's charge as ``source_transaction``: it draws on that charge's funds,
available or pending, and never waits for the platform's available balance; a staff payout
draws on the available balance. What the transfer is for (``Transfer.kind``) is its purpose:
its owner is told through ``payments.purposes`` when it is paid, retried, refused or
reversed.

Stripe's answers are classified (``_is_permanent``): a permanent refusal (another region, an
account that cannot receive transfers, a charge with nothing left to transfer) ends the row
``failed`` with Stripe's message, alerts staff and tells the coach what to do, and is never
retried by itself; a transient one (rate limit, Stripe's own error, a lock) is retried with
backoff under a new idempotency key per attempt (``transfer-<id>-<attempt>``, a payout's
``payout-request-<request id>-<attempt>``), because Stripe
replays a key's first answer, errors included, for 24 hours. An attempt that got no answer
(the connection dropped), or whose request Stripe did not run (409: another request with
the key is still running; 429), is retried with the same key, and before any new key is used the
transfer is looked up at Stripe by its transfer group and ``metadata[transfer_id]``, so an
attempt whose answer was lost is found instead of repeated.

Lock order: the owner's rows (booking → package purchase, the caller's; a payout request,
through its purpose's ``lock_owner``) → transfer. No lock is held across a call to Stripe:
a run claims the current attempt under the row lock, calls Stripe, then records the answer
under the lock again (only for the attempt it claimed).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from marketplace import states
from marketplace.emails import send_templated_email
from marketplace.models import User
from marketplace.queue import enqueue
from payments import gateway, purposes
from payments.errors import stripe_errors
from payments.models import (
    ConnectedAccount,
    Payment,
    PaymentKind,
    StaffAlert,
    Transfer,
    TransferKind,
    TransferStatus,
)
from payments.services.alerts import staff_alert_raise

logger = logging.getLogger("payments.transfers")

# Staff are told when a share is still unpaid after this many attempts with an answer.
ALERT_AFTER_ATTEMPTS = 3
# Backoff between attempts: 1, 2, 4, ... minutes, at most an hour.
BACKOFF_BASE_SECONDS = 60
BACKOFF_MAX_SECONDS = 3600

# Stripe's answers that repeating can change, whatever their HTTP status says.
_TRANSIENT_CODES = frozenset({"lock_timeout", "rate_limit", "idempotency_key_in_use"})
# Answers to requests Stripe did not run, so it keeps nothing under their key: 409 (a request
# with the same key still running) and 429 (rate limited, a lock timeout).
_KEY_KEPT_STATUSES = frozenset({409, 429})


class TransferRetry(Exception):
    """Stripe did not make the transfer this time; try again in ``countdown`` seconds."""

    def __init__(self, message: str, *, countdown: int) -> None:
        super().__init__(message)
        self.countdown = countdown


def backoff_seconds(attempts: int) -> int:
    return int(min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS))


def _package_charge(package_purchase_id: int) -> str:
    """The Stripe charge that paid for the package (empty until the payment is recorded)."""
    charge_id = (
        Payment.objects.filter(package_purchase_id=package_purchase_id, kind=PaymentKind.PACKAGE)
        .exclude(stripe_charge_id="")
        .values_list("stripe_charge_id", flat=True)
        .first()
    )
    return charge_id or ""


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
        source_transaction=_package_charge(package_purchase_id),
    )
    enqueue("payments.transfer_package_share", transfer.pk)
    return transfer


def _claim_attempt(transfer_id: int) -> Transfer | None:
    """Lock the row and return it with the attempt to make (None: nothing to do).

    The first run starts attempt 1; later runs reuse the current attempt's key until its
    answer is recorded, so concurrent runs and retries of a lost answer send one request."""
    with transaction.atomic():
        transfer = Transfer.objects.select_for_update().get(pk=transfer_id)
        if transfer.status not in (TransferStatus.PENDING, TransferStatus.WAITING_FOR_BALANCE):
            return None
        changed: list[str] = []
        if not transfer.idempotency_key:
            transfer.attempts = max(transfer.attempts, 0) + 1
            transfer.idempotency_key = transfer.attempt_key(transfer.attempts)
            changed += ["attempts", "idempotency_key"]
        if not transfer.source_transaction and transfer.package_purchase_id:
            transfer.source_transaction = _package_charge(transfer.package_purchase_id)
            if transfer.source_transaction:
                changed.append("source_transaction")
        if changed:
            transfer.save(update_fields=changed)
        return transfer


def transfer_execute(*, transfer_id: int) -> Transfer:
    """Send a recorded transfer to Stripe under its current attempt's idempotency key.

    Returns the row (``paid``, or ``failed`` after a permanent refusal, or as it was when
    there is nothing to do). Raises ``TransferRetry`` when Stripe did not make it this time
    and another attempt should follow after its countdown.
    """
    transfer = _claim_attempt(transfer_id)
    if transfer is None:
        return Transfer.objects.get(pk=transfer_id)
    key = transfer.idempotency_key
    if transfer.attempts > 1:
        # An earlier attempt may have been made at Stripe with its answer lost.
        with stripe_errors():
            found = gateway.transfer_find(
                transfer_group=transfer.transfer_group,
                metadata_key="transfer_id",
                value=str(transfer.pk),
            )
        if found is not None:
            return _record_paid(transfer.pk, found.id)
    owner = (
        {"payout_request_id": str(transfer.payout_request_id)}
        if transfer.payout_request_id
        else {"booking_id": str(transfer.booking_id)}
    )
    try:
        result = gateway.transfer_create(
            idempotency_key=key,
            amount=transfer.amount,
            currency=transfer.currency,
            destination=transfer.destination_account_id,
            transfer_group=transfer.transfer_group,
            source_transaction=transfer.source_transaction,
            description=transfer.description,
            metadata={"transfer_id": str(transfer.pk), **owner, "attempt": str(transfer.attempts)},
        )
    except gateway.GatewayError as error:
        return _record_error(transfer, key=key, error=error)
    return _record_paid(transfer.pk, result.id)


def _lock(transfer_id: int) -> Transfer:
    """Lock the transfer's owner (its purpose's ``lock_owner``), then the transfer; call
    inside ``transaction.atomic()``."""
    purposes.lock_transfer_owner(Transfer.objects.get(pk=transfer_id))
    return Transfer.objects.select_for_update().get(pk=transfer_id)


def _record_paid(transfer_id: int, stripe_transfer_id: str) -> Transfer:
    with transaction.atomic():
        locked = _lock(transfer_id)
        if locked.status in (TransferStatus.PAID, TransferStatus.REVERSED):
            return locked
        states.transition(
            locked,
            TransferStatus.PAID,
            source="stripe",
            reference=stripe_transfer_id,
            changes={
                "stripe_transfer_id": stripe_transfer_id,
                "paid_at": timezone.now(),
                "last_error": "",
                "failure_code": "",
                "next_attempt_at": None,
            },
            locked=True,
        )
        purposes.transfer_paid(locked)
        return locked


def _is_permanent(error: gateway.GatewayError, *, funded_by_charge: bool) -> bool:
    """Whether repeating the request cannot change Stripe's answer."""
    if error.http_status is None or error.code in _TRANSIENT_CODES:
        return False
    if error.code == "balance_insufficient":
        # From a charge: nothing left of it to transfer. From the balance: wait for funds.
        return funded_by_charge
    return 400 <= error.http_status < 500 and error.http_status not in (409, 429)


def _record_error(transfer: Transfer, *, key: str, error: gateway.GatewayError) -> Transfer:
    message = error.message or "Stripe refused the transfer"
    if error.http_status is None or error.http_status in _KEY_KEPT_STATUSES:
        # No answer (Stripe may have made it), or a request Stripe did not run and does not
        # keep under the key (another one with this key still running, a rate limit): the
        # same key is used again, so a transfer made under it comes back instead of a second.
        with transaction.atomic():
            Transfer.objects.filter(pk=transfer.pk, idempotency_key=key).update(
                last_error=message if error.http_status else f"no answer from Stripe: {message}",
                failure_code=error.code,
            )
        raise TransferRetry(message, countdown=backoff_seconds(transfer.attempts))
    permanent = _is_permanent(error, funded_by_charge=bool(transfer.source_transaction))
    with transaction.atomic():
        locked = _lock(transfer.pk)
        if locked.idempotency_key != key or locked.status not in (
            TransferStatus.PENDING,
            TransferStatus.WAITING_FOR_BALANCE,
        ):
            # Another run recorded this attempt's answer already.
            return locked
        if permanent:
            states.transition(
                locked,
                TransferStatus.FAILED,
                source="stripe",
                note=message,
                changes={
                    "last_error": message,
                    "failure_code": error.code,
                    "next_attempt_at": None,
                },
                locked=True,
            )
            purposes.transfer_failed(locked)
            return locked
        countdown = backoff_seconds(locked.attempts)
        changes = {
            "last_error": message,
            "failure_code": error.code,
            "attempts": locked.attempts + 1,
            "idempotency_key": locked.attempt_key(locked.attempts + 1),
            "next_attempt_at": timezone.now() + timedelta(seconds=countdown),
        }
        waiting = error.code == "balance_insufficient"
        target = TransferStatus.WAITING_FOR_BALANCE if waiting else TransferStatus.PENDING
        if locked.status != target:
            states.transition(
                locked, target, source="stripe", note=message, changes=changes, locked=True
            )
        else:
            for name, value in changes.items():
                setattr(locked, name, value)
            locked.save(update_fields=list(changes))
        purposes.transfer_retrying(locked)
        if locked.attempts == ALERT_AFTER_ATTEMPTS + 1:
            staff_alert_raise(
                kind=StaffAlert.Kind.OTHER,
                message=(
                    f"Transfer {locked.pk} of {locked.amount} {locked.currency} to "
                    f"{locked.destination_account_id} is still unpaid after "
                    f"{ALERT_AFTER_ATTEMPTS} attempts; Stripe said: {message}"
                ),
            )
    raise TransferRetry(message, countdown=countdown)


def package_share_failed(transfer: Transfer) -> None:
    """The package share's purpose: staff and the coach hear of a share Stripe refused for
    good (inside its transaction, so the e-mails are sent once it commits)."""
    account = ConnectedAccount.objects.filter(
        stripe_account_id=transfer.destination_account_id
    ).first()
    coach = account.coach if account is not None else None
    staff_alert_raise(
        kind=StaffAlert.Kind.TRANSFER_FAILED,
        account=account,
        message=(
            f"Transfer {transfer.pk} of {transfer.amount} {transfer.currency} to "
            f"{transfer.destination_account_id}"
            + (f" ({coach.display_name}, {coach.email})" if coach else "")
            + f" was refused by Stripe and will not be retried by itself: {transfer.last_error} "
            "Fix the cause (the account's country or service agreement, its capabilities), "
            "then send it again from the transfer's admin page."
        ),
    )
    if coach is None:
        return
    send_templated_email(
        to=coach.email,
        subject="We could not pay a package session to your Stripe account",
        template="payments_transfer_failed",
        context={
            "coach": coach,
            "transfer": transfer,
            "reason": transfer.last_error,
            "wrong_region": transfer.failure_code == "transfers_not_allowed",
            "setup_path": reverse("payments:connect_setup"),
        },
    )


def transfer_send_again(*, transfer: Transfer, by: User | None = None) -> Transfer:
    """Staff: queue a failed transfer again (after its cause was fixed), as a new attempt."""
    with transaction.atomic():
        locked = _lock(transfer.pk)
        if locked.status != TransferStatus.FAILED or locked.kind != TransferKind.PACKAGE_SHARE:
            return locked
        states.transition(
            locked,
            TransferStatus.PENDING,
            by=by,
            source="admin",
            note="sent again",
            changes={
                "attempts": locked.attempts + 1,
                "idempotency_key": locked.attempt_key(locked.attempts + 1),
                "next_attempt_at": None,
            },
            locked=True,
        )
        enqueue("payments.transfer_package_share", locked.pk)
    return locked


def transfer_sync_reversal(*, stripe_transfer_id: str) -> Transfer | None:
    """Mirror a reversal of one of our separate transfers (``transfer.reversed``, or after we
    reversed it); its owner is told."""
    transfer = Transfer.objects.filter(stripe_transfer_id=stripe_transfer_id).first()
    if transfer is None:
        return None
    with stripe_errors():
        result = gateway.transfer_retrieve(stripe_transfer_id)
    with transaction.atomic():
        locked = _lock(transfer.pk)
        if locked.reversed_amount != result.amount_reversed:
            locked.reversed_amount = result.amount_reversed
            locked.save(update_fields=["reversed_amount"])
            if result.amount_reversed >= locked.amount:
                states.transition(locked, TransferStatus.REVERSED, source="stripe", locked=True)
            purposes.transfer_reversed(locked)
        return locked
