"""Subscriptions and their invoices, as Stripe Billing runs them.

A subscription bills its customer's card each period: an invoice per period (draft, then
finalized with a number, then paid, or its payment failed and retried on Stripe's schedule),
each paid invoice one charge. A Connect subscription (``transfer_data[destination]``,
``application_fee_percent``) makes each invoice a destination charge: the connected account
receives the transfer, the platform keeps the application fee, as ``ledger/settlement``
books it.

Time: a subscription of a customer on a test clock follows that clock (``test_clocks``);
the others follow the sandbox clock (``controls.advance_clock``). Whatever falls due in
between — renewals, payment retries, ends at period end, expiry of unpaid first invoices —
runs in order at its own moment (``store.frozen_at``), so its objects carry that time.

Stripe's behaviour kept here (docs.stripe.com/billing/subscriptions):

- ``payment_behavior=default_incomplete`` (or ``allow_incomplete``) leaves a subscription
  ``incomplete`` when its first invoice is not paid; it becomes ``incomplete_expired`` 23 hours
  later. ``error_if_incomplete`` refuses it with the card's error (402).
- A failed renewal makes it ``past_due``; the invoice is retried ``RETRY_DAYS`` after the
  first failure; when the last retry fails the subscription is canceled (Stripe's default
  setting), or left ``unpaid`` (``controls.set_failed_renewal_outcome``). Paying the invoice
  (``POST /v1/invoices/{id}/pay``) makes it ``active`` again.
- ``cancel_at_period_end`` ends it at the period's end (``customer.subscription.deleted``);
  cleared before then, it renews. ``DELETE`` ends it at once.
- A change of price prorates by default (``create_prorations``: the unused time of the old
  price credited and the rest of the period of the new one charged on the next invoice);
  ``always_invoice`` invoices the difference at once; ``none`` does not prorate.
- ``pause_collection`` (``void``, ``keep_as_draft``, ``mark_uncollectible``): the invoices of
  the paused periods are voided, kept as drafts or marked uncollectible, until ``resumes_at``.
- ``invoice.upcoming`` goes ``UPCOMING_DAYS`` before a renewal (when the period is longer).
"""

from __future__ import annotations

import contextlib
import copy
from datetime import UTC, datetime
from typing import Any

from dateutil.relativedelta import relativedelta

from payments.sandbox import catalog, customers, errors, events, setup_intents, store, test_clocks
from payments.sandbox.cards import TEST_CARDS
from payments.sandbox.catalog import price_row
from payments.sandbox.checkout import PaymentDeclined
from payments.sandbox.ledger import charges, settlement
from payments.sandbox.models import StripeObject

RETRY_DAYS = (3, 5, 7)  # days after the first failure
INCOMPLETE_EXPIRES_SECONDS = 23 * 3600
TRIAL_WILL_END_SECONDS = 3 * 86400
UPCOMING_DAYS = 7
CANCEL_AFTER_RETRIES = "canceled"  # or "unpaid" (controls.set_failed_renewal_outcome)
_SECONDS = {"day": 86400, "week": 7 * 86400}


def add_interval(moment: int, interval: str, count: int) -> int:
    """``moment`` plus ``count`` intervals, months and years on the calendar."""
    if interval in _SECONDS:
        return moment + _SECONDS[interval] * count
    start = datetime.fromtimestamp(moment, tz=UTC)
    delta = relativedelta(months=count) if interval == "month" else relativedelta(years=count)
    return int((start + delta).timestamp())


def interval_seconds(price: dict[str, Any]) -> int:
    recurring = price["recurring"]
    return add_interval(0, recurring["interval"], recurring["interval_count"])


def on_customer_clock(customer_id: str) -> contextlib.AbstractContextManager[None]:
    """Within the block, "now" is the time of the customer's test clock, if it has one."""
    row = store.find(customer_id)
    clock_id = row.data.get("test_clock") if row is not None else None
    if not clock_id:
        return contextlib.nullcontext()
    return store.frozen_at(test_clocks.frozen_time(clock_id))


def on_clock_of(object_id: str) -> contextlib.AbstractContextManager[None]:
    """``on_customer_clock`` for the customer of a subscription or invoice."""
    row = store.find(object_id)
    return on_customer_clock(row.data.get("customer", "") if row is not None else "")


# --- invoices ------------------------------------------------------------------------------


def _line(
    *,
    invoice_id: str | None,
    amount: int,
    currency: str,
    description: str,
    period: tuple[int, int],
    price: dict[str, Any] | None,
    subscription: str | None,
    item: str | None,
    proration: bool = False,
    quantity: int = 1,
) -> dict[str, Any]:
    return {
        "id": store.new_id("il_"),
        "object": "line_item",
        "amount": amount,
        "currency": currency,
        "description": description,
        "discount_amounts": [],
        "discountable": not proration,
        "discounts": [],
        "invoice": invoice_id,
        "livemode": False,
        "metadata": {},
        "parent": {
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": None,
                "proration": proration,
                "proration_details": {"credited_items": None},
                "subscription": subscription,
                "subscription_item": item,
            },
            "type": "subscription_item_details",
        },
        "period": {"end": period[1], "start": period[0]},
        "pretax_credit_amounts": [],
        "pricing": {
            "price_details": {"price": price["id"], "product": price["product"]} if price else None,
            "type": "price_details",
            "unit_amount_decimal": str(price["unit_amount"]) if price else None,
        },
        "quantity": quantity,
        "quantity_decimal": str(quantity),
        "subscription": subscription,
        "subtotal": amount,
        "taxes": [],
    }


def invoice_shape(
    *,
    customer_id: str,
    currency: str,
    lines: list[dict[str, Any]],
    billing_reason: str,
    subscription: dict[str, Any] | None,
    period: tuple[int, int],
    preview: bool = False,
) -> dict[str, Any]:
    """A draft invoice's JSON; lines are ``_line`` keyword dicts without ``invoice_id``. A
    ``preview`` (what ``invoice.upcoming`` carries) has Stripe's preview marks: no id (it
    does not exist yet), its lines ``il_tmp_`` ids naming no invoice."""
    customer = customers.customer_row(customer_id, param="customer").data
    invoice_id = None if preview else store.new_id("in_")
    made = [_line(invoice_id=invoice_id, **line) for line in lines]
    if preview:
        for line in made:
            line["id"] = store.new_id("il_tmp_")
    total = sum(line["amount"] for line in made)
    fee = None
    transfer_data = None
    on_behalf_of = None
    if subscription is not None:
        destination = (subscription.get("transfer_data") or {}).get("destination")
        if destination:
            transfer_data = {"amount": None, "destination": destination}
        percent = subscription.get("application_fee_percent")
        if percent is not None and destination:
            # a percent of what is charged: none of a credit
            fee = int((max(total, 0) * percent + 50) // 100)
        on_behalf_of = subscription.get("on_behalf_of")
    invoice = {
        "id": invoice_id,
        "object": "invoice",
        "account_country": "US",
        "account_name": "Coach Connect",
        "account_tax_ids": None,
        "amount_due": max(total, 0),
        "amount_overpaid": 0,
        "amount_paid": 0,
        "amount_paid_off_stripe": 0,
        "amount_remaining": max(total, 0),
        "amount_shipping": 0,
        "application": None,
        "application_fee_amount": fee,
        "attempt_count": 0,
        "attempted": False,
        "auto_advance": True,
        "automatically_finalizes_at": None,
        "automatic_tax": {
            "disabled_reason": None,
            "enabled": False,
            "liability": None,
            "provider": None,
            "status": None,
        },
        "billing_reason": billing_reason,
        "collection_method": "charge_automatically",
        "confirmation_secret": None,
        "created": store.now(),
        "currency": currency,
        "custom_fields": None,
        "customer": customer_id,
        "customer_account": None,
        "customer_address": customer.get("address"),
        "customer_email": customer.get("email"),
        "customer_name": customer.get("name"),
        "customer_phone": customer.get("phone"),
        "customer_shipping": customer.get("shipping"),
        "customer_tax_exempt": customer.get("tax_exempt", "none"),
        "customer_tax_ids": [],
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "due_date": None,
        "effective_at": None,
        "ending_balance": None,
        "footer": None,
        "from_invoice": None,
        "hosted_invoice_url": None,
        "invoice_pdf": None,
        "issuer": {"account": None, "type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": {
            "object": "list",
            "data": made,
            "has_more": False,
            "url": f"/v1/invoices/{invoice_id}/lines"
            if invoice_id
            else "/v1/invoices/upcoming/lines",
        },
        "livemode": False,
        "metadata": {},
        "next_payment_attempt": None,
        "number": None,
        "on_behalf_of": on_behalf_of,
        "parent": {
            "quote_details": None,
            "subscription_details": {
                "metadata": dict(subscription.get("metadata") or {}),
                "subscription": subscription["id"],
                "subscription_proration_date": None,
            },
            "type": "subscription_details",
        }
        if subscription is not None
        else None,
        "payment_settings": {
            "default_mandate": None,
            "payment_method_options": None,
            "payment_method_types": None,
        },
        "payments": {
            "object": "list",
            "data": [],
            "has_more": False,
            "url": f"/v1/invoice_payments?invoice={invoice_id}",
        },
        "period_end": period[1],
        "period_start": period[0],
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "rendering": None,
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": 0,
        "statement_descriptor": None,
        "status": "draft",
        "status_details": None,
        "status_transitions": {
            "finalized_at": None,
            "marked_uncollectible_at": None,
            "paid_at": None,
            "voided_at": None,
        },
        "subtotal": total,
        "subtotal_excluding_tax": total,
        "test_clock": customer.get("test_clock"),
        "threshold_reason": None,
        "total": total,
        "total_discount_amounts": [],
        "total_excluding_tax": total,
        "total_pretax_credit_amounts": [],
        "total_taxes": [],
        "transfer_data": transfer_data,
        "webhooks_delivered_at": None,
    }
    return invoice


def invoice_create(
    *,
    customer_id: str,
    currency: str,
    lines: list[dict[str, Any]],
    billing_reason: str,
    subscription: dict[str, Any] | None,
    period: tuple[int, int],
) -> StripeObject:
    """A draft invoice (``invoice.created``)."""
    invoice = invoice_shape(
        customer_id=customer_id,
        currency=currency,
        lines=lines,
        billing_reason=billing_reason,
        subscription=subscription,
        period=period,
    )
    row = store.insert(invoice, internal={"pending_items": []})
    events.record("invoice.created", invoice)
    return row


def _next_number(customer_id: str) -> str:
    row = customers.customer_row(customer_id, lock=True, param="customer")
    sequence = int(row.data.get("next_invoice_sequence") or 1)
    row.data["next_invoice_sequence"] = sequence + 1
    store.save(row)
    return f"{row.data['invoice_prefix']}-{sequence:04d}"


def invoice_finalize(row: StripeObject) -> dict[str, Any]:
    invoice = row.data
    if invoice["status"] != "draft":
        raise errors.invalid(
            "invoice",
            "This invoice is already finalized, you can't re-finalize a non-draft invoice.",
        )
    secret = store.new_id("", 32)
    invoice["number"] = _next_number(invoice["customer"])
    invoice["status"] = "open" if invoice["amount_due"] > 0 else "paid"
    invoice["status_transitions"]["finalized_at"] = store.now()
    invoice["effective_at"] = store.now()
    invoice["hosted_invoice_url"] = store.hosted_page_url(f"invoices/{secret}/")
    invoice["invoice_pdf"] = store.hosted_page_url(f"invoices/{secret}/pdf/")
    invoice["ending_balance"] = 0
    row.internal["secret"] = secret
    store.save(row)
    events.record("invoice.finalized", invoice)
    if invoice["status"] == "paid":
        _mark_paid(row, payment_intent=None)
    return invoice


def _payment_method_for(
    invoice: dict[str, Any], subscription: dict[str, Any] | None
) -> StripeObject | None:
    wanted = invoice.get("default_payment_method") or (subscription or {}).get(
        "default_payment_method"
    )
    if not wanted:
        customer = customers.customer_row(invoice["customer"], param="customer").data
        wanted = customer["invoice_settings"].get("default_payment_method")
    if not wanted:
        return None
    method = store.find(wanted)
    if method is None or method.data.get("customer") != invoice["customer"]:
        return None
    return method


def _invoice_payment(invoice: dict[str, Any], payment_intent: str) -> dict[str, Any]:
    """The invoice's InvoicePayment for ``payment_intent``, made ``open`` (and the invoice's
    default) if it has none yet; an earlier attempt's still open one is ``canceled``, as the
    new attempt replaces it."""
    payments = invoice["payments"]["data"]
    for entry in payments:
        if entry["payment"]["payment_intent"] == payment_intent:
            return entry
    now = store.now()
    for entry in payments:
        if entry["status"] == "open":
            entry["status"] = "canceled"
            entry["is_default"] = False
            entry["status_transitions"]["canceled_at"] = now
    entry = {
        "id": store.new_id("inpay_"),
        "object": "invoice_payment",
        "amount_paid": None,
        "amount_requested": invoice["amount_due"],
        "created": now,
        "currency": invoice["currency"],
        "invoice": invoice["id"],
        "is_default": True,
        "livemode": False,
        "payment": {
            "charge": None,
            "payment_intent": payment_intent,
            "payment_record": None,
            "type": "payment_intent",
        },
        "status": "open",
        "status_transitions": {"canceled_at": None, "paid_at": None},
    }
    payments.append(entry)
    return entry


def _mark_paid(row: StripeObject, *, payment_intent: str | None) -> None:
    invoice = row.data
    now = store.now()
    invoice["status"] = "paid"
    invoice["amount_paid"] = invoice["amount_due"]
    invoice["amount_remaining"] = 0
    invoice["attempted"] = True
    invoice["next_payment_attempt"] = None
    invoice["status_transitions"]["paid_at"] = now
    if payment_intent is not None:
        entry = _invoice_payment(invoice, payment_intent)
        entry["status"] = "paid"
        entry["amount_paid"] = invoice["amount_due"]
        entry["status_transitions"]["paid_at"] = now
    store.save(row)
    events.record("invoice.paid", invoice)
    events.record("invoice.payment_succeeded", invoice)


class CardError(Exception):
    """A charge of an invoice failed; answered as Stripe's 402 ``card_error`` after the
    failed attempt is committed."""

    def __init__(self, failure: dict[str, Any]) -> None:
        super().__init__(failure.get("message", "Your card was declined."))
        self.failure = failure

    def stripe_error(self) -> errors.CommittedError:
        return errors.CommittedError(
            self.failure.get("message", "Your card was declined."),
            status=402,
            type="card_error",
            code=self.failure.get("code", "card_declined"),
            extra={"decline_code": self.failure.get("decline_code")},
        )


def invoice_attempt(row: StripeObject, *, method: StripeObject | None = None) -> bool:
    """Charge an open invoice: its payment method's card decides. Returns whether it was
    paid; a failure is recorded (``invoice.payment_failed``, the next attempt scheduled)."""
    invoice = row.data
    subscription = _subscription_of(invoice)
    method = method or _payment_method_for(invoice, subscription)
    invoice["attempt_count"] += 1
    invoice["attempted"] = True
    number = customers.card_number(method) if method is not None else ""
    rule = TEST_CARDS.get(number, {})
    intent_id = store.new_id("pi_")
    failure: dict[str, Any] | None = None
    if method is None:
        failure = {
            "code": "invoice_no_customer_payment_method",
            "decline_code": None,
            "message": "The customer has no attached payment source or default payment "
            "method. Please consider adding a default payment method.",
        }
    elif rule.get("outcome") == "decline":
        failure = {k: rule[k] for k in ("code", "decline_code", "message")}
    elif rule.get("outcome") == "authenticate" and not (
        rule.get("off_session_once_set_up") and method is not None and method.internal.get("set_up")
    ):
        failure = {
            "code": "authentication_required",
            "decline_code": "authentication_required",
            "message": "Your card was declined. This transaction requires authentication.",
        }
    intent = {
        "id": intent_id,
        "object": "payment_intent",
        "amount": invoice["amount_due"],
        "amount_received": 0 if failure else invoice["amount_due"],
        "application_fee_amount": invoice["application_fee_amount"],
        "created": store.now(),
        "currency": invoice["currency"],
        "customer": invoice["customer"],
        "description": f"Invoice {invoice['number']}",
        "latest_charge": None,
        "livemode": False,
        "metadata": {},
        "on_behalf_of": invoice["on_behalf_of"],
        "payment_method": method.stripe_id if method else None,
        "status": "requires_payment_method" if failure else "succeeded",
        "transfer_data": invoice["transfer_data"]
        and {"destination": invoice["transfer_data"]["destination"]},
        "transfer_group": None,
        "last_payment_error": failure and {**failure, "type": "card_error"},
    }
    if method is not None:
        card = {
            "number": number,
            "exp_month": method.data["card"]["exp_month"],
            "exp_year": method.data["card"]["exp_year"],
        }
        charge = charges.charge_shape(
            prefix="ch_",
            amount=invoice["amount_due"],
            currency=invoice["currency"],
            payment_intent=intent_id,
            card=card,
            billing={"email": invoice["customer_email"], "name": invoice["customer_name"]},
            status="failed" if failure else "succeeded",
            failure=failure,
            description=intent["description"],
            receipt_email=invoice["customer_email"],
            transfer_data=intent["transfer_data"],
            on_behalf_of=invoice["on_behalf_of"],
            application_fee_amount=invoice["application_fee_amount"],
        )
        charge["customer"] = invoice["customer"]
        charge["payment_method"] = method.stripe_id
        intent["latest_charge"] = charge["id"]
        if failure:
            store.insert(charge)
            events.record("charge.failed", charge)
        else:
            settlement.settle_charge(
                charge=charge, available_immediately=bool(rule.get("available_immediately"))
            )
    store.insert(intent)
    _invoice_payment(invoice, intent_id)
    if failure:
        row.internal["last_failure"] = failure
        events.record("payment_intent.payment_failed", intent)
        first_failure = row.internal.setdefault("first_failed_at", store.now())
        retries_done = invoice["attempt_count"] - 1
        invoice["next_payment_attempt"] = (
            first_failure + RETRY_DAYS[retries_done] * 86400
            if retries_done < len(RETRY_DAYS) and invoice["billing_reason"] != "subscription_create"
            else None
        )
        store.save(row)
        events.record("invoice.payment_failed", invoice)
        return False
    events.record("payment_intent.succeeded", intent)
    _mark_paid(row, payment_intent=intent_id)
    return True


def invoice_row(invoice_id: str, *, lock: bool = False, param: str = "invoice") -> StripeObject:
    return store.get(invoice_id, "invoice", account="", lock=lock, param=param)


def invoice_pay(*, invoice_id: str, payment_method: str | None = None) -> dict[str, Any]:
    """``POST /v1/invoices/{id}/pay``: finalize a draft and charge it now."""
    row = invoice_row(invoice_id, lock=True, param="id")
    invoice = row.data
    if invoice["status"] == "draft":
        invoice_finalize(row)
    if invoice["status"] == "paid":
        raise errors.invalid("invoice", "Invoice is already paid", "invoice_already_paid")
    if invoice["status"] == "void":
        raise errors.invalid("invoice", "You cannot pay a voided invoice.", "invoice_not_editable")
    method = None
    if payment_method:
        method = customers.payment_method_row(payment_method)
        if method.data["customer"] != invoice["customer"]:
            customers.payment_method_attach(
                payment_method_id=method.stripe_id, customer_id=invoice["customer"]
            )
            method = store.find(method.stripe_id)
    paid = invoice_attempt(row, method=method)
    subscription = _subscription_of(invoice)
    if paid and subscription is not None and method is not None:
        _save_default_payment_method(subscription["id"], method.stripe_id)
    if paid and subscription is not None:
        _after_payment(subscription["id"])
    if not paid:
        # the failure is recorded (committed by the caller) before the card's error is answered
        raise CardError(row.internal.get("last_failure") or {})
    return invoice


def invoice_payments_list(params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/invoice_payments``: the payments of one invoice, of one PaymentIntent
    (``payment[type]=payment_intent``, ``payment[payment_intent]``), or all, newest first."""
    invoices = StripeObject.objects.filter(object_type="invoice", account="")
    if params.get("invoice"):
        invoices = invoices.filter(stripe_id=invoice_row(params["invoice"]).stripe_id)
    wanted = params.get("payment") or {}
    intent = wanted.get("payment_intent")
    if intent:
        invoices = invoices.filter(
            data__payments__data__contains=[{"payment": {"payment_intent": intent}}]
        )
    # newest first: by time, then (one moment on a frozen clock) the order they were made
    made = sorted(
        (
            (entry["created"], row.id, index, entry)
            for row in invoices
            for index, entry in enumerate(row.data["payments"]["data"])
            if (not intent or entry["payment"]["payment_intent"] == intent)
            and (not wanted.get("type") or entry["payment"]["type"] == wanted["type"])
            and (not params.get("status") or entry["status"] == params["status"])
        ),
        key=lambda made: made[:3],
        reverse=True,
    )
    found = [entry for *_order, entry in made]
    limit = params.get("limit", 10)
    if not 1 <= limit <= 100:
        raise errors.invalid(
            "limit",
            "Invalid limit: must be an integer between 1 and 100",
            "parameter_invalid_integer",
        )
    ids = [entry["id"] for entry in found]
    for cursor in ("starting_after", "ending_before"):
        if params.get(cursor) and params[cursor] not in ids:
            raise errors.no_such("invoice_payment", params[cursor], cursor)
    if params.get("starting_after"):
        found = found[ids.index(params["starting_after"]) + 1 :]
        page = found[:limit]
    elif params.get("ending_before"):
        found = found[: ids.index(params["ending_before"])]
        page = found[-limit:]
    else:
        page = found[:limit]
    return {
        "object": "list",
        "data": page,
        "has_more": len(found) > len(page),
        "url": "/v1/invoice_payments",
    }


def invoice_payment_retrieve(invoice_payment_id: str) -> dict[str, Any]:
    row = StripeObject.objects.filter(
        object_type="invoice",
        account="",
        data__payments__data__contains=[{"id": invoice_payment_id}],
    ).first()
    if row is None:
        raise errors.no_such("invoice_payment", invoice_payment_id)
    return next(e for e in row.data["payments"]["data"] if e["id"] == invoice_payment_id)


def _close_open(invoice_id: str, *, status: str, stamp: str, event: str) -> dict[str, Any]:
    """An open invoice voided or marked uncollectible: no attempt is made after it."""
    row = invoice_row(invoice_id, lock=True, param="id")
    invoice = row.data
    if invoice["status"] != "open":
        raise errors.invalid(
            "invoice",
            f"You can only pass in open invoices. This invoice is {invoice['status']}.",
            "invoice_not_editable",
        )
    invoice["status"] = status
    if status == "void":
        invoice["amount_remaining"] = 0
    invoice["next_payment_attempt"] = None
    invoice["status_transitions"][stamp] = store.now()
    store.save(row)
    events.record(event, invoice)
    return invoice


def invoice_void(*, invoice_id: str) -> dict[str, Any]:
    invoice = _close_open(invoice_id, status="void", stamp="voided_at", event="invoice.voided")
    _resumption_voided(invoice["id"])
    return invoice


def invoice_mark_uncollectible(*, invoice_id: str) -> dict[str, Any]:
    invoice = _close_open(
        invoice_id,
        status="uncollectible",
        stamp="marked_uncollectible_at",
        event="invoice.marked_uncollectible",
    )
    subscription = _subscription_of(invoice)
    if subscription is not None and subscription["status"] == "paused":
        _resumption_settled(subscription_row(subscription["id"], lock=True))
    return invoice


# --- subscriptions -------------------------------------------------------------------------


def _subscription_of(invoice: dict[str, Any]) -> dict[str, Any] | None:
    details = (invoice.get("parent") or {}).get("subscription_details")
    if not details:
        return None
    found = store.find(details["subscription"])
    return found.data if found is not None else None


def subscription_row(
    subscription_id: str, *, lock: bool = False, param: str = "id"
) -> StripeObject:
    return store.get(subscription_id, "subscription", account="", lock=lock, param=param)


def _item(subscription_id: str, price: dict[str, Any], quantity: int, start: int) -> dict[str, Any]:
    recurring = price["recurring"]
    return {
        "id": store.new_id("si_", 14),
        "object": "subscription_item",
        "billed_until": None,
        "billing_thresholds": None,
        "created": store.now(),
        "current_trial": None,
        "current_period_end": add_interval(
            start, price["recurring"]["interval"], price["recurring"]["interval_count"]
        ),
        "current_period_start": start,
        "discounts": [],
        "metadata": {},
        # the legacy plan object of a recurring price, which Stripe still sends
        "plan": {
            "id": price["id"],
            "object": "plan",
            "active": price["active"],
            "amount": price["unit_amount"],
            "amount_decimal": price["unit_amount_decimal"],
            "billing_scheme": "per_unit",
            "created": price["created"],
            "currency": price["currency"],
            "interval": recurring["interval"],
            "interval_count": recurring["interval_count"],
            "livemode": False,
            "metadata": price["metadata"],
            "meter": None,
            "nickname": price["nickname"],
            "product": price["product"],
            "tiers": None,
            "tiers_mode": None,
            "transform_usage": None,
            "trial_period_days": None,
            "usage_type": recurring["usage_type"],
        },
        "price": price,
        "quantity": quantity,
        "subscription": subscription_id,
        "tax_rates": [],
    }


def _period(subscription: dict[str, Any]) -> tuple[int, int]:
    item = subscription["items"]["data"][0]
    return item["current_period_start"], item["current_period_end"]


def _cycle_lines(subscription: dict[str, Any]) -> list[dict[str, Any]]:
    lines = []
    for item in subscription["items"]["data"]:
        price = item["price"]
        product = store.find(price["product"])
        name = product.data["name"] if product is not None else price["product"]
        lines.append(
            {
                "amount": price["unit_amount"] * item["quantity"],
                "currency": price["currency"],
                "description": f"{item['quantity']} x {name}",
                "period": (item["current_period_start"], item["current_period_end"]),
                "price": price,
                "subscription": subscription["id"],
                "item": item["id"],
                "quantity": item["quantity"],
            }
        )
    return lines


def _record_update(row: StripeObject, before: dict[str, Any]) -> None:
    subscription = row.data
    previous = {
        key: before[key]
        for key in (
            "status",
            "cancel_at_period_end",
            "cancel_at",
            "canceled_at",
            "ended_at",
            "pause_collection",
            "items",
            "latest_invoice",
            "default_payment_method",
            "metadata",
            "billing_cycle_anchor",
            "trial_settings",
            "pending_setup_intent",
        )
        if before.get(key) != subscription.get(key)
    }
    store.save(row)
    if not previous:
        return
    if subscription["status"] == "canceled" and before["status"] != "canceled":
        events.record("customer.subscription.deleted", subscription, previous_attributes=previous)
    else:
        events.record("customer.subscription.updated", subscription, previous_attributes=previous)


def subscription_create(
    *, params: dict[str, Any], prices: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A subscription and its first invoice, paid at once unless ``payment_behavior`` says
    otherwise. ``prices`` are the items' Prices when the caller has them (a Checkout
    Session's, inline ones included)."""
    customer = customers.customer_row(params["customer"], param="customer").data
    items = params.get("items") or []
    if not items:
        raise errors.missing("items")
    if prices is None:
        prices = [
            price_row(item["price"], param=f"items[{index}][price]").data
            for index, item in enumerate(items)
        ]
        for index, price in enumerate(prices):
            if not price["active"]:
                raise errors.invalid(
                    f"items[{index}][price]",
                    "The price specified is inactive. This field only accepts active prices.",
                )
    for index, price in enumerate(prices):
        if price["type"] != "recurring":
            raise errors.invalid(
                f"items[{index}][price]",
                "The price specified is set to `type=one_time` but this field only accepts "
                "prices with `type=recurring`.",
            )
    if len({(p["recurring"]["interval"], p["recurring"]["interval_count"]) for p in prices}) > 1:
        raise errors.invalid(
            "items",
            "All prices on a subscription must have the same "
            "`recurring.interval` and `recurring.interval_count`.",
        )
    percent = params.get("application_fee_percent")
    destination = (params.get("transfer_data") or {}).get("destination")
    if percent is not None and not destination:
        raise errors.invalid("application_fee_percent", _FEE_NEEDS_DESTINATION)
    if destination:
        store.get(destination, "account", account="", param="transfer_data[destination]")
    if params.get("default_payment_method"):
        method = store.find(params["default_payment_method"])
        if method is None or method.data.get("customer") != customer["id"]:
            raise customers.not_the_customers(
                params["default_payment_method"], param="default_payment_method"
            )
    start = store.now()
    subscription_id = store.new_id("sub_")
    trial_days = params.get("trial_period_days")
    trial_end = start + trial_days * 86400 if trial_days else None
    item_start = start
    subscription = {
        "id": subscription_id,
        "object": "subscription",
        "application": None,
        "application_fee_percent": percent,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
        "billing_cycle_anchor": trial_end or start,
        "billing_cycle_anchor_config": None,
        "billing_mode": {"flexible": None, "type": "classic", "updated_at": None},
        "billing_schedules": [],
        "billing_thresholds": None,
        "cancel_at": None,
        "cancel_at_period_end": bool(params.get("cancel_at_period_end")),
        "canceled_at": None,
        "cancellation_details": {
            "comment": None,
            "feedback": None,
            "feedback_option": None,
            "reason": None,
        },
        "collection_method": "charge_automatically",
        "created": start,
        "currency": prices[0]["currency"],
        "customer": customer["id"],
        "customer_account": None,
        "days_until_due": None,
        "default_payment_method": params.get("default_payment_method"),
        "default_source": None,
        "default_tax_rates": [],
        "description": params.get("description"),
        "discounts": [],
        "ended_at": None,
        "invoice_settings": {
            "account_tax_ids": None,
            "custom_fields": None,
            "description": None,
            "footer": None,
            "issuer": {"account": None, "type": "self"},
        },
        "items": {
            "object": "list",
            "data": [],
            "has_more": False,
            "url": f"/v1/subscription_items?subscription={subscription_id}",
        },
        "latest_invoice": None,
        "livemode": False,
        "managed_payments": None,
        "metadata": dict(params.get("metadata") or {}),
        "next_pending_invoice_item_invoice": None,
        "on_behalf_of": params.get("on_behalf_of"),
        "pause_collection": None,
        "payment_settings": {
            "payment_method_options": None,
            "payment_method_types": None,
            "save_default_payment_method": (params.get("payment_settings") or {}).get(
                "save_default_payment_method", "off"
            ),
        },
        "pending_invoice_item_interval": None,
        "pending_setup_intent": None,
        "pending_update": None,
        "presentment_details": None,
        "schedule": None,
        "start_date": start,
        "status": "incomplete",
        "status_details": None,
        "test_clock": customer.get("test_clock"),
        "transfer_data": {"amount_percent": None, "destination": destination}
        if destination
        else None,
        "trial_end": trial_end,
        "trial_settings": trial_settings_of(params.get("trial_settings"), None),
        "trial_start": start if trial_end else None,
    }
    subscription["items"]["data"] = [
        _item(subscription_id, price, item.get("quantity", 1), item_start)
        for price, item in zip(prices, items, strict=True)
    ]
    if trial_end:
        for item in subscription["items"]["data"]:
            item["current_period_end"] = trial_end
    row = store.insert(subscription, internal={"pending_items": []})
    behavior = params.get("payment_behavior", "allow_incomplete")
    if trial_end:
        subscription["status"] = "trialing"
        invoice = invoice_create(
            customer_id=customer["id"],
            currency=subscription["currency"],
            lines=[{**line, "amount": 0} for line in _cycle_lines(subscription)],
            billing_reason="subscription_create",
            subscription=subscription,
            period=(start, start),
        )
        invoice_finalize(invoice)
        subscription["latest_invoice"] = invoice.stripe_id
        if behavior == "default_incomplete":
            # nothing to pay now: a SetupIntent to collect the card the trial's end will bill
            subscription["pending_setup_intent"] = setup_intents.setup_intent_create(
                params={"customer": customer["id"], "usage": "off_session"},
                subscription=subscription_id,
            ).stripe_id
        store.save(row)
        events.record("customer.subscription.created", subscription)
        if trial_end - start <= TRIAL_WILL_END_SECONDS:
            # a trial of three days or less is about to end as soon as it starts
            _trial_will_end(row)
        return subscription
    invoice = invoice_create(
        customer_id=customer["id"],
        currency=subscription["currency"],
        lines=_cycle_lines(subscription),
        billing_reason="subscription_create",
        subscription=subscription,
        period=(start, start),
    )
    subscription["latest_invoice"] = invoice.stripe_id
    store.save(row)
    events.record("customer.subscription.created", subscription)
    invoice_finalize(invoice)
    if behavior == "default_incomplete":
        return store.find(subscription_id).data  # type: ignore[union-attr]
    paid = invoice.data["status"] == "paid" or invoice_attempt(invoice)
    if paid:
        _after_payment(subscription_id)
    elif behavior == "error_if_incomplete":
        raise CardError(invoice.internal.get("last_failure") or {})
    return subscription_row(subscription_id).data


def _save_default_payment_method(subscription_id: str, payment_method_id: str) -> None:
    """``payment_settings[save_default_payment_method]=on_subscription``: the card that paid
    (or was set up by its ``pending_setup_intent``) becomes the subscription's default."""
    row = subscription_row(subscription_id, lock=True)
    if row.data["payment_settings"]["save_default_payment_method"] != "on_subscription":
        return
    if row.data["default_payment_method"] == payment_method_id:
        return
    before = dict(row.data)
    row.data["default_payment_method"] = payment_method_id
    _record_update(row, before)


def _pending_setup_succeeded(intent: StripeObject) -> None:
    """A subscription's ``pending_setup_intent`` succeeded: it is cleared, and its card
    saved as the default as ``payment_settings`` say."""
    subscription_id = intent.internal.get("subscription")
    if not subscription_id:
        return
    row = subscription_row(subscription_id, lock=True)
    if row.data["pending_setup_intent"] == intent.stripe_id:
        before = dict(row.data)
        row.data["pending_setup_intent"] = None
        if row.data["payment_settings"]["save_default_payment_method"] == "on_subscription":
            row.data["default_payment_method"] = intent.data["payment_method"]
        _record_update(row, before)


setup_intents.WHEN_SUCCEEDED.append(_pending_setup_succeeded)


def _after_payment(subscription_id: str) -> None:
    """An invoice of the subscription was paid: incomplete, past due or unpaid becomes
    active (when no other invoice of it is still open); a paused one whose resumption
    invoice this was resumes."""
    row = subscription_row(subscription_id, lock=True)
    subscription = row.data
    if subscription["status"] == "paused":
        _resumption_settled(row)
        return
    if subscription["status"] not in ("incomplete", "past_due", "unpaid"):
        return
    still_open = StripeObject.objects.filter(
        object_type="invoice",
        data__parent__subscription_details__subscription=subscription_id,
        data__status="open",
    ).exists()
    if still_open:
        return
    before = dict(subscription)
    subscription["status"] = "active"
    _record_update(row, before)


def _end(row: StripeObject, *, reason: str) -> None:
    subscription = row.data
    before = dict(subscription)
    now = store.now()
    subscription["status"] = "canceled"
    subscription["canceled_at"] = subscription["canceled_at"] or now
    subscription["ended_at"] = now
    subscription["cancellation_details"] = {"comment": None, "feedback": None, "reason": reason}
    _record_update(row, before)


def subscription_cancel(*, subscription_id: str) -> dict[str, Any]:
    row = subscription_row(subscription_id, lock=True)
    if row.data["status"] in ("canceled", "incomplete_expired"):
        raise errors.invalid(
            "subscription",
            "A canceled subscription can only update its cancellation_details and metadata.",
        )
    _end(row, reason="cancellation_requested")
    for invoice in StripeObject.objects.filter(
        object_type="invoice",
        data__parent__subscription_details__subscription=subscription_id,
        data__status="open",
    ):
        invoice.data["next_payment_attempt"] = None
        store.save(invoice)
    return row.data


def _prorations(
    subscription: dict[str, Any], old: dict[str, Any], new_price: dict[str, Any], quantity: int
) -> list[dict[str, Any]]:
    """The unused time of ``old`` (a subscription item) credited and the rest of its period
    at ``new_price`` charged, as Stripe's ``create_prorations`` computes them (by the
    second)."""
    start, end = old["current_period_start"], old["current_period_end"]
    now = store.now()
    if now >= end:
        return []
    fraction = (end - now) / (end - start)
    price = old["price"]
    return [
        {
            "amount": -round(price["unit_amount"] * old["quantity"] * fraction),
            "currency": price["currency"],
            "description": f"Unused time on {old['quantity']} x {_product_name(price)}",
            "period": (now, end),
            "price": price,
            "subscription": subscription["id"],
            "item": old["id"],
            "proration": True,
            "quantity": old["quantity"],
        },
        {
            "amount": round(new_price["unit_amount"] * quantity * fraction),
            "currency": new_price["currency"],
            "description": f"Remaining time on {quantity} x {_product_name(new_price)}",
            "period": (now, end),
            "price": new_price,
            "subscription": subscription["id"],
            "item": old["id"],
            "proration": True,
            "quantity": quantity,
        },
    ]


def _product_name(price: dict[str, Any]) -> str:
    product = store.find(price["product"])
    return product.data["name"] if product is not None else price["product"]


def subscription_update(*, subscription_id: str, params: dict[str, Any]) -> dict[str, Any]:
    row = subscription_row(subscription_id, lock=True)
    subscription = row.data
    before = {**subscription, "items": {"data": [dict(i) for i in subscription["items"]["data"]]}}
    if subscription["status"] in ("canceled", "incomplete_expired"):
        raise errors.invalid(
            "subscription",
            "A canceled subscription can only update its cancellation_details and metadata.",
        )
    if "cancel_at_period_end" in params:
        subscription["cancel_at_period_end"] = bool(params["cancel_at_period_end"])
        subscription["cancel_at"] = (
            _period(subscription)[1] if params["cancel_at_period_end"] else None
        )
        subscription["canceled_at"] = store.now() if params["cancel_at_period_end"] else None
    if "default_payment_method" in params:
        wanted = params["default_payment_method"] or None
        if wanted:
            method = store.find(wanted)
            if method is None or method.data.get("customer") != subscription["customer"]:
                raise customers.not_the_customers(wanted, param="default_payment_method")
        subscription["default_payment_method"] = wanted
    if "application_fee_percent" in params:
        # The invoices made from now on take the new percent ("" unsets it); a paid or open
        # invoice keeps its fee.
        percent = params["application_fee_percent"]
        percent = None if percent == "" else percent
        if percent is not None and not (subscription.get("transfer_data") or {}).get("destination"):
            raise errors.invalid("application_fee_percent", _FEE_NEEDS_DESTINATION)
        subscription["application_fee_percent"] = percent
    if "trial_settings" in params:
        subscription["trial_settings"] = trial_settings_of(
            params["trial_settings"], subscription["trial_settings"]
        )
    if "pause_collection" in params:
        pause = params["pause_collection"]
        subscription["pause_collection"] = (
            {"behavior": pause["behavior"], "resumes_at": pause.get("resumes_at")}
            if pause
            else None
        )
    for key, value in (params.get("metadata") or {}).items():
        if value == "":
            subscription["metadata"].pop(key, None)
        else:
            subscription["metadata"][key] = value
    if params.get("items"):
        behavior = params.get("proration_behavior", "create_prorations")
        prorations: list[dict[str, Any]] = []
        for index, change in enumerate(params["items"]):
            current = next(
                (i for i in subscription["items"]["data"] if i["id"] == change.get("id")), None
            )
            if current is None:
                raise errors.invalid(
                    f"items[{index}][id]",
                    "Each subscription item must be identified by its id to change its price.",
                )
            new_price = price_row(
                change.get("price") or current["price"]["id"], param=f"items[{index}][price]"
            ).data
            quantity = change.get("quantity", current["quantity"])
            old_price = current["price"]
            if new_price["currency"] != subscription["currency"]:
                raise errors.invalid(
                    f"items[{index}][price]",
                    "The price's currency must match the subscription's currency.",
                )
            same_cycle = (
                new_price["recurring"]["interval"],
                new_price["recurring"]["interval_count"],
            ) == (old_price["recurring"]["interval"], old_price["recurring"]["interval_count"])
            if behavior != "none" and subscription["status"] in ("active", "past_due", "trialing"):
                prorations += _prorations(subscription, current, new_price, quantity)
            current["price"] = new_price
            current["quantity"] = quantity
            if not same_cycle:
                # another interval restarts the billing cycle now
                now = store.now()
                current["current_period_start"] = now
                current["current_period_end"] = add_interval(
                    now,
                    new_price["recurring"]["interval"],
                    new_price["recurring"]["interval_count"],
                )
                subscription["billing_cycle_anchor"] = now
        if prorations and behavior == "always_invoice":
            invoice = invoice_create(
                customer_id=subscription["customer"],
                currency=subscription["currency"],
                lines=prorations,
                billing_reason="subscription_update",
                subscription=subscription,
                period=(store.now(), store.now()),
            )
            subscription["latest_invoice"] = invoice.stripe_id
            _record_update(row, before)
            invoice_finalize(invoice)
            if invoice.data["status"] == "open":
                invoice_attempt(invoice)
            return subscription_row(subscription_id).data
        row.internal.setdefault("pending_items", []).extend(prorations)
    _record_update(row, before)
    return subscription


def trial_settings_of(value: Any, current: dict[str, Any] | None) -> dict[str, Any]:
    """``trial_settings[end_behavior]``: what the trial's end does when the customer gave no
    payment method (``missing_payment_method``: ``create_invoice``, the default, bills and
    fails; ``pause`` pauses the subscription; ``cancel`` cancels it)."""
    settings = copy.deepcopy(current) or {
        "end_behavior": {"billing_cycle_anchor": None, "missing_payment_method": "create_invoice"}
    }
    behavior = (value or {}).get("end_behavior") or {}
    for key in ("billing_cycle_anchor", "missing_payment_method"):
        if key in behavior:
            settings["end_behavior"][key] = behavior[key]
    return settings


def _has_payment_method(subscription: dict[str, Any]) -> bool:
    """Whether a renewal would find a card: the subscription's default, else the
    customer's."""
    probe = {"customer": subscription["customer"], "default_payment_method": None}
    return _payment_method_for(probe, subscription) is not None


def _pause(row: StripeObject) -> None:
    """The trial ended without a payment method and ``missing_payment_method=pause``: the
    subscription is ``paused`` — no invoice, no cycle — until it is resumed."""
    before = {**row.data, "items": {"data": [dict(i) for i in row.data["items"]["data"]]}}
    row.data["status"] = "paused"
    _record_update(row, before)
    events.record(
        "customer.subscription.paused", row.data, previous_attributes={"status": before["status"]}
    )


def _surrounding_period(subscription: dict[str, Any], price: dict[str, Any]) -> tuple[int, int]:
    """The period of the billing cycle anchor's cycle that holds now."""
    anchor = subscription["billing_cycle_anchor"]
    recurring = price["recurring"]
    now = store.now()
    count = 0
    while (
        add_interval(anchor, recurring["interval"], (count + 1) * recurring["interval_count"])
        <= now
    ):
        count += 1
    return (
        add_interval(anchor, recurring["interval"], count * recurring["interval_count"]),
        add_interval(anchor, recurring["interval"], (count + 1) * recurring["interval_count"]),
    )


def billing_cycle_anchor_of(value: Any) -> str:
    """``billing_cycle_anchor`` of a resume: ``now`` (the default) or ``unchanged``, sent as
    the pinned version's ``billing_cycle_anchor[type]`` or as the plain value."""
    wanted = value.get("type") if isinstance(value, dict) else value
    if wanted in (None, ""):
        return "now"
    if wanted not in ("now", "unchanged"):
        raise errors.invalid(
            "billing_cycle_anchor",
            "Invalid billing_cycle_anchor: must be one of now or unchanged",
        )
    return str(wanted)


def subscription_resume(*, subscription_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/subscriptions/{id}/resume``: a ``paused`` subscription starts again.

    ``billing_cycle_anchor=now`` (the default) starts a new period now and invoices it;
    ``unchanged`` keeps the anchor: the subscription is in the anchor's period that holds now,
    and its rest is invoiced prorated (``proration_behavior`` ``create_prorations`` or
    ``always_invoice``) or not at all (``none``). With no resumption invoice it is
    ``active`` at once. A resumption invoice is finalized and paid now: paid (or marked
    uncollectible), the subscription is ``active``; declined, it is ``past_due`` with
    ``payment_behavior=resume_on_payment_attempt`` (the default), or stays ``paused`` with
    ``resume_on_payment_success`` until the invoice is paid — and if it is not paid within
    23 hours the invoice is voided and the subscription stays ``paused``."""
    row = subscription_row(subscription_id, lock=True)
    subscription = row.data
    if subscription["status"] != "paused":
        raise errors.invalid("subscription", "Only a paused subscription can be resumed.")
    if row.internal.get("resumption_invoice"):
        raise errors.invalid(
            "subscription",
            "This subscription is already resuming: its resumption invoice is open. Pay it, "
            "mark it uncollectible or void it first.",
        )
    anchor = billing_cycle_anchor_of(params.get("billing_cycle_anchor"))
    proration = params.get("proration_behavior", "create_prorations")
    behavior = params.get("payment_behavior", "resume_on_payment_attempt")
    now = store.now()
    prorate_from = params.get("proration_date") or now
    before = {**subscription, "items": {"data": [dict(i) for i in subscription["items"]["data"]]}}
    lines: list[dict[str, Any]] = []
    if anchor == "now":
        subscription["billing_cycle_anchor"] = now
        for item in subscription["items"]["data"]:
            recurring = item["price"]["recurring"]
            item["current_period_start"] = now
            item["current_period_end"] = add_interval(
                now, recurring["interval"], recurring["interval_count"]
            )
        lines = _cycle_lines(subscription)
    else:
        for item in subscription["items"]["data"]:
            period_start, period_end = _surrounding_period(subscription, item["price"])
            item["current_period_start"], item["current_period_end"] = period_start, period_end
            price = item["price"]
            if proration == "none" or prorate_from >= period_end:
                continue
            fraction = (period_end - prorate_from) / (period_end - period_start)
            lines.append(
                {
                    "amount": round(price["unit_amount"] * item["quantity"] * fraction),
                    "currency": price["currency"],
                    "description": f"Remaining time on {item['quantity']} x {_product_name(price)}",
                    "period": (prorate_from, period_end),
                    "price": price,
                    "subscription": subscription["id"],
                    "item": item["id"],
                    "proration": True,
                    "quantity": item["quantity"],
                }
            )
    if not lines:
        subscription["status"] = "active"
        _record_update(row, before)
        events.record(
            "customer.subscription.resumed", subscription, previous_attributes={"status": "paused"}
        )
        return subscription
    invoice = invoice_create(
        customer_id=subscription["customer"],
        currency=subscription["currency"],
        lines=lines,
        billing_reason="subscription_update",
        subscription=subscription,
        period=(now, now),
    )
    subscription["latest_invoice"] = invoice.stripe_id
    row.internal["resumption_invoice"] = invoice.stripe_id
    row.internal["resumption_behavior"] = behavior
    store.save(row)
    invoice_finalize(invoice)
    if invoice.data["status"] == "open" and not invoice_attempt(invoice):
        row = subscription_row(subscription_id, lock=True)
        if behavior == "resume_on_payment_attempt":
            row.internal.pop("resumption_invoice", None)
            row.data["status"] = "past_due"
            _record_update(row, before)
            events.record(
                "customer.subscription.resumed", row.data, previous_attributes={"status": "paused"}
            )
        else:
            # no retries: the customer pays it (or it is voided 23 hours on)
            invoice = invoice_row(invoice.stripe_id, lock=True)
            invoice.data["next_payment_attempt"] = None
            store.save(invoice)
            _record_update(row, before)
        return subscription_row(subscription_id).data
    row = subscription_row(subscription_id, lock=True)
    if row.data["status"] == "paused":
        _resumption_settled(row, before=before)
    return subscription_row(subscription_id).data


def _resumption_settled(row: StripeObject, before: dict[str, Any] | None = None) -> None:
    """The resumption invoice of a paused subscription was paid or marked uncollectible:
    the subscription is ``active`` (``customer.subscription.resumed``)."""
    invoice_id = row.internal.get("resumption_invoice")
    invoice = store.find(invoice_id or "")
    if invoice is None or invoice.data["status"] not in ("paid", "uncollectible"):
        return
    before = before or dict(row.data)
    row.internal.pop("resumption_invoice", None)
    row.data["status"] = "active"
    _record_update(row, before)
    events.record(
        "customer.subscription.resumed", row.data, previous_attributes={"status": "paused"}
    )


def _resumption_voided(invoice_id: str) -> None:
    """A resumption invoice voided (by hand, or 23 hours unpaid): the subscription stays
    ``paused`` and may be resumed again."""
    invoice = store.find(invoice_id)
    subscription = _subscription_of(invoice.data) if invoice is not None else None
    if subscription is None:
        return
    row = subscription_row(subscription["id"], lock=True)
    if row.internal.get("resumption_invoice") == invoice_id:
        row.internal.pop("resumption_invoice", None)
        store.save(row)


def _trial_will_end(row: StripeObject) -> None:
    """``customer.subscription.trial_will_end``: three days before the trial ends (at once
    for a shorter trial), as Stripe warns."""
    row.internal["trial_will_end_sent"] = True
    store.save(row)
    events.record("customer.subscription.trial_will_end", row.data)


# --- time passing ----------------------------------------------------------------------------


def _renew(row: StripeObject) -> None:
    """The period ended: cancel at period end, or bill the next one."""
    subscription = row.data
    start, end = _period(subscription)
    if subscription["cancel_at_period_end"]:
        _end(row, reason="cancellation_requested")
        return
    if subscription["status"] == "trialing" and not _has_payment_method(subscription):
        missing = subscription["trial_settings"]["end_behavior"]["missing_payment_method"]
        if missing == "pause":
            _pause(row)
            return
        if missing == "cancel":
            _end(row, reason="cancellation_requested")
            return
    before = {**subscription, "items": {"data": [dict(i) for i in subscription["items"]["data"]]}}
    for item in subscription["items"]["data"]:
        price = item["price"]
        item["current_period_start"] = end
        item["current_period_end"] = add_interval(
            end, price["recurring"]["interval"], price["recurring"]["interval_count"]
        )
    was_trial = subscription["status"] == "trialing"
    lines = list(row.internal.get("pending_items") or []) + _cycle_lines(subscription)
    row.internal["pending_items"] = []
    invoice = invoice_create(
        customer_id=subscription["customer"],
        currency=subscription["currency"],
        lines=lines,
        billing_reason="subscription_cycle",
        subscription=subscription,
        period=(start, end),
    )
    subscription["latest_invoice"] = invoice.stripe_id
    if was_trial:
        subscription["status"] = "active"
    _record_update(row, before)
    pause = subscription.get("pause_collection")
    if pause:
        if pause["behavior"] == "keep_as_draft":
            return
        invoice_finalize(invoice)
        if invoice.data["status"] == "open":
            if pause["behavior"] == "void":
                invoice_void(invoice_id=invoice.stripe_id)
            else:
                invoice_mark_uncollectible(invoice_id=invoice.stripe_id)
        return
    invoice_finalize(invoice)
    if invoice.data["status"] == "open" and not invoice_attempt(invoice):
        row = subscription_row(subscription["id"], lock=True)
        if row.data["status"] != "past_due":
            before = dict(row.data)
            row.data["status"] = "past_due"
            _record_update(row, before)


def _retry(invoice: StripeObject) -> None:
    subscription = _subscription_of(invoice.data)
    if invoice_attempt(invoice):
        if subscription is not None:
            _after_payment(subscription["id"])
        return
    if invoice.data["next_payment_attempt"] is None and subscription is not None:
        # Stripe's retries have run out
        row = subscription_row(subscription["id"], lock=True)
        if row.data["status"] not in ("past_due", "unpaid"):
            return
        outcome = store.state().failed_renewal_outcome or CANCEL_AFTER_RETRIES
        if outcome == "unpaid":
            before = dict(row.data)
            row.data["status"] = "unpaid"
            _record_update(row, before)
        elif outcome == "canceled":
            _end(row, reason="payment_failed")


def _due(clock_id: str | None, until: int) -> list[tuple[int, int, str, StripeObject]]:
    """What falls due by ``until`` among the subscriptions and invoices of customers on the
    clock (``None``: on no test clock): ``(moment, order, kind, row)``."""
    due: list[tuple[int, int, str, StripeObject]] = []
    for row in StripeObject.objects.filter(object_type="subscription", data__test_clock=clock_id):
        subscription = row.data
        status = subscription["status"]
        if status in ("canceled", "incomplete_expired"):
            continue
        if status == "incomplete":
            expires = subscription["created"] + INCOMPLETE_EXPIRES_SECONDS
            if expires <= until:
                due.append((expires, 0, "expire", row))
            continue
        if status == "paused":
            # a paused subscription does not cycle; an unpaid resumption invoice is voided
            resumption = store.find(row.internal.get("resumption_invoice") or "")
            if resumption is not None and resumption.data["status"] == "open":
                expires = (
                    resumption.data["status_transitions"]["finalized_at"]
                    + INCOMPLETE_EXPIRES_SECONDS
                )
                if expires <= until:
                    due.append((expires, 0, "void_resumption", resumption))
            continue
        end = _period(subscription)[1]
        warn_at = end - TRIAL_WILL_END_SECONDS
        if (
            status == "trialing"
            and not row.internal.get("trial_will_end_sent")
            and warn_at <= until
        ):
            due.append((warn_at, 2, "trial_will_end", row))
        if end <= until:
            due.append((end, 1, "renew", row))
        upcoming = end - UPCOMING_DAYS * 86400
        start = _period(subscription)[0]
        if (
            upcoming > start
            and upcoming <= until
            and not subscription["cancel_at_period_end"]
            and row.internal.get("upcoming_sent_for") != end
        ):
            due.append((upcoming, 2, "upcoming", row))
    # (JSON null sorts below every number: leave out the invoices with no attempt due)
    for invoice in StripeObject.objects.filter(
        object_type="invoice",
        data__test_clock=clock_id,
        data__status="open",
        data__next_payment_attempt__lte=until,
    ).exclude(data__next_payment_attempt=None):
        due.append((invoice.data["next_payment_attempt"], 3, "retry", invoice))
    return sorted(due, key=lambda entry: (entry[0], entry[1], entry[3].id))


def _advanced(subscription: dict[str, Any]) -> dict[str, Any]:
    """A copy of the subscription with each item in its next period (what the renewal at
    the end of this one bills)."""
    following = copy.deepcopy(subscription)
    for item in following["items"]["data"]:
        recurring = item["price"]["recurring"]
        item["current_period_start"] = item["current_period_end"]
        item["current_period_end"] = add_interval(
            item["current_period_end"], recurring["interval"], recurring["interval_count"]
        )
    return following


def _upcoming(row: StripeObject) -> None:
    """``invoice.upcoming``: the preview of the renewal invoice, as Stripe sends it a few
    days before — the whole invoice (lines, amounts, the period it closes) with no id."""
    subscription = row.data
    start, end = _period(subscription)
    row.internal["upcoming_sent_for"] = end
    store.save(row)
    preview = invoice_shape(
        customer_id=subscription["customer"],
        currency=subscription["currency"],
        lines=list(row.internal.get("pending_items") or []) + _cycle_lines(_advanced(subscription)),
        billing_reason="upcoming",
        subscription=subscription,
        period=(start, end),
        preview=True,
    )
    preview["created"] = end
    preview["next_payment_attempt"] = end
    preview["livemode"] = store.current_livemode()
    for line in preview["lines"]["data"]:
        line["livemode"] = preview["livemode"]
    events.record("invoice.upcoming", preview)


def _expire_incomplete(row: StripeObject) -> None:
    """23 hours after it was made, an ``incomplete`` subscription whose first invoice is
    still unpaid becomes ``incomplete_expired`` (terminal: ``canceled_at`` and ``ended_at``
    set, ``customer.subscription.updated``) and that invoice is voided."""
    before = dict(row.data)
    now = store.now()
    row.data["status"] = "incomplete_expired"
    row.data["canceled_at"] = now
    row.data["ended_at"] = now
    _record_update(row, before)
    latest = store.find(row.data["latest_invoice"] or "")
    if latest is not None and latest.data["status"] == "open":
        invoice_void(invoice_id=latest.stripe_id)


def run_due(clock_id: str | None, until: int) -> None:
    """Run, in order and each at its own moment, what falls due by ``until``."""
    for _ in range(10_000):  # each step moves some subscription or invoice on
        due = _due(clock_id, until)
        if not due:
            return
        moment, _order, kind, row = due[0]
        with store.frozen_at(moment):
            row = store.get(row.stripe_id, row.object_type, lock=True)
            if kind == "expire":
                _expire_incomplete(row)
            elif kind == "renew":
                _renew(row)
            elif kind == "upcoming":
                _upcoming(row)
            elif kind == "trial_will_end":
                _trial_will_end(row)
            elif kind == "void_resumption":
                invoice_void(invoice_id=row.stripe_id)
            else:
                _retry(row)
    raise RuntimeError("billing did not settle")


def shortest_interval(clock_id: str) -> int | None:
    seconds = [
        interval_seconds(item["price"])
        for row in StripeObject.objects.filter(
            object_type="subscription", data__test_clock=clock_id
        ).exclude(data__status__in=["canceled", "incomplete_expired"])
        for item in row.data["items"]["data"]
    ]
    return min(seconds, default=None)


test_clocks.WHEN_ADVANCED.append(run_due)
test_clocks.SHORTEST_INTERVAL.append(shortest_interval)


_FEE_NEEDS_DESTINATION = (
    "Can only apply an application_fee_percent when the request is made on behalf of "
    "another account (using an OAuth key, the Stripe-Account header, or the "
    "transfer_data[destination] parameter)."
)


def fee_percent(value: Any) -> float:
    """``application_fee_percent``: a number from 0 to 100 with at most two decimals."""
    try:
        percent = float(value)
    except (TypeError, ValueError):
        raise errors.invalid(
            "application_fee_percent", f"Invalid decimal: {value}", "parameter_invalid_decimal"
        ) from None
    if not 0 <= percent <= 100 or round(percent, 2) != percent:
        raise errors.invalid(
            "application_fee_percent",
            "application_fee_percent must be a number between 0 and 100 with at most two "
            "decimal places.",
        )
    return percent


PAUSE_BEHAVIORS = ("keep_as_draft", "mark_uncollectible", "void")


def pause_of(value: Any) -> dict[str, Any] | None:
    """``pause_collection``: ``""`` resumes collection; else a behavior and ``resumes_at``."""
    if value == "":
        return None
    if not isinstance(value, dict) or value.get("behavior") not in PAUSE_BEHAVIORS:
        raise errors.invalid(
            "pause_collection[behavior]",
            "Invalid pause_collection[behavior]: must be one of keep_as_draft, "
            "mark_uncollectible, or void",
        )
    resumes_at = value.get("resumes_at")
    return {"behavior": value["behavior"], "resumes_at": int(resumes_at) if resumes_at else None}


# --- Checkout ----------------------------------------------------------------------------


def checkout_invoice(
    session: dict[str, Any], items: list[dict[str, Any]], *, payment_intent: str
) -> str:
    """The paid invoice a ``mode=payment`` session with ``invoice_creation`` makes once paid:
    its lines are the session's, its payment the session's PaymentIntent."""
    now = store.now()
    row = invoice_create(
        customer_id=session["customer"],
        currency=session["currency"],
        lines=[
            {
                "amount": item["amount_total"],
                "currency": item["currency"],
                "description": item["description"],
                "period": (now, now),
                "price": item["price"],
                "subscription": None,
                "item": None,
                "quantity": item["quantity"],
            }
            for item in items
        ],
        billing_reason="manual",
        subscription=None,
        period=(now, now),
    )
    data = (session.get("invoice_creation") or {}).get("invoice_data") or {}
    row.data["description"] = data.get("description")
    row.data["footer"] = data.get("footer")
    row.data["metadata"] = dict(data.get("metadata") or {})
    store.save(row)
    invoice_finalize(row)
    if row.data["status"] == "open":
        _mark_paid(row, payment_intent=payment_intent)
    return row.stripe_id


def checkout_subscription_pay(
    row: StripeObject,
    *,
    number: str,
    exp_month: int,
    exp_year: int,
    email: str | None,
    name: str | None,
    saved: StripeObject | None,
    authenticate: bool,
) -> tuple[dict[str, Any], Any]:
    """Pay a ``mode=subscription`` session: the card is saved to the customer (made now if
    the session has none) and becomes the subscription's default; the subscription starts,
    its first invoice paid with the card. A declined card leaves the session open and makes
    no subscription."""
    session = row.data
    rule = TEST_CARDS.get(number)
    if rule is None:
        return session, PaymentDeclined(
            "Your card was declined. Your request was in test mode, but used a non test card. "
            "For a list of valid test cards, visit: https://stripe.com/docs/testing.",
            code="card_declined",
            decline_code="test_mode_live_card",
        )
    if rule["outcome"] == "decline":
        return session, PaymentDeclined(rule["message"], rule["code"], rule["decline_code"])
    if rule["outcome"] == "authenticate" and not authenticate:
        return session, PaymentDeclined(
            "We are unable to authenticate your payment method. Please choose a different "
            "payment method and try again.",
            "payment_intent_authentication_failure",
        )
    customer_id = (
        session["customer"]
        or customers.customer_create(params={"email": email, "name": name})["id"]
    )
    session["customer"] = customer_id
    method = saved
    if method is None:
        method = customers.card_payment_method(
            number=number, exp_month=exp_month, exp_year=exp_year, name=name, email=email
        )
        method.data["allow_redisplay"] = "limited"
        store.save(method)
        customers.payment_method_attach(payment_method_id=method.stripe_id, customer_id=customer_id)
    prices = []
    for item in row.internal["line_items"]:
        price = item["price"]
        if store.find(price["product"]) is None:
            catalog.product_create(params={"id": price["product"], "name": item["description"]})
        if store.find(price["id"]) is None:
            store.insert(dict(price))
        prices.append(price)
    data = row.internal.get("subscription_data") or {}
    params: dict[str, Any] = {
        "customer": customer_id,
        "items": [
            {"price": item["price"]["id"], "quantity": item["quantity"]}
            for item in row.internal["line_items"]
        ],
        "default_payment_method": method.stripe_id,
        "metadata": dict(data.get("metadata") or {}),
        "description": data.get("description"),
        "payment_behavior": "allow_incomplete",
    }
    if data.get("transfer_data"):
        params["transfer_data"] = {"destination": data["transfer_data"]["destination"]}
    if data.get("application_fee_percent") is not None:
        params["application_fee_percent"] = fee_percent(data["application_fee_percent"])
    if data.get("on_behalf_of"):
        params["on_behalf_of"] = data["on_behalf_of"]
    if data.get("trial_period_days"):
        params["trial_period_days"] = data["trial_period_days"]
    with on_customer_clock(customer_id):
        subscription = subscription_create(params=params, prices=prices)
    session.update(
        {
            "status": "complete",
            "payment_status": "paid"
            if subscription["status"] == "active"
            else "no_payment_required",
            "url": None,
            "subscription": subscription["id"],
            "invoice": subscription["latest_invoice"],
            "customer_details": {
                "address": None,
                "business_name": None,
                "email": email,
                "individual_name": None,
                "name": name,
                "phone": None,
                "tax_exempt": "none",
                "tax_ids": [],
            },
        }
    )
    store.save(row)
    events.record("checkout.session.completed", session)
    return session, None
