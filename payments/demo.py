"""Demo data for payments: give demo coaches an active Express account on the local Stripe.

Development only (``manage.py seed_demo`` may call ``demo_connect_accounts``); with real
Stripe it does nothing, since onboarding needs the coach in Stripe's hosted pages.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings

from marketplace.models import User
from payments.models import AccountState, AccountStateChange, ConnectedAccount
from payments.services import accounts as services


def demo_connect_accounts(coaches: Iterable[User]) -> list[ConnectedAccount]:
    """Create each coach's account (idempotent) and finish onboarding on the local Stripe."""
    if not settings.STRIPE_SANDBOX:
        return []
    from payments.sandbox import controls

    accounts = []
    for coach in coaches:
        account = services.connected_account_create(coach=coach)
        if account.state != AccountState.ACTIVE and account.stripe_account_id:
            controls.complete_onboarding(account.stripe_account_id, "complete")
            account = services.connected_account_refresh(
                account=account, source=AccountStateChange.Source.ADMIN
            )
        accounts.append(account)
    return accounts
