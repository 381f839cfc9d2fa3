"""Stripe's invoice events (platform endpoint), registered in ``payments.handlers.HANDLERS``
like those of ``payments/webhook_handlers.py`` and imported with them by
``PaymentsConfig.ready``.

Every invoice event re-reads the invoice (``invoice_sync``): the payload only names it, so
duplicates and any order end in Stripe's current state. ``invoice.upcoming`` has no invoice
to re-read (Stripe's preview has no id): the subscription is re-read instead, and its payer
reminded once per period.
"""

from __future__ import annotations

from payments.handlers import handles
from payments.models import WebhookEvent
from payments.services import invoices


@handles(
    "invoice.created",
    "invoice.finalized",
    "invoice.paid",
    "invoice.payment_succeeded",
    "invoice.payment_failed",
    "invoice.payment_action_required",
    "invoice.voided",
    "invoice.marked_uncollectible",
    "invoice.updated",
)
def handle_invoice(event: WebhookEvent) -> None:
    """An invoice of ours changed at Stripe: re-read and record it. One that is not ours (a
    subscription made outside the product, an invoice made in the Dashboard) is left
    alone; one whose subscription or payment we do not know yet is retried."""
    invoices.invoice_sync(stripe_invoice_id=event.object_id)


@handles("invoice.upcoming")
def handle_invoice_upcoming(event: WebhookEvent) -> None:
    """A subscription renews in a few days: its payer is told the amount and the date."""
    preview = event.payload.get("data", {}).get("object", {}) or {}
    invoices.invoice_upcoming_remind(preview=preview)
