"""Invoices: reading one with the PaymentIntent that paid it, a customer's list, the invoice
a PaymentIntent was made for, and paying an open invoice now.

Since API version ``2025-03-31.basil`` an invoice names its subscription under
``parent.subscription_details`` and its payments in ``payments`` (InvoicePayments, Stripe's
includable field: present only when expanded), no longer as ``subscription``,
``payment_intent`` or ``charge``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from payments.gateway.client import stripe_client
from payments.gateway.errors import call
from payments.gateway.fields import field_value, id_of, plain_dict, timestamp
from payments.gateway.payment_intents import PaymentIntent, payment_intent_retrieve


@dataclass(frozen=True)
class InvoiceLine:
    description: str
    amount: int
    # The period the line bills, as Unix seconds.
    period_start: int | None
    period_end: int | None
    proration: bool
    # A subscription's line (a period of its price, or a proration of it).
    subscription_item: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The line as ``Invoice.lines`` keeps it."""
        return {
            "description": self.description,
            "amount": self.amount,
            "period_start": self.period_start,
            "period_end": self.period_end,
            "proration": self.proration,
        }


@dataclass(frozen=True)
class InvoiceSnapshot:
    """An invoice as Stripe has it now. Amounts in ``currency``'s minor units."""

    id: str
    status: str  # draft | open | paid | void | uncollectible
    customer_id: str
    number: str
    billing_reason: str
    currency: str
    subtotal: int
    total: int
    amount_due: int
    amount_paid: int
    amount_remaining: int
    # The platform's share of a Connect invoice (0 otherwise).
    application_fee_amount: int
    hosted_invoice_url: str
    invoice_pdf: str
    # The period the invoice pays for: its subscription lines' (not Stripe's ``period_start``
    # and ``period_end``, which are the period in which its items were added: for a renewal,
    # the period before the one it bills), else the invoice's own.
    period_start: datetime | None
    period_end: datetime | None
    lines: tuple[InvoiceLine, ...]
    attempt_count: int
    attempted: bool
    next_payment_attempt: datetime | None
    created: datetime | None
    paid_at: datetime | None
    # The subscription it bills ("" for a one-off invoice) and that subscription's metadata
    # when the invoice was made (ours carry ``subscription_id``).
    subscription_id: str
    subscription_metadata: dict[str, str]
    # A Connect invoice's destination (``transfer_data.destination``) and ``on_behalf_of``.
    destination_account_id: str
    on_behalf_of: str
    metadata: dict[str, str]
    # The PaymentIntent of the invoice's paid InvoicePayment, else of its latest attempt ("":
    # none, or a list read without ``payments``).
    payment_intent_id: str
    # That PaymentIntent with its charge, transfer and application fee ids, when it paid the
    # invoice (read by ``invoice_retrieve`` only).
    payment: PaymentIntent | None = None


def _line(line: Any) -> InvoiceLine:
    parent = field_value(line, "parent")
    details = field_value(parent, "subscription_item_details") or field_value(
        parent, "invoice_item_details"
    )
    period = field_value(line, "period")
    return InvoiceLine(
        description=str(field_value(line, "description", "")),
        amount=int(field_value(line, "amount", 0)),
        period_start=field_value(period, "start"),
        period_end=field_value(period, "end"),
        proration=bool(field_value(details, "proration", False)),
        subscription_item=field_value(parent, "type", "") == "subscription_item_details",
    )


def _service_period(
    lines: tuple[InvoiceLine, ...], invoice: Any
) -> tuple[datetime | None, datetime | None]:
    billed = [line for line in lines if line.subscription_item and not line.proration]
    billed = billed or [line for line in lines if line.subscription_item] or list(lines)
    starts = [line.period_start for line in billed if line.period_start]
    ends = [line.period_end for line in billed if line.period_end]
    if starts and ends and max(ends) > min(starts):
        return timestamp(min(starts)), timestamp(max(ends))
    return (
        timestamp(field_value(invoice, "period_start")),
        timestamp(field_value(invoice, "period_end")),
    )


def _payment_intent_id(invoice: Any) -> tuple[str, bool]:
    """The PaymentIntent of the invoice's paid payment (and True), else of its default one."""
    payments = field_value(field_value(invoice, "payments"), "data", [])
    chosen: Any = None
    for payment in payments:
        if field_value(payment, "status") == "paid":
            return id_of(field_value(field_value(payment, "payment"), "payment_intent")), True
        if field_value(payment, "is_default", False):
            chosen = payment
    return id_of(field_value(field_value(chosen, "payment"), "payment_intent")), False


def _snapshot(
    invoice: Any, *, lines: list[Any] | None = None, payment: PaymentIntent | None = None
) -> InvoiceSnapshot:
    listed = field_value(invoice, "lines")
    made = tuple(_line(line) for line in (lines or field_value(listed, "data", [])))
    start, end = _service_period(made, invoice)
    details = field_value(field_value(invoice, "parent"), "subscription_details")
    transfer_data = field_value(invoice, "transfer_data")
    transitions = field_value(invoice, "status_transitions")
    return InvoiceSnapshot(
        id=invoice["id"],
        status=field_value(invoice, "status", ""),
        customer_id=id_of(field_value(invoice, "customer")),
        number=str(field_value(invoice, "number", "")),
        billing_reason=str(field_value(invoice, "billing_reason", "")),
        currency=field_value(invoice, "currency", ""),
        subtotal=int(field_value(invoice, "subtotal", 0)),
        total=int(field_value(invoice, "total", 0)),
        amount_due=int(field_value(invoice, "amount_due", 0)),
        amount_paid=int(field_value(invoice, "amount_paid", 0)),
        amount_remaining=int(field_value(invoice, "amount_remaining", 0)),
        application_fee_amount=int(field_value(invoice, "application_fee_amount", 0)),
        hosted_invoice_url=str(field_value(invoice, "hosted_invoice_url", "")),
        invoice_pdf=str(field_value(invoice, "invoice_pdf", "")),
        period_start=start,
        period_end=end,
        lines=made,
        attempt_count=int(field_value(invoice, "attempt_count", 0)),
        attempted=bool(field_value(invoice, "attempted", False)),
        next_payment_attempt=timestamp(field_value(invoice, "next_payment_attempt")),
        created=timestamp(field_value(invoice, "created")),
        paid_at=timestamp(field_value(transitions, "paid_at")),
        subscription_id=id_of(field_value(details, "subscription")),
        subscription_metadata=plain_dict(field_value(details, "metadata")),
        destination_account_id=id_of(field_value(transfer_data, "destination")),
        on_behalf_of=id_of(field_value(invoice, "on_behalf_of")),
        metadata=plain_dict(field_value(invoice, "metadata")),
        payment_intent_id=_payment_intent_id(invoice)[0],
        payment=payment,
    )


def invoice_retrieve(invoice_id: str) -> InvoiceSnapshot:
    """The invoice with every line and, when a payment paid it, that PaymentIntent with its
    charge (re-read: the caller moves money state on what it says)."""
    client = stripe_client()
    invoice = call(client.v1.invoices.retrieve, invoice_id, params={"expand": ["payments"]})
    lines = None
    if field_value(field_value(invoice, "lines"), "has_more", False):
        lines = list(
            call(
                client.v1.invoices.line_items.list, invoice_id, params={"limit": 100}
            ).auto_paging_iter()
        )
    intent_id, paid = _payment_intent_id(invoice)
    payment = payment_intent_retrieve(intent_id) if intent_id and paid else None
    return _snapshot(invoice, lines=lines, payment=payment)


def invoices_list(*, customer_id: str, limit: int = 100) -> list[InvoiceSnapshot]:
    """The customer's latest invoices, newest first (without their payments)."""
    page = call(
        stripe_client().v1.invoices.list,
        params={"customer": customer_id, "limit": min(limit, 100)},
    )
    found: list[InvoiceSnapshot] = []
    for invoice in page.auto_paging_iter():
        found.append(_snapshot(invoice))
        if len(found) >= limit:
            break
    return found


def invoice_id_for_payment_intent(payment_intent_id: str) -> str:
    """The invoice a PaymentIntent was made to pay ("" when it is not an invoice's)."""
    page = call(
        stripe_client().v1.invoice_payments.list,
        params={
            "payment": {"type": "payment_intent", "payment_intent": payment_intent_id},
            "limit": 1,
        },
    )
    for payment in field_value(page, "data", []):
        return id_of(field_value(payment, "invoice"))
    return ""


def invoice_pay(*, invoice_id: str, idempotency_key: str) -> InvoiceSnapshot:
    """Charge an open invoice now with its customer's default card (Stripe's
    ``invoices.pay``). A declined card raises ``GatewayError`` with the card's code after
    Stripe recorded the failed attempt."""
    invoice = call(
        stripe_client().v1.invoices.pay,
        invoice_id,
        params={"expand": ["payments"]},
        options={"idempotency_key": idempotency_key},
    )
    return _snapshot(invoice)
