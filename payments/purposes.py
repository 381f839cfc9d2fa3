"""Payment purposes: how payments tells the app that owns a payment what happened to it.

Payments is money infrastructure and imports no upper app. Each payment has a purpose
(``Payment.kind``: a booking, a package, ...); the app that owns it registers one
``Purpose`` in its ``AppConfig.ready()``::

    purposes.register(
        Purpose(
            kind=PaymentKind.BOOKING,
            lock_owner=lock_booking_of,
            payment_succeeded=booking_payment_succeeded,
            checkout_expired=...,
        )
    )

Payments calls the handlers from its services, inside their transactions:

- ``lock_owner(payment)``: takes the owner's row locks (coach, booking, package purchase) in
  the lock order, *before* payments locks the payment. Every service that locks a payment
  and then tells the owner calls it first, so a webhook and a client's cancellation on the
  same booking take their locks in one order and cannot deadlock.
- ``payment_succeeded(payment)``: Stripe says the payment succeeded (called on every such
  event, not only the first: the handler must be idempotent).
- ``checkout_expired(payment)``: the Checkout Session ended unpaid; the owner ends what it
  held and cancels the payment through ``payments.services.charges.payment_cancel_pending``.
- ``refund_updated(refund)``: a refund of the payment reached a final status.
- ``dispute_opened(payment)``: the client disputed the charge.

A missing handler means the owner has nothing to do for that event.

Separate transfers have purposes too (``Transfer.kind``: a package session's share, a staff
payout); their owner registers a ``TransferPurpose`` the same way, and the transfer service
calls its handlers inside its transactions:

- ``lock_owner(transfer)``: takes the owner's row lock before the transfer's (the lock
  order: owner → transfer), in every transaction that then calls another handler;
- ``transfer_paid(transfer)``: Stripe made the transfer;
- ``transfer_failed(transfer)``: Stripe refused it for good (``last_error`` says why);
- ``transfer_retrying(transfer)``: an attempt did not make it and another will follow
  (``last_error``, ``status`` ``waiting_for_balance`` when the platform lacks funds);
- ``transfer_reversed(transfer)``: ``reversed_amount`` changed (a reversal made by us or in
  Stripe's dashboard).

Subscriptions have purposes too (``Subscription.kind``: a coaching plan, a platform
membership); their owner registers a ``SubscriptionPurpose``, whose handlers the billing
services call inside their transactions, after locking the owner (``lock_owner``) and then
the subscription:

- ``lock_owner(subscription)``: the owner's row locks, before the subscription's;
- ``subscription_updated(subscription)``: the mirrored status, period, cancellation or pause
  changed (called on every sync: idempotent);
- ``invoice_paid(invoice)``: one of its invoices is paid (called on every sync of a paid
  invoice: the owner grants what the period buys once, keyed by the invoice);
- ``invoice_failed(invoice)``: an attempt to charge one of its invoices failed (the client is
  told, with the invoice's link to pay);
- ``billing_path(subscription)``: the site path where the payer manages the subscription
  (payments' own e-mails about it, the reminder before a renewal, link there; ``/`` when the
  owner names none).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from payments.models import Invoice, Payment, Refund, Subscription, Transfer

PaymentHandler = Callable[["Payment"], object]
RefundHandler = Callable[["Refund"], object]
TransferHandler = Callable[["Transfer"], object]
SubscriptionHandler = Callable[["Subscription"], object]
InvoiceHandler = Callable[["Invoice"], object]


@dataclass(frozen=True)
class Purpose:
    kind: str
    lock_owner: PaymentHandler | None = None
    payment_succeeded: PaymentHandler | None = None
    checkout_expired: PaymentHandler | None = None
    refund_updated: RefundHandler | None = None
    dispute_opened: PaymentHandler | None = None


PURPOSES: dict[str, Purpose] = {}


def register(purpose: Purpose) -> None:
    """Register the handlers of one purpose (a second, different registration is an error)."""
    existing = PURPOSES.get(purpose.kind)
    if existing is not None and existing != purpose:
        raise ImproperlyConfigured(f"payment purpose {purpose.kind!r} is registered twice")
    PURPOSES[purpose.kind] = purpose


def purpose_of(payment: Payment) -> Purpose:
    try:
        return PURPOSES[payment.kind]
    except KeyError:
        raise ImproperlyConfigured(
            f"no app registered the payment purpose {payment.kind!r}"
        ) from None


def lock_owner(payment: Payment) -> None:
    handler = purpose_of(payment).lock_owner
    if handler is not None:
        handler(payment)


def payment_succeeded(payment: Payment) -> None:
    handler = purpose_of(payment).payment_succeeded
    if handler is not None:
        handler(payment)


def checkout_expired(payment: Payment) -> None:
    handler = purpose_of(payment).checkout_expired
    if handler is not None:
        handler(payment)


def refund_updated(refund: Refund) -> None:
    handler = purpose_of(refund.payment).refund_updated
    if handler is not None:
        handler(refund)


def dispute_opened(payment: Payment) -> None:
    handler = purpose_of(payment).dispute_opened
    if handler is not None:
        handler(payment)


# --- transfers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TransferPurpose:
    kind: str
    lock_owner: TransferHandler | None = None
    transfer_paid: TransferHandler | None = None
    transfer_failed: TransferHandler | None = None
    transfer_retrying: TransferHandler | None = None
    transfer_reversed: TransferHandler | None = None


TRANSFER_PURPOSES: dict[str, TransferPurpose] = {}


def register_transfer(purpose: TransferPurpose) -> None:
    """Register the handlers of one transfer purpose (a different second one is an error)."""
    existing = TRANSFER_PURPOSES.get(purpose.kind)
    if existing is not None and existing != purpose:
        raise ImproperlyConfigured(f"transfer purpose {purpose.kind!r} is registered twice")
    TRANSFER_PURPOSES[purpose.kind] = purpose


def _transfer_handler(transfer: Transfer, name: str) -> TransferHandler | None:
    try:
        purpose = TRANSFER_PURPOSES[transfer.kind]
    except KeyError:
        raise ImproperlyConfigured(
            f"no app registered the transfer purpose {transfer.kind!r}"
        ) from None
    handler: TransferHandler | None = getattr(purpose, name)
    return handler


def lock_transfer_owner(transfer: Transfer) -> None:
    handler = _transfer_handler(transfer, "lock_owner")
    if handler is not None:
        handler(transfer)


def transfer_paid(transfer: Transfer) -> None:
    handler = _transfer_handler(transfer, "transfer_paid")
    if handler is not None:
        handler(transfer)


def transfer_failed(transfer: Transfer) -> None:
    handler = _transfer_handler(transfer, "transfer_failed")
    if handler is not None:
        handler(transfer)


def transfer_retrying(transfer: Transfer) -> None:
    handler = _transfer_handler(transfer, "transfer_retrying")
    if handler is not None:
        handler(transfer)


def transfer_reversed(transfer: Transfer) -> None:
    handler = _transfer_handler(transfer, "transfer_reversed")
    if handler is not None:
        handler(transfer)


# --- subscriptions --------------------------------------------------------------------------


@dataclass(frozen=True)
class SubscriptionPurpose:
    kind: str
    lock_owner: SubscriptionHandler | None = None
    subscription_updated: SubscriptionHandler | None = None
    invoice_paid: InvoiceHandler | None = None
    invoice_failed: InvoiceHandler | None = None
    billing_path: Callable[[Subscription], str] | None = None


SUBSCRIPTION_PURPOSES: dict[str, SubscriptionPurpose] = {}


def register_subscription(purpose: SubscriptionPurpose) -> None:
    """Register the handlers of one subscription purpose (a different second one is an
    error)."""
    existing = SUBSCRIPTION_PURPOSES.get(purpose.kind)
    if existing is not None and existing != purpose:
        raise ImproperlyConfigured(f"subscription purpose {purpose.kind!r} is registered twice")
    SUBSCRIPTION_PURPOSES[purpose.kind] = purpose


def _subscription_purpose(subscription: Subscription) -> SubscriptionPurpose:
    try:
        return SUBSCRIPTION_PURPOSES[subscription.kind]
    except KeyError:
        raise ImproperlyConfigured(
            f"no app registered the subscription purpose {subscription.kind!r}"
        ) from None


def lock_subscription_owner(subscription: Subscription) -> None:
    handler = _subscription_purpose(subscription).lock_owner
    if handler is not None:
        handler(subscription)


def subscription_updated(subscription: Subscription) -> None:
    handler = _subscription_purpose(subscription).subscription_updated
    if handler is not None:
        handler(subscription)


def invoice_paid(invoice: Invoice) -> None:
    assert invoice.subscription is not None
    handler = _subscription_purpose(invoice.subscription).invoice_paid
    if handler is not None:
        handler(invoice)


def invoice_failed(invoice: Invoice) -> None:
    assert invoice.subscription is not None
    handler = _subscription_purpose(invoice.subscription).invoice_failed
    if handler is not None:
        handler(invoice)


def billing_path(subscription: Subscription) -> str:
    handler = _subscription_purpose(subscription).billing_path
    return handler(subscription) if handler is not None else "/"
