"""Money services: charges on Checkout, refunds, disputes and package transfers.

Every state change of ``Payment``, ``Refund``, ``Dispute`` and ``Transfer`` happens here,
inside ``transaction.atomic()`` with the row locked. Stripe is called only through
``payments.gateway``; each POST's idempotency key is made from our own row id and the action
(``payment-<id>-checkout``, ``refund-<id>``, ``transfer-<id>``), and the row exists (committed)
before the call, so a retry of a crashed call repeats the same request.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from marketplace.errors import Conflict, DomainError, InvalidTransition
from marketplace.money import round_half_up_div, split_application_fee
from marketplace.queue import enqueue
from payments import gateway
from payments.models import (
    PAYMENT_TRANSITIONS,
    ConnectedAccount,
    Dispute,
    Payment,
    PaymentKind,
    PaymentStatus,
    Refund,
    RefundStatus,
    StaffAlert,
    Transfer,
    TransferStatus,
)

if TYPE_CHECKING:
    from bookings.models import Booking, PackagePurchase
    from coaches.models import CoachProfile
    from marketplace.models import User

logger = logging.getLogger("payments.charges")


class PlatformBalanceTooLow(Exception):
    """The platform's available balance cannot cover a transfer yet; retry later."""


# --- the fee rule ---------------------------------------------------------------------------


def fee_split(*, coach: CoachProfile, total: int) -> tuple[int, int]:
    """``(application_fee, coach_amount)`` for ``total`` minor units charged for ``coach``:
    the coach's override of the platform's basis points and minimum fee, else the defaults."""
    fee_bps = (
        coach.fee_bps_override if coach.fee_bps_override is not None else settings.PLATFORM_FEE_BPS
    )
    minimum_fee = (
        coach.minimum_fee_override
        if coach.minimum_fee_override is not None
        else settings.PLATFORM_MINIMUM_FEE
    )
    return split_application_fee(total=total, fee_bps=fee_bps, minimum_fee=minimum_fee)


def _destination_account(coach_user: User) -> ConnectedAccount:
    try:
        account: ConnectedAccount | None = coach_user.connected_account  # type: ignore[attr-defined]
    except ConnectedAccount.DoesNotExist:
        account = None
    if account is None or not account.stripe_account_id or not account.can_take_charges:
        raise Conflict(
            "This coach cannot take payments right now.", code="coach_cannot_take_payments"
        )
    return account


def _move(payment: Payment, status: str) -> None:
    if status not in PAYMENT_TRANSITIONS[payment.status]:
        raise InvalidTransition(f"A {payment.status} payment cannot become {status}.")
    payment.status = status


# --- charges --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckoutUrls:
    success_url: str
    cancel_url: str


def payment_create_for_booking(*, booking: Booking) -> Payment:
    """The pending Payment of a held booking (call inside the hold's transaction)."""
    coach = booking.coach
    total = booking.session_type.price
    fee, coach_amount = fee_split(coach=coach, total=total)
    account = _destination_account(coach.user)
    on_behalf_of = (
        account.stripe_account_id if coach.country.upper() != settings.PLATFORM_COUNTRY else ""
    )
    return Payment.objects.create(
        kind=PaymentKind.BOOKING,
        booking=booking,
        client=booking.client,
        coach=coach.user,
        amount=total,
        application_fee=fee,
        coach_amount=coach_amount,
        currency=booking.session_type.currency.lower(),
        destination_account_id=account.stripe_account_id or "",
        on_behalf_of=on_behalf_of or "",
    )


def payment_create_for_package(*, purchase: PackagePurchase) -> Payment:
    """The pending Payment of a package purchase: a charge on the platform."""
    account = _destination_account(purchase.coach.user)
    return Payment.objects.create(
        kind=PaymentKind.PACKAGE,
        package_purchase=purchase,
        client=purchase.client,
        coach=purchase.coach.user,
        amount=purchase.price,
        application_fee=purchase.application_fee,
        coach_amount=purchase.coach_amount,
        currency=purchase.currency.lower(),
        destination_account_id=account.stripe_account_id or "",
    )


def payment_start_checkout(
    *, payment: Payment, product_name: str, urls: CheckoutUrls, expires_at: datetime
) -> Payment:
    """Create the Checkout Session of a committed pending payment and remember it.

    Idempotent: the key is the payment's id, so a retry returns the same session.
    """
    metadata = {"payment_id": str(payment.pk)}
    if payment.booking_id:
        metadata["booking_id"] = str(payment.booking_id)
    if payment.package_purchase_id:
        metadata["package_purchase_id"] = str(payment.package_purchase_id)
    is_destination_charge = payment.kind == PaymentKind.BOOKING
    session = gateway.checkout_session_create(
        idempotency_key=f"payment-{payment.pk}-checkout",
        amount=payment.amount,
        currency=payment.currency,
        product_name=product_name,
        customer_email=payment.client.email,
        success_url=urls.success_url,
        cancel_url=urls.cancel_url,
        expires_at=expires_at,
        metadata=metadata,
        application_fee_amount=payment.application_fee if is_destination_charge else None,
        destination=payment.destination_account_id if is_destination_charge else None,
        on_behalf_of=payment.on_behalf_of or None,
        transfer_group=(
            f"package-purchase-{payment.package_purchase_id}"
            if payment.package_purchase_id
            else None
        ),
    )
    # One UPDATE of the three fields only Checkout's creation writes: whatever a webhook has
    # changed on the row meanwhile (its status) is left as it is.
    changes = {
        "stripe_checkout_session_id": session.id,
        "checkout_url": session.url,
        "checkout_expires_at": session.expires_at,
        "updated_at": timezone.now(),
    }
    Payment.objects.filter(pk=payment.pk).update(**changes)
    for name, value in changes.items():
        setattr(payment, name, value)
    return payment


def payment_for_stripe_ids(
    *, checkout_session_id: str = "", payment_intent_id: str = "", metadata_payment_id: str = ""
) -> Payment | None:
    """Find our payment from any of the Stripe ids an event may carry."""
    if metadata_payment_id.isdigit():
        found = Payment.objects.filter(pk=int(metadata_payment_id)).first()
        if found is not None:
            return found
    if checkout_session_id:
        found = Payment.objects.filter(stripe_checkout_session_id=checkout_session_id).first()
        if found is not None:
            return found
    if payment_intent_id:
        return Payment.objects.filter(stripe_payment_intent_id=payment_intent_id).first()
    return None


def payment_settle(*, payment_id: int, intent: gateway.PaymentIntent) -> bool:
    """Record what Stripe says about the payment's PaymentIntent (re-read by the caller).

    Returns True only for the call that moved the payment to ``succeeded``; duplicates,
    reorderings and late events are no-ops.
    """
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        changed: list[str] = []
        if intent.id and payment.stripe_payment_intent_id != intent.id:
            payment.stripe_payment_intent_id = intent.id
            changed.append("stripe_payment_intent_id")
        for field, value in (
            ("stripe_charge_id", intent.charge_id),
            ("stripe_transfer_id", intent.transfer_id),
            ("stripe_application_fee_id", intent.application_fee_id),
        ):
            if value and getattr(payment, field) != value:
                setattr(payment, field, value)
                changed.append(field)
        newly_succeeded = False
        if intent.status == "succeeded" and payment.status in (
            PaymentStatus.PENDING,
            PaymentStatus.FAILED,
            PaymentStatus.CANCELLED,
        ):
            if intent.amount != payment.amount or intent.currency != payment.currency:
                logger.error(
                    "payment %s: Stripe charged %s %s", payment.pk, intent.amount, intent.currency
                )
            _move(payment, PaymentStatus.SUCCEEDED)
            payment.succeeded_at = timezone.now()
            payment.failure_message = ""
            changed += ["status", "succeeded_at", "failure_message"]
            newly_succeeded = True
        elif (
            intent.status == "requires_payment_method"
            and intent.failure_message
            and payment.status == PaymentStatus.PENDING
        ):
            _move(payment, PaymentStatus.FAILED)
            payment.failure_message = intent.failure_message
            changed += ["status", "failure_message"]
        elif (
            intent.status == "requires_payment_method"
            and intent.failure_message
            and payment.status == PaymentStatus.FAILED
            and payment.failure_message != intent.failure_message
        ):
            payment.failure_message = intent.failure_message
            changed.append("failure_message")
        if changed:
            payment.save(update_fields=[*dict.fromkeys(changed), "updated_at"])
        return newly_succeeded


def payment_cancel_pending(*, payment_id: int) -> Payment:
    """The checkout ended unpaid (hold expired): the payment is cancelled. No-op otherwise."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        if payment.status in (PaymentStatus.PENDING, PaymentStatus.FAILED):
            _move(payment, PaymentStatus.CANCELLED)
            payment.save(update_fields=["status", "updated_at"])
            if payment.stripe_checkout_session_id:
                from bookings.tasks import expire_checkout_session

                enqueue(expire_checkout_session, payment.stripe_checkout_session_id)
        return payment


# --- refunds --------------------------------------------------------------------------------


def refund_request(
    *,
    payment: Payment,
    amount: int,
    reason: str,
    refund_application_fee: bool,
    requested_by: User | None = None,
) -> Refund | None:
    """Record a refund of ``amount`` and queue its Stripe call after commit.

    A disputed payment is never refunded again (None). The amount is capped at what is
    still refundable; nothing to refund gives None.
    """
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if locked.status == PaymentStatus.DISPUTED:
            return None
        if locked.status not in (PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED):
            raise Conflict("Only a paid payment can be refunded.", code="payment_not_refundable")
        pending = (
            locked.refunds.filter(status=RefundStatus.PENDING).aggregate(total=Sum("amount"))[
                "total"
            ]
            or 0
        )
        amount = min(amount, locked.refundable_amount - pending)
        if amount <= 0:
            return None
        refund = Refund.objects.create(
            payment=locked,
            amount=amount,
            currency=locked.currency,
            reason=reason,
            reverse_transfer=locked.kind == PaymentKind.BOOKING,
            refund_application_fee=refund_application_fee or amount == locked.amount,
            requested_by=requested_by,
        )
        from bookings.tasks import execute_refund

        enqueue(execute_refund, refund.pk)
        return refund


def refund_execute(*, refund_id: int) -> Refund:
    """Make the Stripe refund of a recorded refund (idempotent on the refund's id) and read
    back what moved: the coach's transfer reversal and the platform's fee refund."""
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    if refund.status != RefundStatus.PENDING:
        return refund
    payment = refund.payment
    try:
        result = gateway.refund_create(
            idempotency_key=f"refund-{refund.pk}",
            payment_intent_id=payment.stripe_payment_intent_id or "",
            amount=refund.amount,
            reverse_transfer=refund.reverse_transfer,
            refund_application_fee=refund.refund_application_fee,
            metadata={"refund_id": str(refund.pk), "payment_id": str(payment.pk)},
        )
    except gateway.GatewayError as error:
        if error.http_status and 400 <= error.http_status < 500 and error.http_status != 429:
            with transaction.atomic():
                locked = Refund.objects.select_for_update().get(pk=refund.pk)
                if locked.status == RefundStatus.PENDING:
                    locked.status = RefundStatus.FAILED
                    locked.failure_message = error.message
                    locked.save(update_fields=["status", "failure_message"])
            from payments.services import staff_alert_raise

            staff_alert_raise(
                kind=StaffAlert.Kind.OTHER,
                message=f"Refund {refund.pk} of payment {payment.pk} failed: {error.message}",
            )
            return Refund.objects.get(pk=refund.pk)
        raise
    fee_refunded_total = (
        gateway.application_fee_amount_refunded(payment.stripe_application_fee_id)
        if payment.stripe_application_fee_id and refund.reverse_transfer
        else None
    )
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        locked = Refund.objects.select_for_update().get(pk=refund.pk)
        if locked.status != RefundStatus.PENDING:
            return locked
        locked.stripe_refund_id = result.id
        locked.status = RefundStatus.SUCCEEDED
        locked.transfer_reversal_amount = result.transfer_reversal_amount
        if fee_refunded_total is not None:
            earlier = (
                payment.refunds.filter(status=RefundStatus.SUCCEEDED)
                .exclude(pk=locked.pk)
                .aggregate(total=Sum("application_fee_refund_amount"))["total"]
                or 0
            )
            locked.application_fee_refund_amount = max(fee_refunded_total - earlier, 0)
        locked.save()
        payment.refunded_amount += locked.amount
        if payment.status != PaymentStatus.DISPUTED:
            _move(
                payment,
                PaymentStatus.REFUNDED
                if payment.refunded_amount >= payment.amount
                else PaymentStatus.PARTIALLY_REFUNDED,
            )
        payment.save(update_fields=["refunded_amount", "status", "updated_at"])
        return locked


def refund_by_staff(*, payment: Payment, amount: int | None, by: User) -> Refund:
    """A staff refund: the whole rest by default; the fee comes back in proportion."""
    if not by.is_staff:
        raise DomainError("Only staff can refund.", code="permission_denied", status_code=403)
    if payment.status == PaymentStatus.DISPUTED:
        raise Conflict("A disputed payment is not refunded again.", code="payment_disputed")
    requested = payment.refundable_amount if amount is None else amount
    if requested <= 0 or requested > payment.refundable_amount:
        raise DomainError(
            "The amount must be between 1 and what is left to refund.",
            code="invalid_amount",
            fields={"amount": [f"At most {payment.refundable_amount}."]},
        )
    refund = refund_request(
        payment=payment,
        amount=requested,
        reason=Refund.Reason.STAFF,
        refund_application_fee=True,
        requested_by=by,
    )
    if refund is None:
        raise Conflict("Nothing left to refund.", code="nothing_to_refund")
    return refund


# --- disputes -------------------------------------------------------------------------------


def dispute_record(*, dispute: gateway.DisputeResult) -> tuple[Dispute, bool]:
    """Mark the payment disputed (it is never refunded again); True when new."""
    payment = payment_for_stripe_ids(payment_intent_id=dispute.payment_intent_id)
    if payment is None and dispute.charge_id:
        payment = Payment.objects.filter(stripe_charge_id=dispute.charge_id).first()
    if payment is None:
        from payments.handlers import RetryLater

        raise RetryLater(f"no payment for dispute {dispute.id} yet")
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        row, created = Dispute.objects.get_or_create(
            stripe_dispute_id=dispute.id,
            defaults={
                "payment": payment,
                "amount": dispute.amount,
                "currency": dispute.currency,
                "reason": dispute.reason,
                "status": dispute.status,
            },
        )
        if not created:
            if row.status != dispute.status:
                row.status = dispute.status
                row.save(update_fields=["status"])
            return row, False
        if payment.status != PaymentStatus.DISPUTED:
            _move(payment, PaymentStatus.DISPUTED)
            payment.save(update_fields=["status", "updated_at"])
        from payments.services import staff_alert_raise

        staff_alert_raise(
            kind=StaffAlert.Kind.OTHER,
            message=(
                f"Dispute {dispute.id} ({dispute.reason or 'no reason'}) on payment "
                f"{payment.pk}: {dispute.amount} {dispute.currency}."
            ),
        )
        return row, True


# --- package transfers ---------------------------------------------------------------------


def package_transfer_prepare(*, booking: Booking) -> Transfer | None:
    """Record the transfer of a completed package session's share (once per session).

    Call under the booking's lock. The database's unique constraints make a second row for
    the same booking or sequence impossible, whatever runs twice.
    """
    purchase = booking.package_purchase
    if purchase is None:
        return None
    existing = Transfer.objects.filter(booking=booking).first()
    if existing is not None:
        return existing
    from bookings.models import PackagePurchase

    locked = PackagePurchase.objects.select_for_update().get(pk=purchase.pk)
    sequence = Transfer.objects.filter(package_purchase=locked).count() + 1
    account = ConnectedAccount.objects.get(coach=locked.coach.user)
    return Transfer.objects.create(
        package_purchase=locked,
        booking=booking,
        sequence=sequence,
        amount=locked.session_share(sequence),
        currency=locked.currency,
        destination_account_id=account.stripe_account_id or "",
        transfer_group=locked.transfer_group,
    )


def package_transfer_execute(*, transfer_id: int) -> Transfer:
    """Send a recorded transfer to Stripe (idempotency key ``transfer-<id>``).

    Raises ``PlatformBalanceTooLow`` (the task retries with backoff) when the platform's
    available balance cannot cover it yet.
    """
    with transaction.atomic():
        transfer = Transfer.objects.select_for_update().get(pk=transfer_id)
        if transfer.status == TransferStatus.PAID:
            return transfer
        transfer.attempts += 1
        transfer.save(update_fields=["attempts"])
    if transfer.stripe_transfer_id is None:
        available = gateway.platform_available_balance(transfer.currency)
        if available < transfer.amount:
            with transaction.atomic():
                locked = Transfer.objects.select_for_update().get(pk=transfer.pk)
                locked.status = TransferStatus.WAITING_FOR_BALANCE
                locked.last_error = (
                    f"platform balance {available} {transfer.currency} < {transfer.amount}"
                )
                locked.save(update_fields=["status", "last_error"])
            raise PlatformBalanceTooLow(locked.last_error)
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
            locked.stripe_transfer_id = result.id
            locked.status = TransferStatus.PAID
            locked.paid_at = timezone.now()
            locked.last_error = ""
            locked.save(update_fields=["stripe_transfer_id", "status", "paid_at", "last_error"])
        return locked


def package_transfer_balance_alert(*, transfer_id: int) -> None:
    from payments.services import staff_alert_raise

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
    result = gateway.transfer_retrieve(stripe_transfer_id)
    with transaction.atomic():
        locked = Transfer.objects.select_for_update().get(pk=transfer.pk)
        if locked.reversed_amount != result.amount_reversed:
            locked.reversed_amount = result.amount_reversed
            if result.amount_reversed >= locked.amount:
                locked.status = TransferStatus.REVERSED
            locked.save(update_fields=["reversed_amount", "status"])
        return locked


def refund_percent(amount: int, percent: int) -> int:
    """``percent`` of ``amount`` minor units, rounded half up."""
    return round_half_up_div(amount * percent, 100)
