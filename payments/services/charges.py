"""Charges: the fee rule, a payment's creation, its Checkout Session, and settling it from
what Stripe says.

Stripe is called only through ``payments.gateway``; each POST's idempotency key is made from
our own row id and the action (``payment-<id>-checkout``), and the row exists (committed)
before the call, so a retry of a crashed call repeats the same request. The owner of a
payment's purpose (a booking, a package) is told what happened through
``payments.purposes``; payments imports no upper app.

Lock order (``docs/architecture.md``): the owner's rows (coach → booking → package purchase,
taken by ``purposes.lock_owner``) before the payment.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from marketplace import states
from marketplace.errors import Conflict
from marketplace.models import User
from marketplace.money import split_application_fee
from marketplace.queue import enqueue
from payments import designs, gateway, purposes
from payments.errors import PaymentProviderError, stripe_errors
from payments.models import ConnectedAccount, Payment, PaymentKind, PaymentStatus
from payments.services import customers

logger = logging.getLogger("payments.charges")

# A Checkout Session that cannot be made is told to the client in these words.
CHECKOUT_UNAVAILABLE = "Payments are unavailable right now; please try again in a moment."


@dataclass(frozen=True)
class FeeTerms:
    """The platform fee a payee pays on a payment: ``fee_bps`` basis points, at least
    ``minimum_fee`` minor units. ``membership`` names the platform membership that lowered
    it, "" when none did. The app that knows payees decides them (for a coach:
    ``coaches.selectors.coach_fee_terms``)."""

    fee_bps: int
    minimum_fee: int
    membership: str = ""

    def split(self, total: int) -> tuple[int, int]:
        """``(application_fee, coach_amount)`` of ``total`` minor units."""
        return split_application_fee(
            total=total, fee_bps=self.fee_bps, minimum_fee=self.minimum_fee
        )


def platform_fee_terms() -> FeeTerms:
    """The platform's default fee (``PLATFORM_FEE_BPS``, ``PLATFORM_MINIMUM_FEE``)."""
    return FeeTerms(fee_bps=settings.PLATFORM_FEE_BPS, minimum_fee=settings.PLATFORM_MINIMUM_FEE)


def fee_split(
    *, total: int, fee_bps: int | None = None, minimum_fee: int | None = None
) -> tuple[int, int]:
    """``(application_fee, coach_amount)`` for ``total`` minor units: the coach's override of
    the platform's basis points and minimum fee (None: the platform's default)."""
    return split_application_fee(
        total=total,
        fee_bps=settings.PLATFORM_FEE_BPS if fee_bps is None else fee_bps,
        minimum_fee=settings.PLATFORM_MINIMUM_FEE if minimum_fee is None else minimum_fee,
    )


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


@dataclass(frozen=True)
class CheckoutUrls:
    success_url: str
    cancel_url: str


def payment_create(
    *,
    kind: str,
    client: User,
    coach_user: User,
    amount: int,
    application_fee: int,
    currency: str,
    booking_id: int | None = None,
    package_purchase_id: int | None = None,
) -> Payment:
    """The pending Payment of a purpose (call inside the owner's transaction).

    The design follows the coach's account as Stripe reports it (its country and service
    agreement, ``payments.designs``): a booking is a destination charge to the account,
    settled by it (``on_behalf_of``) when it is a ``full`` account in another region than
    the platform; a package is a charge on the platform whose shares are transferred later
    or, where Stripe allows no such transfers, a destination charge settled by the account
    (the coach is paid for the whole package at purchase).

    The client's Stripe Customer, if they have one yet, is kept on the payment: its
    Checkout Session offers the saved cards (``CheckoutRequest.fields``).
    """
    account = _destination_account(coach_user)
    design = designs.design_for_account(account)
    on_behalf_of = ""
    if kind == PaymentKind.BOOKING and design.booking_on_behalf_of:
        on_behalf_of = account.stripe_account_id or ""
    if kind == PaymentKind.PACKAGE and not design.package_transfers:
        on_behalf_of = account.stripe_account_id or ""
    return Payment.objects.create(
        kind=kind,
        booking_id=booking_id,
        package_purchase_id=package_purchase_id,
        client=client,
        coach=coach_user,
        amount=amount,
        application_fee=application_fee,
        coach_amount=amount - application_fee,
        currency=currency.lower(),
        destination_account_id=account.stripe_account_id or "",
        on_behalf_of=on_behalf_of,
        stripe_customer_id=customers.stripe_customer_id_of(client),
    )


# A Checkout Session lives 33 minutes by Stripe's clock: Stripe's minimum is 30, and a
# session is accepted when it lives 31 to 35, which leaves room for our estimate of Stripe's
# clock to be a little off. The hold of a booking lasts exactly as long (on our clock).
CHECKOUT_LIFETIME = timedelta(minutes=33)
CHECKOUT_LIFETIME_RANGE = (timedelta(minutes=31), timedelta(minutes=35))
# How far Stripe's clock is ahead of ours, learned from the ``created`` of the sessions it
# makes (shared by every process through the cache).
_CLOCK_OFFSET_KEY = "payments:stripe-clock-offset"


def _checkout_errors() -> AbstractContextManager[None]:
    return stripe_errors(message=CHECKOUT_UNAVAILABLE, code="payment_unavailable", status_code=503)


def stripe_clock_offset() -> timedelta:
    """Our best estimate of Stripe's clock minus ours (0 until a session has told us)."""
    return timedelta(seconds=int(cache.get(_CLOCK_OFFSET_KEY) or 0))


def _learn_stripe_clock(
    *,
    stripe_created: datetime,
    sent_at: datetime,
    answered_at: datetime,
    known: timedelta | None = None,
) -> timedelta:
    """Stripe's clock minus ours as one answer tells it, remembered when it is more than two
    seconds off ``known`` (the estimate the request was made with; read when not given)."""
    midpoint = sent_at + (answered_at - sent_at) / 2
    offset = timedelta(seconds=round((stripe_created - midpoint).total_seconds()))
    if known is None:
        known = stripe_clock_offset()
    if abs(offset - known) > timedelta(seconds=2):
        cache.set(_CLOCK_OFFSET_KEY, int(offset.total_seconds()), timeout=None)
    return offset


# Stripe's answer to a Checkout Session request, as the gateway gives it.
CheckoutSessionMade = gateway.CheckoutSession


@dataclass(frozen=True)
class CheckoutRequest:
    """The first Checkout Session request of a committed pending payment, decided before
    Stripe is called (``checkout_request``): sent by ``payment_start_checkout``, or awaited
    with ``checkout_session_create_async`` and recorded by ``payment_checkout_record``."""

    payment: Payment
    product_name: str
    urls: CheckoutUrls
    key: str
    expires_at: datetime
    sent_at: datetime
    # Our estimate of Stripe's clock when the request was made (``expires_at`` follows it).
    clock_offset: timedelta = timedelta(0)

    def fields(self, expires_at: datetime | None) -> dict[str, object]:
        payment = self.payment
        is_destination_charge = payment.is_destination_charge
        metadata = {"payment_id": str(payment.pk)}
        if payment.booking_id:
            metadata["booking_id"] = str(payment.booking_id)
        if payment.package_purchase_id:
            metadata["package_purchase_id"] = str(payment.package_purchase_id)
        return {
            "amount": payment.amount,
            "currency": payment.currency,
            "product_name": self.product_name,
            "customer_email": payment.client.email,
            "success_url": self.urls.success_url,
            "cancel_url": self.urls.cancel_url,
            "expires_at": expires_at,
            "metadata": metadata,
            "application_fee_amount": payment.application_fee if is_destination_charge else None,
            "destination": payment.destination_account_id if is_destination_charge else None,
            "on_behalf_of": payment.on_behalf_of or None,
            "transfer_group": (
                f"package-purchase-{payment.package_purchase_id}"
                if payment.package_purchase_id
                else None
            ),
            # Checkout offers the client's saved cards, or makes their Customer (and offers
            # to save the card there); every one-off payment gets a Stripe invoice.
            "customer": payment.stripe_customer_id or None,
            "invoice_description": self.product_name,
        }

    def create(
        self, key: str, expires_at: datetime | None
    ) -> tuple[gateway.CheckoutSession, datetime]:
        with _checkout_errors():
            session = gateway.checkout_session_create(
                idempotency_key=key,
                **self.fields(expires_at),  # type: ignore[arg-type]
            )
        return session, timezone.now()


def checkout_request(*, payment: Payment, product_name: str, urls: CheckoutUrls) -> CheckoutRequest:
    """The first request of the payment's Checkout Session (reads our estimate of Stripe's
    clock). Its parameters depend only on the payment (its creation time), so a retry of a
    crashed call repeats the same request and gets the same session back."""
    offset = stripe_clock_offset()
    return CheckoutRequest(
        payment=payment,
        product_name=product_name,
        urls=urls,
        key=f"payment-{payment.pk}-checkout",
        expires_at=(payment.created_at + offset + CHECKOUT_LIFETIME).replace(microsecond=0),
        sent_at=timezone.now(),
        clock_offset=offset,
    )


def payment_start_checkout(*, payment: Payment, product_name: str, urls: CheckoutUrls) -> Payment:
    """Create the Checkout Session of a committed pending payment and remember it.

    The session expires ``CHECKOUT_LIFETIME`` after its creation by Stripe's clock (its
    ``expires_at`` is Stripe's time; our estimate of Stripe's clock is checked against the
    session's ``created`` and, when it was off, the session is expired and made again with
    the corrected clock). ``checkout_expires_at`` is when it expires on our clock.

    Idempotent: the key is the payment's id, so a retry returns the same session. Raises
    ``PaymentProviderError`` (503, ``payment_unavailable``) when Stripe cannot make it.
    """
    request = checkout_request(payment=payment, product_name=product_name, urls=urls)
    try:
        session, answered_at = request.create(request.key, request.expires_at)
    except PaymentProviderError as error:
        cause = error.__cause__
        if not (isinstance(cause, gateway.GatewayError) and cause.param == "expires_at"):
            raise
        # Our clock estimate was far off: a session without ``expires_at`` tells us Stripe's.
        session, answered_at = request.create(f"{request.key}-clock", None)
    return payment_checkout_record(request=request, session=session, answered_at=answered_at)


async def checkout_session_create_async(
    request: CheckoutRequest,
) -> tuple[gateway.CheckoutSession | None, datetime]:
    """Send ``request`` and await Stripe's answer on the event loop, touching no database
    (``payment_checkout_record`` records it, in a thread). ``(None, …)``: Stripe refused
    ``expires_at`` (our clock estimate is far off), which ``payment_start_checkout``
    corrects. Raises ``PaymentProviderError`` (503) when Stripe cannot make it."""
    try:
        with _checkout_errors():
            session = await gateway.checkout_session_create_async(
                idempotency_key=request.key,
                **request.fields(request.expires_at),  # type: ignore[arg-type]
            )
    except PaymentProviderError as error:
        cause = error.__cause__
        if isinstance(cause, gateway.GatewayError) and cause.param == "expires_at":
            return None, timezone.now()
        raise
    return session, timezone.now()


def payment_checkout_record(
    *,
    request: CheckoutRequest,
    session: gateway.CheckoutSession | None,
    answered_at: datetime,
) -> Payment:
    """Check the session Stripe made for ``request`` against Stripe's clock (expiring and
    making it again when our estimate was off) and remember it on the payment. ``session``
    None: Stripe refused the first request's ``expires_at``; the whole checkout is made
    again here (``payment_start_checkout``: the same first request, then a corrected one)."""
    payment = request.payment
    if session is None:
        return payment_start_checkout(
            payment=payment, product_name=request.product_name, urls=request.urls
        )
    sent_at = request.sent_at

    def lifetime(session: gateway.CheckoutSession) -> timedelta | None:
        if session.expires_at is None or session.created is None:
            return None
        return session.expires_at - session.created

    span = lifetime(session)
    if span is None or not (CHECKOUT_LIFETIME_RANGE[0] <= span <= CHECKOUT_LIFETIME_RANGE[1]):
        offset = _learn_stripe_clock(
            stripe_created=session.created or answered_at, sent_at=sent_at, answered_at=answered_at
        )
        with _checkout_errors():
            gateway.checkout_session_expire(session_id=session.id)
        sent_at = timezone.now()
        session, answered_at = request.create(
            f"{request.key}-{int(offset.total_seconds())}",
            (sent_at + offset + CHECKOUT_LIFETIME).replace(microsecond=0),
        )
        span = lifetime(session) or CHECKOUT_LIFETIME
    elif session.created is not None:
        _learn_stripe_clock(
            stripe_created=session.created,
            sent_at=sent_at,
            answered_at=answered_at,
            known=request.clock_offset,
        )
    # On our clock the session ends no earlier than on Stripe's (its answer came after it
    # was made), so a hold that ends then never ends before the client can no longer pay.
    expires_locally = (answered_at + span).replace(microsecond=0) + timedelta(seconds=1)
    # One UPDATE of the fields only Checkout's creation writes: whatever a webhook has
    # changed on the row meanwhile (its status) is left as it is.
    changes = {
        "stripe_checkout_session_id": session.id,
        "checkout_url": session.url,
        "checkout_expires_at": expires_locally,
        "updated_at": timezone.now(),
    }
    Payment.objects.filter(pk=payment.pk).update(**changes)
    for name, value in changes.items():
        setattr(payment, name, value)
    return payment


def payment_for_stripe_ids(
    *,
    checkout_session_id: str = "",
    payment_intent_id: str = "",
    charge_id: str = "",
    metadata_payment_id: str = "",
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
        found = Payment.objects.filter(stripe_payment_intent_id=payment_intent_id).first()
        if found is not None:
            return found
    if charge_id:
        return Payment.objects.filter(stripe_charge_id=charge_id).first()
    return None


def payment_settle(*, payment: Payment, intent: gateway.PaymentIntent) -> bool:
    """Record what Stripe says about the payment's PaymentIntent (re-read by the caller) and,
    when it succeeded, tell the purpose's owner. Returns True only for the call that moved
    the payment to ``succeeded``; duplicates, reorderings and late events change nothing.

    Locks: the owner's rows first (``purposes.lock_owner``: coach → booking → package
    purchase), then the payment. The owner is told in the same transaction as the payment
    moves, so an intent already recorded (the same Stripe event again, or another event of the
    same payment: a Checkout payment sends three) finds nothing to do and takes no lock.
    """
    if _already_settled(payment, intent):
        return False
    with transaction.atomic():
        purposes.lock_owner(payment)
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        ids: dict[str, str] = {}
        for field, value in (
            ("stripe_payment_intent_id", intent.id),
            ("stripe_charge_id", intent.charge_id),
            ("stripe_transfer_id", intent.transfer_id),
            ("stripe_application_fee_id", intent.application_fee_id),
        ):
            if value and getattr(locked, field) != value:
                ids[field] = value
        newly_succeeded = False
        if intent.status == "succeeded":
            if intent.amount != locked.amount or intent.currency != locked.currency:
                logger.error(
                    "payment %s: Stripe charged %s %s", locked.pk, intent.amount, intent.currency
                )
            if locked.status in (
                PaymentStatus.PENDING,
                PaymentStatus.FAILED,
                PaymentStatus.CANCELLED,
            ):
                newly_succeeded = states.transition(
                    locked,
                    PaymentStatus.SUCCEEDED,
                    source="stripe",
                    changes={**ids, "succeeded_at": timezone.now(), "failure_message": ""},
                    locked=True,
                )
                ids = {}
        elif intent.status == "requires_payment_method" and intent.failure_message:
            if locked.status == PaymentStatus.PENDING:
                states.transition(
                    locked,
                    PaymentStatus.FAILED,
                    source="stripe",
                    note=intent.failure_message,
                    changes={**ids, "failure_message": intent.failure_message},
                    locked=True,
                )
                ids = {}
            elif (
                locked.status == PaymentStatus.FAILED
                and locked.failure_message != intent.failure_message
            ):
                ids["failure_message"] = intent.failure_message
        if ids:
            for name, value in ids.items():
                setattr(locked, name, value)
            locked.save(update_fields=[*ids, "updated_at"])
        if intent.status == "succeeded":
            purposes.payment_succeeded(locked)
        return newly_succeeded


# A payment in one of these has succeeded at Stripe and its owner was told.
_SETTLED = frozenset(
    {
        PaymentStatus.SUCCEEDED,
        PaymentStatus.PARTIALLY_REFUNDED,
        PaymentStatus.REFUNDED,
        PaymentStatus.DISPUTED,
    }
)


def payment_fully_recorded(payment: Payment | None) -> bool:
    """Whether an event saying this payment succeeded can teach us nothing: it succeeded, its
    owner was told, and every Stripe id a succeeded intent carries is on the row (the
    PaymentIntent, the charge and, for a destination charge, the transfer and the application
    fee). A handler may then skip re-reading the intent: what it would read is already here,
    and a succeeded payment only moves on through refunds and disputes, never back."""
    if payment is None or payment.status not in _SETTLED:
        return False
    ids = [payment.stripe_payment_intent_id, payment.stripe_charge_id]
    if payment.is_destination_charge:
        ids += [payment.stripe_transfer_id, payment.stripe_application_fee_id]
    return all(ids)


def _already_settled(payment: Payment, intent: gateway.PaymentIntent) -> bool:
    """Whether a succeeded intent has nothing left to record on ``payment`` (read without a
    lock: a stale read only sends the caller the locked way)."""
    return (
        intent.status == "succeeded"
        and payment.status in _SETTLED
        and all(
            not value or getattr(payment, field) == value
            for field, value in (
                ("stripe_payment_intent_id", intent.id),
                ("stripe_charge_id", intent.charge_id),
                ("stripe_transfer_id", intent.transfer_id),
                ("stripe_application_fee_id", intent.application_fee_id),
            )
        )
    )


def payment_cancel_pending(*, payment_id: int) -> Payment:
    """The checkout ended unpaid (hold expired): the payment is cancelled and its Checkout
    Session closed, so the client cannot pay for it any more. No-op otherwise.

    Locks the payment only: the owner calls it holding its own rows (lock order).
    """
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        if payment.status in (PaymentStatus.PENDING, PaymentStatus.FAILED):
            states.transition(
                payment, PaymentStatus.CANCELLED, source="checkout_ended", locked=True
            )
            if payment.stripe_checkout_session_id:
                enqueue("payments.expire_checkout_session", payment.stripe_checkout_session_id)
        return payment


def payment_checkout_expired(*, payment: Payment) -> None:
    """Stripe says the payment's Checkout Session expired: the owner ends what it held (and
    cancels the payment through ``payment_cancel_pending``)."""
    with transaction.atomic():
        purposes.lock_owner(payment)
        purposes.checkout_expired(payment)


def checkout_session_close(*, checkout_session_id: str) -> bool:
    """Expire an open Checkout Session at Stripe (its hold ended); False if it was not open."""
    with stripe_errors():
        return gateway.checkout_session_expire(session_id=checkout_session_id) is not None


def payments_move_to_booking(*, from_booking_id: int, to_booking_id: int) -> int:
    """A rescheduled booking's payments follow it to the booking that replaces it (the caller
    holds both bookings' locks). Returns how many moved."""
    return Payment.objects.filter(booking_id=from_booking_id).update(
        booking_id=to_booking_id, updated_at=timezone.now()
    )
