"""The customer portal: configurations, sessions and the hosted page a session opens.

A session's URL (``/_stripe/billing_portal/session/{secret}/``) works only if visited within
``SESSION_VISIT_SECONDS`` of its creation, and then for ``SESSION_LIFETIME_SECONDS`` (Stripe
keeps its sessions short-lived and expires those not visited). Without ``configuration`` a
session uses the default configuration, which Stripe's Dashboard makes when its portal
settings are saved (``controls.save_portal_settings``); configurations made through the API
are not the default.
"""

from __future__ import annotations

import copy
import secrets
from typing import Any

from payments.sandbox import customers, errors, events, store
from payments.sandbox.models import StripeObject

SESSION_VISIT_SECONDS = 5 * 60
SESSION_LIFETIME_SECONDS = 60 * 60

NO_DEFAULT_CONFIGURATION = (
    "No configuration provided and your test mode default configuration has not been created. "
    "Provide a configuration or create your default by saving your customer portal settings in "
    "test mode at https://dashboard.stripe.com/test/settings/billing/portal."
)

_FEATURES_OFF: dict[str, Any] = {
    "customer_update": {"allowed_updates": [], "enabled": False},
    "invoice_history": {"enabled": False},
    "payment_method_update": {"enabled": False, "payment_method_configuration": None},
    "subscription_cancel": {
        "cancellation_reason": {"enabled": False, "feedback_options": None, "options": []},
        "enabled": False,
        "mode": "at_period_end",
        "proration_behavior": "none",
    },
    "subscription_pause": {"duration": None, "enabled": False},
    "subscription_update": {
        "billing_cycle_anchor": None,
        "default_allowed_updates": [],
        "enabled": False,
        "products": [],
        "proration_behavior": "none",
        "schedule_at_period_end": {"conditions": []},
        "trial_update_behavior": "end_trial",
    },
}


def _merged(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = value
    return merged


def configuration_create(*, params: dict[str, Any], is_default: bool = False) -> dict[str, Any]:
    profile = params.get("business_profile") or {}
    configuration = {
        "id": store.new_id("bpc_"),
        "object": "billing_portal.configuration",
        "active": True,
        "application": None,
        "business_profile": {
            "headline": profile.get("headline"),
            "privacy_policy_url": profile.get("privacy_policy_url"),
            "terms_of_service_url": profile.get("terms_of_service_url"),
        },
        "created": store.now(),
        "default_return_url": params.get("default_return_url"),
        "features": _merged(_FEATURES_OFF, params.get("features") or {}),
        "is_default": is_default,
        "livemode": False,
        "login_page": {"enabled": False, "url": None},
        "metadata": dict(params.get("metadata") or {}),
        "name": params.get("name"),
        "updated": store.now(),
    }
    store.insert(configuration)
    events.record("billing_portal.configuration.created", configuration)
    return configuration


def configuration_update(*, configuration_id: str, params: dict[str, Any]) -> dict[str, Any]:
    row = store.get(
        configuration_id,
        "billing_portal.configuration",
        account="",
        lock=True,
        kind="billing_portal.configuration",
        param="configuration",
    )
    configuration = row.data
    for key in ("active", "default_return_url", "name"):
        if key in params:
            configuration[key] = params[key] or (None if key != "active" else False)
    if "features" in params:
        configuration["features"] = _merged(configuration["features"], params["features"])
    if "business_profile" in params:
        configuration["business_profile"] = _merged(
            configuration["business_profile"], params["business_profile"]
        )
    for key, value in (params.get("metadata") or {}).items():
        if value == "":
            configuration["metadata"].pop(key, None)
        else:
            configuration["metadata"][key] = value
    configuration["updated"] = store.now()
    store.save(row)
    events.record("billing_portal.configuration.updated", configuration)
    return configuration


def default_configuration() -> StripeObject | None:
    return StripeObject.objects.filter(
        object_type="billing_portal.configuration", account="", data__is_default=True
    ).first()


def session_create(*, params: dict[str, Any]) -> dict[str, Any]:
    customers.customer_row(params["customer"], param="customer")
    if params.get("configuration"):
        configuration = store.get(
            params["configuration"],
            "billing_portal.configuration",
            account="",
            kind="billing_portal.configuration",
            param="configuration",
        )
        if not configuration.data["active"]:
            raise errors.invalid(
                "configuration",
                f"The configuration {configuration.stripe_id} is inactive. Activate it or provide "
                "an active configuration.",
            )
    else:
        found = default_configuration()
        if found is None:
            raise errors.invalid("configuration", NO_DEFAULT_CONFIGURATION)
        configuration = found
    secret = secrets.token_urlsafe(24)
    session = {
        "id": store.new_id("bps_"),
        "object": "billing_portal.session",
        "after_expiration": None,
        "configuration": configuration.stripe_id,
        "created": store.now(),
        "customer": params["customer"],
        "customer_account": None,
        "flow": None,
        "livemode": False,
        "locale": params.get("locale"),
        "on_behalf_of": params.get("on_behalf_of"),
        "return_url": params.get("return_url") or configuration.data["default_return_url"],
        "url": store.hosted_page_url(f"billing_portal/session/{secret}/"),
    }
    store.insert(session, internal={"secret": secret, "visited_at": None})
    return session


class SessionExpired(Exception):
    """The portal link was not visited in time, or its visit is over."""


def session_open(*, secret: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The session of a portal link and its configuration; the first visit starts its
    lifetime. Raises ``SessionExpired`` (and ``StripeError`` for an unknown link)."""
    row = (
        StripeObject.objects.select_for_update()
        .filter(object_type="billing_portal.session", internal__secret=secret)
        .first()
    )
    if row is None:
        raise errors.no_such("billing_portal.session", secret)
    now = store.now()
    visited = row.internal.get("visited_at")
    if visited is None:
        if now > row.data["created"] + SESSION_VISIT_SECONDS:
            raise SessionExpired
        row.internal["visited_at"] = now
        store.save(row)
    elif now > visited + SESSION_LIFETIME_SECONDS:
        raise SessionExpired
    configuration = store.get(row.data["configuration"], "billing_portal.configuration").data
    return row.data, configuration
