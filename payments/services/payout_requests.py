"""Staff payouts: a bonus to a coach, prize money to a winner who is not a coach, a goodwill
payment or a correction, sent from the platform's balance to the payee's Express account.

- ``payout_request_create``: a staff member asks for it (recipient, amount and currency,
  reason, note); everything that would move money wrongly is refused here with a clear error
  and nothing is recorded: an amount of 0, negative or above ``PAYOUT_MAX_AMOUNT``, a
  currency the account cannot receive, a recipient without an active account that Stripe
  lets the platform pay, a missing reason. A prize keeps ``PAYOUT_PRIZE_FEE_BPS`` for the
  platform; the rest is transferred.
- ``payout_request_approve``: a staff member approves it; above
  ``PAYOUT_TWO_PERSON_THRESHOLD`` it must be another than the one who asked (the two-person
  rule). Approval records the request's one ``Transfer`` (kind ``staff_payout``, unique per
  request in the database) and queues ``payments.execute_payout_request`` after commit.
- ``payout_request_execute`` (the task): checks the platform's available balance before the
  first attempt (an account short of funds waits, staff are told, nothing is sent), then
  sends the transfer through ``payments.services.transfers``: one idempotency key per
  attempt, ``payout-request-<id>-<attempt>``, Stripe's answer classified (a permanent
  refusal ends the request ``failed`` with Stripe's reason and a staff alert; a transient one
  is retried). Running it twice at once, again, or after a worker died mid-way makes one
  Stripe transfer.
- ``payout_request_cancel``: before any attempt reached Stripe.
- ``payout_request_reverse``: a Stripe transfer reversal of all or part of what was paid,
  with a reason; the money goes back to the platform.

The transfer's outcomes reach the request through the ``staff_payout`` transfer purpose
(``payments.purposes``), registered in ``PaymentsConfig.ready()``. Every step writes a
``PayoutRequestEvent`` (who, when, what): the audit trail in admin and its CSV.

Lock order: payout request → transfer. No lock is held across a call to Stripe.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from marketplace import states
from marketplace.emails import send_templated_email
from marketplace.errors import Conflict, DomainError, NotAllowed
from marketplace.models import User
from marketplace.money import MAX_CHARGE_AMOUNT, format_money, split_application_fee, to_minor
from marketplace.queue import enqueue
from payments import designs, gateway
from payments.errors import provider_error, stripe_errors
from payments.models import (
    AccountState,
    ConnectedAccount,
    PayoutReason,
    PayoutRequest,
    PayoutRequestEvent,
    PayoutRequestStatus,
    StaffAlert,
    Transfer,
    TransferKind,
    TransferStatus,
)
from payments.purposes import TransferPurpose
from payments.services import transfers
from payments.services.alerts import staff_alert_raise
from payments.services.transfers import TransferRetry

logger = logging.getLogger("payments.payout_requests")

Action = PayoutRequestEvent.Action
# A payout waiting for the platform's balance is checked again after this long.
BALANCE_RECHECK_SECONDS = 15 * 60


# --- the rules --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PayoutTerms:
    """What a payout would be, shown to staff before they ask for or approve it."""

    amount: int
    currency: str
    platform_fee: int
    platform_fee_bps: int
    net_amount: int
    needs_second_person: bool
    threshold: int
    ceiling: int


def two_person_threshold(currency: str) -> int:
    """Above this (minor units of ``currency``) a second staff member must approve."""
    return to_minor(settings.PAYOUT_TWO_PERSON_THRESHOLD, currency)


def payout_ceiling(currency: str) -> int:
    """The most one payout may be (minor units of ``currency``)."""
    return min(to_minor(settings.PAYOUT_MAX_AMOUNT, currency), MAX_CHARGE_AMOUNT)


def payout_terms(*, amount: int, currency: str, reason: str) -> PayoutTerms:
    """The fee, the net transferred and whether two people must agree. A prize keeps
    ``PAYOUT_PRIZE_FEE_BPS`` for the platform (the seed's 3%), rounded half up; other reasons
    transfer the whole amount."""
    currency = currency.lower()
    fee_bps = settings.PAYOUT_PRIZE_FEE_BPS if reason == PayoutReason.PRIZE else 0
    fee, net = split_application_fee(total=amount, fee_bps=fee_bps) if amount > 0 else (0, 0)
    threshold = two_person_threshold(currency)
    return PayoutTerms(
        amount=amount,
        currency=currency,
        platform_fee=fee,
        platform_fee_bps=fee_bps,
        net_amount=net,
        needs_second_person=amount > threshold,
        threshold=threshold,
        ceiling=payout_ceiling(currency),
    )


def receivable_currencies(account: ConnectedAccount) -> list[str]:
    """The currencies a payout to ``account`` may be in: its own (what Stripe pays out to its
    bank) and the platform's (converted by Stripe into the account's)."""
    return sorted({c for c in (account.default_currency, settings.PLATFORM_CURRENCY.lower()) if c})


def _payable_account(recipient: User) -> ConnectedAccount:
    """The recipient's account, if Stripe lets the platform pay it now; else a clear error."""
    account = ConnectedAccount.objects.filter(coach=recipient).first()
    if account is None or not account.stripe_account_id:
        raise DomainError(
            f"{recipient.email} has no Stripe account yet: invite them to set one up first.",
            code="no_account",
            fields={"recipient": ["No Stripe account."]},
        )
    if account.state != AccountState.ACTIVE:
        raise DomainError(
            f"{recipient.email}'s Stripe account is {account.get_state_display().lower()}, "
            "not active: Stripe would not accept the payout.",
            code="account_not_active",
            fields={"recipient": ["The Stripe account is not active."]},
        )
    if account.capabilities.get("transfers") != "active" or not designs.accepts_transfers(account):
        raise DomainError(
            f"Stripe cannot send transfers to {recipient.email}'s account "
            f"({account.country}, {account.service_agreement or 'full'} agreement).",
            code="account_cannot_receive",
            fields={"recipient": ["This account cannot receive transfers."]},
        )
    return account


def _event(
    payout_request: PayoutRequest,
    action: str,
    *,
    actor: User | None = None,
    amount: int | None = None,
    detail: str = "",
    stripe_id: str = "",
) -> PayoutRequestEvent:
    return PayoutRequestEvent.objects.create(
        payout_request=payout_request,
        action=action,
        actor=actor,
        at=timezone.now(),
        amount=amount,
        currency=payout_request.currency if amount is not None else "",
        detail=detail,
        stripe_id=stripe_id,
    )


def _staff_only(user: User, what: str) -> None:
    if not (user.is_authenticated and user.is_staff):
        raise NotAllowed(f"Only staff can {what}.")


# --- requesting, approving, cancelling ----------------------------------------------------------


def payout_request_check(
    *, recipient: User | None, amount: int, currency: str, reason: str
) -> tuple[ConnectedAccount, PayoutTerms]:
    """Validate a payout before it is asked for (the admin form shows the errors, and the
    terms: fee, net, whether two people must agree). Raises ``DomainError`` with the fields
    at fault; writes nothing."""
    currency = (currency or "").strip().lower()
    errors: dict[str, list[str]] = {}
    if reason not in PayoutReason.values:
        errors["reason"] = ["Choose the reason: bonus, prize, goodwill or correction."]
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        errors["amount"] = ["The amount must be more than zero."]
    elif len(currency) == 3 and amount > payout_ceiling(currency):
        errors["amount"] = [
            "At most "
            f"{format_money(payout_ceiling(currency), currency)} per payout "
            "(PAYOUT_MAX_AMOUNT)."
        ]
    if len(currency) != 3 or not currency.isalpha():
        errors["currency"] = ["Give a three-letter currency code."]
    if recipient is None:
        errors["recipient"] = ["Choose who is paid."]
    if errors:
        raise DomainError("The payout is not valid.", fields=errors)
    assert recipient is not None
    account = _payable_account(recipient)
    if currency not in receivable_currencies(account):
        raise DomainError(
            f"{recipient.email}'s Stripe account cannot receive {currency.upper()}: pay in "
            + " or ".join(c.upper() for c in receivable_currencies(account))
            + ".",
            code="currency_not_receivable",
            fields={"currency": ["The account cannot receive this currency."]},
        )
    terms = payout_terms(amount=amount, currency=currency, reason=reason)
    if terms.net_amount <= 0:
        raise DomainError(
            "Nothing would be left to transfer after the prize fee.",
            fields={"amount": ["Too small."]},
        )
    return account, terms


def payout_request_create(
    *, recipient: User, amount: int, currency: str, reason: str, note: str = "", by: User
) -> PayoutRequest:
    """A staff member asks to pay ``recipient``; nothing moves until it is approved."""
    _staff_only(by, "request payouts")
    currency = (currency or "").strip().lower()
    account, terms = payout_request_check(
        recipient=recipient, amount=amount, currency=currency, reason=reason
    )
    with transaction.atomic():
        payout_request = PayoutRequest.objects.create(
            recipient=recipient,
            destination_account_id=account.stripe_account_id or "",
            amount=amount,
            currency=currency,
            platform_fee=terms.platform_fee,
            platform_fee_bps=terms.platform_fee_bps,
            net_amount=terms.net_amount,
            reason=reason,
            note=note.strip()[:500],
            needs_second_person=terms.needs_second_person,
            requested_by=by,
        )
        _event(
            payout_request,
            Action.REQUESTED,
            actor=by,
            amount=amount,
            detail=(
                f"{payout_request.get_reason_display()} of {format_money(amount, currency)} to "
                f"{recipient.email}; fee {format_money(terms.platform_fee, currency)}, "
                f"transferred {format_money(terms.net_amount, currency)}"
                + ("; needs a second staff member's approval" if terms.needs_second_person else "")
                + (f". Note: {payout_request.note}" if payout_request.note else "")
            ),
        )
    return payout_request


def payout_request_approve(*, payout_request: PayoutRequest, by: User) -> PayoutRequest:
    """Approve the payout and queue its transfer (once, whatever the clicks).

    Above the two-person threshold the approver must not be the requester. A request that
    is no longer waiting (approved, paid, cancelled, failed) is refused with 409."""
    _staff_only(by, "approve payouts")
    with transaction.atomic():
        locked = PayoutRequest.objects.select_for_update().get(pk=payout_request.pk)
        if locked.status != PayoutRequestStatus.REQUESTED:
            raise Conflict(
                f"This payout is {locked.get_status_display().lower()}: it cannot be approved.",
                code="not_awaiting_approval",
            )
        refused = locked.needs_second_person and locked.requested_by_id == by.pk
        if not refused:
            account = _payable_account(locked.recipient)
            states.transition(
                locked,
                PayoutRequestStatus.APPROVED,
                by=by,
                source="admin",
                changes={"approved_by": by, "approved_at": timezone.now()},
                locked=True,
            )
            Transfer.objects.create(
                kind=TransferKind.STAFF_PAYOUT,
                payout_request=locked,
                amount=locked.net_amount,
                currency=locked.currency,
                destination_account_id=account.stripe_account_id or "",
                transfer_group=locked.transfer_group,
                description=_description(locked),
            )
            _event(locked, Action.APPROVED, actor=by, amount=locked.net_amount)
            enqueue("payments.execute_payout_request", locked.pk)
            return locked
    # The refusal is recorded for the audit trail, then the error is raised.
    with transaction.atomic():
        _event(
            locked,
            Action.APPROVAL_REFUSED,
            actor=by,
            detail="The requester cannot approve their own payout above the two-person threshold.",
        )
    raise NotAllowed(
        "You asked for this payout: above "
        f"{format_money(two_person_threshold(locked.currency), locked.currency)} another staff "
        "member must approve it.",
        code="two_person_rule",
    )


def _description(payout_request: PayoutRequest) -> str:
    text = f"{payout_request.get_reason_display()} from {settings.SITE_NAME}"
    if payout_request.note:
        text += f": {payout_request.note}"
    return text[:500]


def payout_request_cancel(*, payout_request: PayoutRequest, by: User) -> PayoutRequest:
    """Call the payout off while nothing was sent to Stripe (409 once an attempt was made:
    reverse it once it is paid instead)."""
    _staff_only(by, "cancel payouts")
    with transaction.atomic():
        locked = PayoutRequest.objects.select_for_update().get(pk=payout_request.pk)
        if locked.status == PayoutRequestStatus.APPROVED:
            transfer = Transfer.objects.select_for_update().get(payout_request=locked)
            if transfer.attempts > 0 or transfer.status not in (
                TransferStatus.PENDING,
                TransferStatus.WAITING_FOR_BALANCE,
            ):
                raise Conflict(
                    "The transfer was already sent to Stripe: it cannot be cancelled "
                    "(reverse it once it is paid).",
                    code="already_sent",
                )
            states.transition(
                transfer, TransferStatus.CANCELLED, by=by, source="admin", locked=True
            )
        elif locked.status != PayoutRequestStatus.REQUESTED:
            raise Conflict(
                f"This payout is {locked.get_status_display().lower()}: it cannot be cancelled.",
                code="not_cancellable",
            )
        states.transition(
            locked,
            PayoutRequestStatus.CANCELLED,
            by=by,
            source="admin",
            changes={"cancelled_by": by},
            locked=True,
        )
        _event(locked, Action.CANCELLED, actor=by)
    return locked


# --- executing ---------------------------------------------------------------------------------


def payout_request_execute(*, payout_request_id: int) -> str:
    """Send the approved payout's transfer (the task's body). Returns the request's status.

    Before the first attempt the platform's available balance is checked: short of funds,
    the transfer waits (``waiting_for_balance``, staff told once) and nothing is sent.
    Raises ``TransferRetry`` when another run should follow after its countdown."""
    transfer = Transfer.objects.filter(payout_request_id=payout_request_id).first()
    if transfer is None:
        return PayoutRequest.objects.get(pk=payout_request_id).status
    if transfer.attempts == 0 and transfer.status in (
        TransferStatus.PENDING,
        TransferStatus.WAITING_FOR_BALANCE,
    ):
        with stripe_errors():
            available = gateway.platform_available_balance(transfer.currency)
        if available < transfer.amount:
            _wait_for_balance(transfer.pk, available=available)
            raise TransferRetry(
                f"the platform has {format_money(available, transfer.currency)} available",
                countdown=BALANCE_RECHECK_SECONDS,
            )
    transfers.transfer_execute(transfer_id=transfer.pk)
    return PayoutRequest.objects.get(pk=payout_request_id).status


def _wait_for_balance(transfer_id: int, *, available: int) -> None:
    with transaction.atomic():
        payout_request = PayoutRequest.objects.select_for_update().get(transfer__pk=transfer_id)
        transfer = Transfer.objects.select_for_update().get(pk=transfer_id)
        if transfer.attempts or transfer.status != TransferStatus.PENDING:
            return  # already waiting (told once), sent, or cancelled
        message = (
            f"The platform has {format_money(available, transfer.currency)} available; the "
            f"payout needs {format_money(transfer.amount, transfer.currency)}."
        )
        states.transition(
            transfer,
            TransferStatus.WAITING_FOR_BALANCE,
            source="balance check",
            note=message,
            changes={"last_error": message},
            locked=True,
        )
        _event(payout_request, Action.WAITING_FOR_BALANCE, detail=message)
        staff_alert_raise(
            kind=StaffAlert.Kind.BALANCE_LOW,
            message=(
                f"Payout request {payout_request.pk} to {payout_request.recipient.email} is "
                f"waiting: {message} It is sent as soon as the balance allows (checked every "
                f"{BALANCE_RECHECK_SECONDS // 60} minutes); cancel it in admin if it should "
                "not wait."
            ),
        )


# --- the staff payout transfer purpose (called by payments.services.transfers) ----------------


def _locked_request(transfer: Transfer) -> PayoutRequest:
    assert transfer.payout_request_id is not None, "a staff payout's transfer has its request"
    return PayoutRequest.objects.select_for_update().get(pk=transfer.payout_request_id)


def _lock_owner(transfer: Transfer) -> None:
    _locked_request(transfer)


def _transfer_paid(transfer: Transfer) -> None:
    payout_request = _locked_request(transfer)
    moved = states.transition(
        payout_request,
        PayoutRequestStatus.PAID,
        source="stripe",
        reference=transfer.stripe_transfer_id or "",
        changes={"paid_at": transfer.paid_at or timezone.now()},
        locked=True,
    )
    if not moved:
        return
    _event(
        payout_request,
        Action.EXECUTED,
        amount=transfer.amount,
        stripe_id=transfer.stripe_transfer_id or "",
        detail=f"Stripe transfer after attempt {transfer.attempts}",
    )
    recipient = payout_request.recipient
    send_templated_email(
        to=recipient.email,
        subject=f"{format_money(transfer.amount, transfer.currency)} is on its way to you",
        template="payments_payout_on_its_way",
        context={
            "recipient": recipient,
            "payout_request": payout_request,
            "amount": format_money(payout_request.amount, payout_request.currency),
            "fee": format_money(payout_request.platform_fee, payout_request.currency),
            "net": format_money(transfer.amount, transfer.currency),
            "received_path": reverse("payments:payments_received"),
        },
    )


def _transfer_failed(transfer: Transfer) -> None:
    payout_request = _locked_request(transfer)
    states.transition(
        payout_request,
        PayoutRequestStatus.FAILED,
        source="stripe",
        note=transfer.last_error,
        changes={"failure_code": transfer.failure_code, "failure_message": transfer.last_error},
        locked=True,
    )
    _event(
        payout_request,
        Action.FAILED,
        amount=transfer.amount,
        detail=f"Stripe refused the transfer ({transfer.failure_code}): {transfer.last_error}",
    )
    account = ConnectedAccount.objects.filter(
        stripe_account_id=transfer.destination_account_id
    ).first()
    staff_alert_raise(
        kind=StaffAlert.Kind.TRANSFER_FAILED,
        account=account,
        message=(
            f"Payout request {payout_request.pk} "
            f"({payout_request.get_reason_display().lower()} of "
            f"{format_money(transfer.amount, transfer.currency)} to "
            f"{payout_request.recipient.email}, Stripe account "
            f"{transfer.destination_account_id}) failed: Stripe said "
            f"\u201c{transfer.last_error}\u201d ({transfer.failure_code}). Nothing was sent; "
            "once the account can receive transfers, make a new request."
        ),
    )


def _transfer_retrying(transfer: Transfer) -> None:
    payout_request = _locked_request(transfer)
    _event(
        payout_request,
        Action.RETRYING,
        detail=f"Attempt {transfer.attempts - 1} did not make it ({transfer.failure_code}): "
        f"{transfer.last_error}",
    )


def _transfer_reversed(transfer: Transfer) -> None:
    """Stripe says the transfer was reversed (by us, or in Stripe's dashboard)."""
    payout_request = _locked_request(transfer)
    if payout_request.reversed_at is not None or transfer.reversed_amount <= 0:
        return
    _finish_reversal(
        payout_request,
        amount=transfer.reversed_amount,
        reversal_id=payout_request.stripe_transfer_reversal_id,
        reason=payout_request.reversal_reason or "Reversed at Stripe",
    )


STAFF_PAYOUT_PURPOSE = TransferPurpose(
    kind=TransferKind.STAFF_PAYOUT,
    lock_owner=_lock_owner,
    transfer_paid=_transfer_paid,
    transfer_failed=_transfer_failed,
    transfer_retrying=_transfer_retrying,
    transfer_reversed=_transfer_reversed,
)


# --- reversing ---------------------------------------------------------------------------------


def payout_request_reverse(
    *, payout_request: PayoutRequest, reason: str, by: User, amount: int | None = None
) -> PayoutRequest:
    """Take all (default) or part of a paid payout back from the payee's account with a
    Stripe transfer reversal, with a reason; once per payout.

    The amount and reason are recorded before Stripe is asked, so a repeat (a double click,
    a retry after Stripe could not be reached) sends the same reversal under the same key."""
    _staff_only(by, "reverse payouts")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Give the reason for the reversal.", fields={"reason": ["Required."]})
    with transaction.atomic():
        locked = PayoutRequest.objects.select_for_update().get(pk=payout_request.pk)
        if locked.reversed_at is not None:
            raise Conflict("This payout was already reversed.", code="already_reversed")
        if locked.status != PayoutRequestStatus.PAID:
            raise Conflict(
                f"This payout is {locked.get_status_display().lower()}: only a paid payout "
                "can be reversed.",
                code="not_reversible",
            )
        wanted = locked.net_amount if amount is None else amount
        if (
            isinstance(wanted, bool)
            or not isinstance(wanted, int)
            or not 0 < wanted <= locked.net_amount
        ):
            raise DomainError(
                f"Reverse between {format_money(1, locked.currency)} and "
                f"{format_money(locked.net_amount, locked.currency)}.",
                fields={"amount": ["Out of range."]},
            )
        if locked.reversal_amount and locked.reversal_amount != wanted:
            raise Conflict(
                "A reversal of "
                f"{format_money(locked.reversal_amount, locked.currency)} is under way: "
                "repeat it with the same amount.",
                code="reversal_under_way",
            )
        transfer = Transfer.objects.select_for_update().get(payout_request=locked)
        if not locked.reversal_amount:
            locked.reversal_amount = wanted
            locked.reversal_reason = reason[:500]
            locked.reversed_by = by
            locked.save(update_fields=["reversal_amount", "reversal_reason", "reversed_by"])
            _event(locked, Action.REVERSAL_REQUESTED, actor=by, amount=wanted, detail=reason)
        refusals = locked.events.filter(action=Action.REVERSAL_REFUSED).count()
        key = f"{locked.transfer_group}-reversal-{refusals + 1}"
        stripe_transfer_id = transfer.stripe_transfer_id or ""
    try:
        reversal = gateway.transfer_reversal_create(
            idempotency_key=key,
            transfer_id=stripe_transfer_id,
            amount=wanted,
            refund_application_fee=False,
            metadata={"payout_request_id": str(locked.pk), "reason": reason[:500]},
        )
    except gateway.GatewayError as error:
        permanent = error.http_status is not None and 400 <= error.http_status < 500
        if not permanent or error.http_status in (409, 429):
            raise provider_error(error) from error
        with transaction.atomic():
            refused = PayoutRequest.objects.select_for_update().get(pk=locked.pk)
            if refused.reversed_at is None:
                refused.reversal_amount = 0
                refused.reversal_reason = ""
                refused.reversed_by = None
                refused.save(update_fields=["reversal_amount", "reversal_reason", "reversed_by"])
                _event(refused, Action.REVERSAL_REFUSED, actor=by, detail=error.message)
        raise Conflict(
            f"Stripe refused the reversal: {error.message}", code="reversal_refused"
        ) from error
    with transaction.atomic():
        done = PayoutRequest.objects.select_for_update().get(pk=locked.pk)
        if done.reversed_at is None:
            _finish_reversal(done, amount=reversal.amount, reversal_id=reversal.id, reason=reason)
    transfers.transfer_sync_reversal(stripe_transfer_id=stripe_transfer_id)
    done.refresh_from_db()
    return done


def _finish_reversal(
    payout_request: PayoutRequest, *, amount: int, reversal_id: str, reason: str
) -> None:
    """Record a reversal Stripe made (the request is locked by the caller) and tell the
    payee."""
    full = amount >= payout_request.net_amount
    states.transition(
        payout_request,
        PayoutRequestStatus.REVERSED if full else PayoutRequestStatus.PARTIALLY_REVERSED,
        by=payout_request.reversed_by,
        source="stripe",
        reference=reversal_id,
        note=reason,
        changes={
            "reversal_amount": amount,
            "reversal_reason": reason[:500],
            "stripe_transfer_reversal_id": reversal_id,
            "reversed_at": timezone.now(),
        },
        locked=True,
    )
    _event(
        payout_request,
        Action.REVERSED,
        actor=payout_request.reversed_by,
        amount=amount,
        stripe_id=reversal_id,
        detail=reason,
    )
    recipient = payout_request.recipient
    send_templated_email(
        to=recipient.email,
        subject=f"A payout of {format_money(payout_request.net_amount, payout_request.currency)} "
        "was reversed",
        template="payments_payout_reversed",
        context={
            "recipient": recipient,
            "payout_request": payout_request,
            "reversed": format_money(amount, payout_request.currency),
            "reason": reason,
            "received_path": reverse("payments:payments_received"),
        },
    )
