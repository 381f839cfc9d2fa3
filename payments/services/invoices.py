"""Invoices: Stripe's copy of each invoice of ours, the Payment a paid subscription invoice's
charge makes, and paying an open invoice now.

An invoice is ours when it bills one of our subscriptions (a coaching plan, a platform
membership) or is the receipt of one of our one-off payments (Checkout's
``invoice_creation``; its PaymentIntent is the payment's). ``invoice_sync`` re-reads it from
Stripe and records what Stripe says now; every invoice event calls it, so duplicates and any
order of delivery end in the same rows: the status only moves forward through the invoice's
table (an answer older than our row is left alone), the subscription invoice's Payment is
made once (the invoice row's lock, ``Invoice.payment`` and the PaymentIntent's unique id),
and the subscription's owner is told through ``payments.purposes``:

- ``invoice_paid(invoice)`` on every sync of a paid invoice (the owner grants what the period
  buys once, keyed by the invoice; a 0-amount invoice, a trial's or one a credit covered, is
  paid with no Payment: ``invoice.amount_paid`` and ``invoice.payment`` say so);
- ``invoice_failed(invoice)`` once per failed attempt we see (``attempt_count`` rose and the
  invoice is still unpaid; an attempt that failed before a later one paid is not told).

A paid subscription invoice's charge is a ``Payment`` (kind ``plan``: a destination charge
to the coach, the platform keeping the invoice's ``application_fee_amount``; kind
``membership``: a charge on the platform, the whole amount the platform's), with the Stripe
ids reconciliation and refunds need (PaymentIntent, charge, transfer, application fee).

Lock order: the subscription's owner (``purposes.lock_subscription_owner``) → subscription →
invoice → payment. No lock is held across a Stripe call.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from marketplace import states
from marketplace.dates import format_when
from marketplace.emails import send_templated_email
from marketplace.errors import Conflict, DomainError, NotFound
from marketplace.models import User
from marketplace.money import format_money
from payments import gateway, purposes
from payments.errors import provider_error, stripe_errors
from payments.handlers import RetryLater
from payments.models import (
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentKind,
    PaymentStatus,
    Subscription,
    SubscriptionKind,
)
from payments.services import charges, subscriptions

logger = logging.getLogger("payments.invoices")

# What a paid subscription invoice's charge is for.
PAYMENT_KIND = {
    SubscriptionKind.PLAN: PaymentKind.PLAN,
    SubscriptionKind.MEMBERSHIP: PaymentKind.MEMBERSHIP,
}
# Statuses in which an invoice waits for the payer's money.
PAYABLE = frozenset({InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE})


def invoice_sync(*, stripe_invoice_id: str) -> Invoice | None:
    """Re-read the invoice from Stripe and record it (every invoice event, "pay now", a
    missed event). None when it is not ours. Raises ``RetryLater`` when it is ours but the
    row it belongs to is not known yet, ``PaymentProviderError`` when Stripe cannot be read.
    Idempotent."""
    try:
        with stripe_errors():
            snapshot = gateway.invoice_retrieve(stripe_invoice_id)
    except DomainError as error:
        if isinstance(error.__cause__, gateway.StripeObjectMissing):
            logger.info(
                "invoice %s: Stripe has no such invoice (a deleted draft)", stripe_invoice_id
            )
            return None
        raise
    return invoice_record(snapshot=snapshot)


def invoice_record(*, snapshot: gateway.InvoiceSnapshot) -> Invoice | None:
    """Record Stripe's invoice (read by the caller) on its owner's row; see the module."""
    if snapshot.subscription_id:
        subscription = _subscription_of(snapshot)
        if subscription is None:
            return None
        return _record_for_subscription(subscription, snapshot)
    payment = _payment_of(snapshot)
    if payment is None:
        return None
    return _record_receipt(payment, snapshot)


def _subscription_of(snapshot: gateway.InvoiceSnapshot) -> Subscription | None:
    """Our subscription the invoice bills. A subscription our row does not know by Stripe's
    id yet (its Checkout completion not recorded) is synced, which links it through its
    metadata; one made outside the product (no ``subscription_id`` in its metadata) is not
    ours."""
    found = Subscription.objects.filter(stripe_subscription_id=snapshot.subscription_id).first()
    if found is not None:
        return found
    found = subscriptions.subscription_sync(stripe_subscription_id=snapshot.subscription_id)
    if found is not None:
        return found
    if snapshot.subscription_metadata.get("subscription_id", "").isdigit():
        raise RetryLater(f"no subscription for {snapshot.subscription_id} yet")
    return None


def _payment_of(snapshot: gateway.InvoiceSnapshot) -> Payment | None:
    """The one-off payment an invoice is the receipt of (by its PaymentIntent, or the
    ``payment_id`` in its metadata). An invoice with neither is not ours (one made in
    Stripe's Dashboard)."""
    ours = snapshot.metadata.get("payment_id", "")
    if not snapshot.payment_intent_id and not ours.isdigit():
        return None
    payment = charges.payment_for_stripe_ids(
        payment_intent_id=snapshot.payment_intent_id, metadata_payment_id=ours
    )
    if payment is None:
        raise RetryLater(f"no payment for invoice {snapshot.id} yet")
    return payment


def _locked_row(snapshot: gateway.InvoiceSnapshot, *, customer_user_id: int) -> Invoice:
    """The invoice's row, made (insert-or-ignore on the Stripe id) if it is new, locked."""
    Invoice.objects.bulk_create(
        [
            Invoice(
                stripe_invoice_id=snapshot.id,
                customer_user_id=customer_user_id,
                currency=snapshot.currency,
                issued_at=snapshot.created or timezone.now(),
            )
        ],
        ignore_conflicts=True,
    )
    return Invoice.objects.select_for_update(of=("self",)).get(stripe_invoice_id=snapshot.id)


def _apply(invoice: Invoice, snapshot: gateway.InvoiceSnapshot, **owner: object) -> bool:
    """Write Stripe's invoice on the locked row; False (nothing written) when the answer is
    older than the row: a status the row has moved past, or fewer attempts than it counts."""
    target = snapshot.status
    machine = states.machine_for(Invoice)
    if target not in InvoiceStatus.values:
        logger.warning("invoice %s: Stripe's status %r is not one of ours", snapshot.id, target)
        return False
    if target != invoice.status and not machine.allows(invoice.status, target):
        logger.info(
            "invoice %s: Stripe said %s, ours is %s; kept", snapshot.id, target, invoice.status
        )
        return False
    if target == invoice.status and snapshot.attempt_count < invoice.attempt_count:
        return False
    fields: dict[str, object] = {
        **owner,
        "stripe_customer_id": snapshot.customer_id,
        "number": snapshot.number,
        "billing_reason": snapshot.billing_reason,
        "currency": snapshot.currency,
        "subtotal": snapshot.subtotal,
        "total": snapshot.total,
        "amount_due": snapshot.amount_due,
        "amount_paid": snapshot.amount_paid,
        "amount_remaining": snapshot.amount_remaining,
        "application_fee_amount": snapshot.application_fee_amount,
        "hosted_invoice_url": snapshot.hosted_invoice_url,
        "invoice_pdf": snapshot.invoice_pdf,
        "period_start": snapshot.period_start,
        "period_end": snapshot.period_end,
        "lines": [line.as_dict() for line in snapshot.lines],
        "attempt_count": snapshot.attempt_count,
        "next_payment_attempt": snapshot.next_payment_attempt,
        "stripe_payment_intent_id": snapshot.payment_intent_id,
        "issued_at": snapshot.created or invoice.issued_at,
        "paid_at": snapshot.paid_at,
    }
    changed = [name for name, value in fields.items() if getattr(invoice, name) != value]
    for name in changed:
        setattr(invoice, name, fields[name])
    if changed:
        invoice.save(update_fields=[*changed, "updated_at"])
    if target != invoice.status:
        states.transition(invoice, target, source="stripe", reference=snapshot.id, locked=True)
    return True


def _record_for_subscription(
    subscription: Subscription, snapshot: gateway.InvoiceSnapshot
) -> Invoice:
    with transaction.atomic():
        purposes.lock_subscription_owner(subscription)
        subscription = (
            Subscription.objects.select_for_update(of=("self",))
            .select_related("customer_user", "payee")
            .get(pk=subscription.pk)
        )
        invoice = _locked_row(snapshot, customer_user_id=subscription.customer_user_id)
        attempts_seen = invoice.attempt_count
        if not _apply(
            invoice,
            snapshot,
            subscription_id=subscription.pk,
            customer_user_id=subscription.customer_user_id,
            payee_id=subscription.payee_id,
        ):
            return invoice
        invoice.subscription = subscription
        if invoice.status == InvoiceStatus.PAID:
            if invoice.payment_id is None and _charged(snapshot):
                _payment_record(invoice=invoice, subscription=subscription, snapshot=snapshot)
            purposes.invoice_paid(invoice)
        elif invoice.status in PAYABLE and snapshot.attempt_count > attempts_seen:
            purposes.invoice_failed(invoice)
        return invoice


def _charged(snapshot: gateway.InvoiceSnapshot) -> bool:
    """Whether a charge paid the invoice (not a 0-amount invoice, nor one paid outside
    Stripe's charges)."""
    intent = snapshot.payment
    return (
        snapshot.amount_paid > 0
        and intent is not None
        and intent.status == "succeeded"
        and bool(intent.charge_id)
    )


def _payment_record(
    *, invoice: Invoice, subscription: Subscription, snapshot: gateway.InvoiceSnapshot
) -> Payment:
    """The Payment of a paid subscription invoice's charge, made once and linked (the
    caller holds the owner's, the subscription's and the invoice's locks).

    A Connect invoice is a destination charge: the coach receives ``amount_paid`` less the
    invoice's ``application_fee_amount``. Without a destination (a membership) the charge is
    the platform's: its whole amount is the application fee and the payer is also the
    payment's ``coach`` (the row's counterparty; nothing is owed to anyone)."""
    intent = snapshot.payment
    assert intent is not None
    payment = Payment.objects.select_for_update().filter(stripe_payment_intent_id=intent.id).first()
    if payment is None:
        amount = snapshot.amount_paid
        destination = snapshot.destination_account_id
        fee = min(snapshot.application_fee_amount, amount) if destination else amount
        if intent.amount != amount or intent.currency != snapshot.currency:
            logger.error(
                "invoice %s: Stripe charged %s %s for %s %s",
                snapshot.id,
                intent.amount,
                intent.currency,
                amount,
                snapshot.currency,
            )
        payment = Payment.objects.create(
            kind=PAYMENT_KIND[SubscriptionKind(subscription.kind)],
            client_id=subscription.customer_user_id,
            coach_id=subscription.payee_id or subscription.customer_user_id,
            amount=amount,
            application_fee=fee,
            coach_amount=amount - fee,
            currency=snapshot.currency,
            destination_account_id=destination,
            on_behalf_of=snapshot.on_behalf_of,
            stripe_payment_intent_id=intent.id,
            stripe_charge_id=intent.charge_id,
            stripe_transfer_id=intent.transfer_id,
            stripe_application_fee_id=intent.application_fee_id,
        )
        states.transition(
            payment,
            PaymentStatus.SUCCEEDED,
            source="stripe",
            reference=snapshot.id,
            changes={"succeeded_at": timezone.now()},
            locked=True,
        )
    invoice.payment = payment
    invoice.save(update_fields=["payment", "updated_at"])
    return payment


def _record_receipt(payment: Payment, snapshot: gateway.InvoiceSnapshot) -> Invoice:
    """A one-off payment's invoice: linked to its payment, the payment's client and coach
    its customer and payee. Locks the invoice only (the payment is read, not changed)."""
    with transaction.atomic():
        invoice = _locked_row(snapshot, customer_user_id=payment.client_id)
        owner: dict[str, object] = {
            "customer_user_id": payment.client_id,
            "payee_id": payment.coach_id,
        }
        linked = Invoice.objects.filter(payment=payment).exclude(pk=invoice.pk).exists()
        if invoice.payment_id is None and not linked:
            owner["payment_id"] = payment.pk
        _apply(invoice, snapshot, **owner)
        return invoice


# --- paying now ---------------------------------------------------------------------------

PAY_UNAVAILABLE = "Stripe could not take the payment right now; please try again in a moment."


def invoice_pay_now(*, invoice: Invoice, by: User) -> Invoice:
    """The payer pays an open invoice now with the card Stripe has for them (the
    subscription's, else their default one); the invoice is synced before and after.

    Refused (409 ``invoice_not_payable``) unless Stripe has it open or uncollectible; a
    declined card is 402 ``card_declined`` with the card's message, after Stripe recorded
    the attempt. Each attempt has its own idempotency key (``invoice-<id>-pay-<attempt>``):
    Stripe answers a reused key with its first answer."""
    if by.pk != invoice.customer_user_id:
        raise NotFound("No such invoice.")
    fresh = invoice_sync(stripe_invoice_id=invoice.stripe_invoice_id) or invoice
    if fresh.status not in PAYABLE:
        raise Conflict("This invoice is not waiting for payment.", code="invoice_not_payable")
    try:
        gateway.invoice_pay(
            invoice_id=fresh.stripe_invoice_id,
            idempotency_key=f"invoice-{fresh.pk}-pay-{fresh.attempt_count + 1}",
        )
    except gateway.GatewayError as error:
        if error.http_status != 402:
            raise provider_error(error, message=PAY_UNAVAILABLE) from error
        invoice_sync(stripe_invoice_id=fresh.stripe_invoice_id)
        raise DomainError(
            error.message or "Your card was declined.",
            code="card_declined",
            status_code=402,
        ) from error
    return invoice_sync(stripe_invoice_id=fresh.stripe_invoice_id) or fresh


# --- the reminder before a renewal ----------------------------------------------------------

# Stripe's statuses whose subscription renews at the period's end.
_RENEWING = frozenset({"active", "trialing", "past_due"})
# How long a reminder is remembered (a renewal is reminded of once, whatever Stripe resends).
_REMINDED_FOR = timedelta(days=40)


def invoice_upcoming_remind(*, preview: Mapping[str, Any]) -> bool:
    """Stripe's ``invoice.upcoming``: tell the payer what will be charged and when, with the
    link to the page where they manage the subscription (its purpose's ``billing_path``).

    Stripe's preview has no id to re-read: the subscription it names is re-read, and nobody
    is reminded of a renewal that will not happen (canceled, ending at the period's end,
    collection paused). The amount is the preview's (it includes prorations), the date the
    subscription's period end. Once per subscription and period. Returns whether an e-mail
    was sent."""
    details = (preview.get("parent") or {}).get("subscription_details") or {}
    stripe_subscription_id = str(details.get("subscription") or "")
    subscription = (
        Subscription.objects.select_related("customer_user", "payee")
        .filter(stripe_subscription_id=stripe_subscription_id)
        .first()
        if stripe_subscription_id
        else None
    )
    if subscription is None:
        return False  # not ours
    with stripe_errors():
        current = gateway.subscription_retrieve(stripe_subscription_id)
    renews_at = current.current_period_end
    if (
        current.status not in _RENEWING
        or current.cancel_at_period_end
        or current.pause_collection
        or renews_at is None
    ):
        return False
    amount = int(preview.get("amount_due") or current.amount)
    currency = str(preview.get("currency") or current.currency or subscription.currency)
    if amount <= 0:
        return False  # nothing will be charged
    if not cache.add(
        f"payments:invoice-upcoming:{subscription.pk}:{int(renews_at.timestamp())}",
        1,
        timeout=int(_REMINDED_FOR.total_seconds()),
    ):
        return False
    payer = subscription.customer_user
    what = (
        f"coaching plan with {subscription.payee.display_name}"
        if subscription.kind == SubscriptionKind.PLAN and subscription.payee is not None
        else subscription.get_kind_display().lower()
    )
    charge = format_money(amount, currency)
    when = format_when(renews_at, payer.time_zone)
    send_templated_email(
        to=payer.email,
        subject=f"Your {what} renews soon: {charge}",
        template="payments_invoice_upcoming",
        context={
            "recipient": payer,
            "what": what,
            "amount": charge,
            "when": when,
            "billing_path": purposes.billing_path(subscription),
        },
    )
    return True
