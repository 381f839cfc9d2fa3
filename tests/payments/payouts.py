"""Helpers for staff payout tests: an invited payee onboarded on the local Stripe, money on
the platform's balance, and the Stripe transfers a payout made."""

from __future__ import annotations

from payments.gateway import stripe_client
from payments.models import AccountState, ConnectedAccount, PayoutRequest
from payments.sandbox import controls
from payments.services import accounts, payees
from tests.factories import UserFactory

REFRESH_URL = "http://testserver/payments/setup/refresh/"
RETURN_URL = "http://testserver/payments/setup/return/"


def invited_payee(*, staff, country: str = "US", onboard: bool = True, **user_fields):
    """A person who is not a coach, invited by ``staff`` and (by default) onboarded on the
    local Stripe with an account that only receives transfers."""
    user = UserFactory(**user_fields)
    _invitation, link = payees.payee_invite(email=user.email, note="Spring challenge", by=staff)
    payees.payee_invitation_accept(token=link.rstrip("/").rsplit("/", 1)[-1], user=user)
    if onboard:
        onboarded(user, country=country)
    return user


def onboarded(user, *, country: str = "US", outcome: str = "complete") -> ConnectedAccount:
    account = accounts.connected_account_create(coach=user, country=country)
    accounts.connected_account_onboarding_link(
        coach=user, refresh_url=REFRESH_URL, return_url=RETURN_URL
    )
    controls.complete_onboarding(account.stripe_account_id, outcome)
    account = accounts.connected_account_refresh(account=account)
    if outcome == "complete":
        assert account.state == AccountState.ACTIVE, account.state
    return account


def fund_platform(amount: int = 100_000, currency: str = "usd") -> None:
    """Money available on the platform at once: a charge with Stripe's 4000 0000 0000 0077
    test card (its funds skip the pending period), as Stripe's own error suggests."""
    session = stripe_client().v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {
                        "currency": currency,
                        "unit_amount": amount,
                        "product_data": {"name": "Platform funds"},
                    },
                    "quantity": 1,
                }
            ],
            "success_url": "https://example.test/ok",
        }
    )
    controls.pay_checkout_session(session.id, card="4000000000000077")


def stripe_transfers(payout_request: PayoutRequest) -> list:
    """The transfers Stripe holds for the payout (by its transfer group)."""
    return list(
        stripe_client()
        .v1.transfers.list(params={"transfer_group": payout_request.transfer_group, "limit": 100})
        .auto_paging_iter()
    )


def available(currency: str = "usd", account: str = "") -> int:
    return controls.balance(account).get(currency, {}).get("available", 0)


def account_of(user) -> str:
    """The user's Stripe account id, read from the database (not a cached relation)."""
    return ConnectedAccount.objects.get(coach=user).stripe_account_id or ""
