"""Links into Stripe's hosted pages for a coach: onboarding (account links) and the Express
dashboard (login links)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import stripe
from django.utils import timezone

from payments.gateway.accounts import idempotency_key
from payments.gateway.client import stripe_client
from payments.gateway.errors import translate
from payments.gateway.fields import field_value, timestamp

if TYPE_CHECKING:
    from payments.models import ConnectedAccount


@dataclass(frozen=True)
class HostedLink:
    url: str
    expires_at: datetime | None = None


def account_link_create(
    *, account: ConnectedAccount, refresh_url: str, return_url: str
) -> HostedLink:
    """A fresh onboarding link. Links are single-use and expire, so each call makes a new one;
    the key still names the row and the action, plus the moment it was asked for."""
    assert account.stripe_account_id, "the Stripe account must exist"
    try:
        link = stripe_client().v1.account_links.create(
            params={
                "account": account.stripe_account_id,
                "refresh_url": refresh_url,
                "return_url": return_url,
                "type": "account_onboarding",
            },
            options={
                "idempotency_key": idempotency_key(
                    account, "account-link", timezone.now().timestamp()
                )
            },
        )
    except stripe.StripeError as error:
        raise translate(error) from error
    return HostedLink(url=link.url, expires_at=timestamp(field_value(link, "expires_at")))


def login_link_create(*, account: ConnectedAccount) -> HostedLink:
    """A one-time link into the coach's Express dashboard."""
    assert account.stripe_account_id, "the Stripe account must exist"
    try:
        link = stripe_client().v1.accounts.login_links.create(
            account.stripe_account_id,
            options={
                "idempotency_key": idempotency_key(
                    account, "login-link", timezone.now().timestamp()
                )
            },
        )
    except stripe.StripeError as error:
        raise translate(error) from error
    return HostedLink(url=link.url)
