"""Reads for the hosted pages and the controls."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from marketplace.money import format_money
from payments.sandbox import accounts, chaos, regions, store
from payments.sandbox.ledger import balances, payouts


def express_dashboard(*, account_id: str) -> dict[str, Any]:
    account = accounts.get_account(account_id).data
    context: dict[str, Any] = {
        "account": account,
        "schedule": account["settings"]["payouts"]["schedule"],
        "now": store.now(),
    }
    context["balance"] = balances.balance_rows(account=account_id)
    context["payments"] = _transfers_received(account_id)
    context["payouts"] = payouts.payouts_for(account=account_id)
    return context


def _transfers_received(account_id: str, limit: int = 50) -> list[dict[str, Any]]:
    """What the platform sent the account, as its Express dashboard lists it: each payment
    (``py_``) with the transfer's description and what was reversed of it."""
    rows = []
    from payments.sandbox.models import StripeObject

    payments = StripeObject.objects.filter(object_type="charge", account=account_id).order_by(
        "-created", "-stripe_id"
    )[:limit]
    transfer_ids = [row.data.get("source_transfer") for row in payments]
    transfers = {
        row.stripe_id: row.data
        for row in StripeObject.objects.filter(object_type="transfer", stripe_id__in=transfer_ids)
    }
    for row in payments:
        payment = row.data
        transfer = transfers.get(payment.get("source_transfer") or "", {})
        rows.append(
            {
                "id": payment["id"],
                "transfer": transfer.get("id", ""),
                "description": transfer.get("description") or "",
                "amount_display": format_money(payment["amount"], payment["currency"]),
                "refunded_display": format_money(payment["amount_refunded"], payment["currency"])
                if payment["amount_refunded"]
                else "",
                "date": datetime.fromtimestamp(payment["created"], tz=UTC).strftime("%Y-%m-%d"),
            }
        )
    return rows


def dashboard() -> dict[str, Any]:
    """The developer page at ``/_stripe/``: clock, endpoints, accounts, recent events."""
    from django.db.models import Count

    from payments.sandbox.models import StripeObject, WebhookDelivery, WebhookEndpoint

    now = store.now()
    account_rows = []
    for row in StripeObject.objects.filter(object_type="account").order_by("-created")[:50]:
        if row.internal.get("deleted"):
            continue
        account = row.data
        account_rows.append(
            {
                "id": account["id"],
                "email": account.get("email"),
                "country": account["country"],
                "service_agreement": accounts.service_agreement(account),
                "charges_enabled": account["charges_enabled"],
                "payouts_enabled": account["payouts_enabled"],
                "disabled_reason": account["requirements"]["disabled_reason"],
                "deauthorized": bool(row.internal.get("deauthorized")),
                "balance": balances.balance_rows(account=account["id"]),
            }
        )
    recent = list(StripeObject.objects.filter(object_type="event").order_by("-created", "-id")[:40])
    statuses: dict[str, list[str]] = {}
    for delivery in WebhookDelivery.objects.filter(event_id__in=[e.stripe_id for e in recent]):
        statuses.setdefault(delivery.event_id, []).append(
            f"{delivery.status} ({delivery.last_status_code or '—'})"
        )
    state = store.state()
    waiting_refunds = [
        {
            "id": row.stripe_id,
            "amount": row.data["amount"],
            "status": row.data["status"],
            "outcome": row.internal.get("outcome", ""),
        }
        for row in StripeObject.objects.filter(
            object_type="refund", account="", internal__has_key="settle_at"
        )
        .exclude(internal__has_key="settled")
        .order_by("-created")[:20]
    ]
    open_disputes = [
        {"id": row.stripe_id, "amount": row.data["amount"], "status": row.data["status"]}
        for row in StripeObject.objects.filter(
            object_type="dispute",
            data__status__in=[
                "needs_response",
                "under_review",
                "warning_needs_response",
                "warning_under_review",
            ],
        ).order_by("-created")[:20]
    ]
    return {
        "outcomes": {
            "refund_outcome": state.refund_outcome,
            "deliveries_shuffled": state.deliveries_shuffled,
            "duplicate_percent": state.duplicate_percent,
            "lost_answer_percent": state.lost_answer_percent,
            "chaos_seed": state.chaos_seed,
            **dict(zip(("latency_p50_ms", "latency_p95_ms"), chaos.latency_ms(), strict=True)),
        },
        "waiting_refunds": waiting_refunds,
        "open_disputes": open_disputes,
        "now": datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "offset_hours": round(store.state().clock_offset_seconds / 3600, 2),
        "platform_country": regions.platform_country(),
        "available_business_days": store.state().available_business_days,
        "endpoints": list(WebhookEndpoint.objects.order_by("connect")),
        "accounts": account_rows,
        "platform_balance": balances.balance_rows(account=""),
        "events": [
            {
                "id": row.stripe_id,
                "type": row.data["type"],
                "account": row.data.get("account") or "platform",
                "created": datetime.fromtimestamp(row.created, UTC).strftime("%Y-%m-%d %H:%M UTC"),
                "deliveries": ", ".join(statuses.get(row.stripe_id, [])) or "no endpoint",
            }
            for row in recent
        ],
        "counts": dict(
            StripeObject.objects.values_list("object_type").annotate(n=Count("id")).order_by()
        ),
    }
