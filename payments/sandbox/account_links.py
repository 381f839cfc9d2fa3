"""Account links and login links: the single-use URLs of the hosted onboarding page and of
the Express dashboard."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse

from payments.sandbox import errors, store
from payments.sandbox.accounts import get_account
from payments.sandbox.models import StripeObject

LINK_LIFETIME_SECONDS = 300
LOGIN_LINK_LIFETIME_SECONDS = 300


def hosted_url(name: str, token: str) -> str:
    """An absolute URL of a hosted page, on ``SITE_URL`` (the browser visits it)."""
    return settings.SITE_URL + reverse(f"stripe_sandbox:{name}", args=[token])


def account_link_create(*, params: dict[str, Any]) -> dict[str, Any]:
    row = get_account(params["account"])
    if params["type"] == "account_update" and row.data["type"] == "express":
        # Stripe collects an Express account's details from its holder, who updates them
        # in the Express dashboard; update links serve Custom accounts only.
        raise errors.StripeError(
            'Invalid type: must be one of ["account_onboarding"]', param="type"
        )
    token = store.new_id("", 32)
    created = store.now()
    link = {
        "object": "account_link",
        "created": created,
        "expires_at": created + LINK_LIFETIME_SECONDS,
        "url": hosted_url("onboarding", token),
    }
    store.insert(
        {**link, "id": f"link_{token}", "object": "sandbox.account_link"},
        internal={
            "account": row.stripe_id,
            "type": params["type"],
            "refresh_url": params.get("refresh_url") or "",
            "return_url": params.get("return_url") or "",
            "used": False,
        },
    )
    return link


def login_link_create(*, account_id: str) -> dict[str, Any]:
    row = get_account(account_id)
    if not row.data["details_submitted"]:
        raise errors.StripeError(
            "Cannot create a login link for an account that has not completed onboarding.",
            param="account",
        )
    token = store.new_id("", 32)
    created = store.now()
    link = {"object": "login_link", "created": created, "url": hosted_url("express", token)}
    store.insert(
        {**link, "id": f"login_{token}", "object": "sandbox.login_link"},
        internal={"account": account_id, "expires_at": created + LOGIN_LINK_LIFETIME_SECONDS},
    )
    return link


def account_link_open(*, token: str) -> tuple[StripeObject, str | None]:
    """The link row and, when it cannot be used (expired or used), where to send the browser."""
    row = store.get(f"link_{token}", "sandbox.account_link", lock=True, kind="account link")
    if row.internal["used"] or store.now() > row.data["expires_at"]:
        return row, row.internal["refresh_url"] or None
    return row, None


def account_link_use(*, token: str) -> StripeObject:
    row = store.get(f"link_{token}", "sandbox.account_link", lock=True, kind="account link")
    row.internal["used"] = True
    store.save(row)
    return row


def login_link_open(*, token: str) -> str | None:
    """The account id a login link opens, or None when it expired."""
    row = store.get(f"login_{token}", "sandbox.login_link", kind="login link")
    if store.now() > row.internal["expires_at"] and not row.internal.get("opened"):
        return None
    if not row.internal.get("opened"):
        row.internal["opened"] = True
        store.save(row)
    return row.internal["account"]
