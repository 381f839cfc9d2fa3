"""Payouts from a connected account's balance to its bank, mirrored from Stripe."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.urls import reverse

from marketplace import states
from marketplace.emails import send_templated_email
from marketplace.errors import InvalidTransition
from marketplace.money import format_money
from payments import gateway
from payments.models import ConnectedAccount, Payout, PayoutStatus, StaffAlert
from payments.services.alerts import staff_alert_raise

logger = logging.getLogger("payments.payouts")


def payout_sync(*, account: ConnectedAccount, payout_id: str) -> Payout:
    """Re-read one payout from Stripe (on the connected account) and mirror it."""
    assert account.stripe_account_id
    summary = gateway.payout_retrieve(
        stripe_account_id=account.stripe_account_id, payout_id=payout_id
    )
    fields = _payout_fields(account, summary)
    with transaction.atomic():
        payout, created = Payout.objects.select_for_update().get_or_create(
            stripe_payout_id=summary.id, defaults=fields
        )
        if created:
            if payout.status == PayoutStatus.FAILED:
                _alert_payout_failed(account, payout)
            return payout
        status = fields.pop("status")
        for name, value in fields.items():
            setattr(payout, name, value)
        payout.save(update_fields=[*fields, "updated_at"])
        try:
            failed = (
                states.transition(payout, status, source="stripe", locked=True)
                and status == PayoutStatus.FAILED
            )
        except InvalidTransition:
            # Stripe is the source of truth; a move our table does not know is kept as it
            # was and logged, never retried forever.
            logger.warning("payout %s: %s -> %s refused", payout.pk, payout.status, status)
            failed = False
        if failed:
            _alert_payout_failed(account, payout)
    return payout


def _payout_fields(account: ConnectedAccount, summary: gateway.PayoutSummary) -> dict[str, Any]:
    return {
        "account": account,
        "amount": summary.amount,
        "currency": summary.currency,
        "status": summary.status,
        "arrival_date": summary.arrival_date,
        "failure_code": summary.failure_code or "",
        "failure_message": summary.failure_message or "",
        "stripe_created_at": summary.created,
    }


def _alert_payout_failed(account: ConnectedAccount, payout: Payout) -> None:

    amount = format_money(payout.amount, payout.currency)
    send_templated_email(
        to=account.coach.email,
        subject="A payout to your bank failed",
        template="payments_payout_failed",
        context={
            "coach": account.coach,
            "amount": amount,
            "failure": payout.failure_message or payout.failure_code or "no reason given",
            "setup_path": reverse("payments:connect_setup"),
        },
    )
    staff_alert_raise(
        kind=StaffAlert.Kind.PAYOUT_FAILED,
        account=account,
        message=(
            f"Payout {payout.stripe_payout_id} of {amount} to {account.coach.email} failed: "
            f"{payout.failure_message or payout.failure_code or 'no reason given'}."
        ),
    )
