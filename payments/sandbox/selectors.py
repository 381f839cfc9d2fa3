"""Reads for the hosted pages and the controls."""

from __future__ import annotations

from typing import Any

from payments.sandbox import accounts, store


def express_dashboard(*, account_id: str) -> dict[str, Any]:
    account = accounts.get_account(account_id).data
    context: dict[str, Any] = {
        "account": account,
        "schedule": account["settings"]["payouts"]["schedule"],
        "now": store.now(),
    }
    try:
        from payments.sandbox import ledger
    except ImportError:  # the ledger arrives with charges
        return context
    context["balance"] = ledger.balance_rows(account=account_id)
    context["payouts"] = ledger.payouts_for(account=account_id)
    return context
