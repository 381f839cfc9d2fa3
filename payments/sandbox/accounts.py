"""Connected accounts (Express), capabilities, account links and login links."""

from __future__ import annotations

import copy
from typing import Any

from django.conf import settings
from django.urls import reverse

from payments.sandbox import errors, events, store
from payments.sandbox.models import StripeObject

# What Stripe asks of a US individual on an Express account before it can charge and pay out.
INITIAL_REQUIREMENTS = [
    "business_profile.mcc",
    "business_profile.url",
    "business_type",
    "external_account",
    "individual.address.city",
    "individual.address.line1",
    "individual.address.postal_code",
    "individual.address.state",
    "individual.dob.day",
    "individual.dob.month",
    "individual.dob.year",
    "individual.email",
    "individual.first_name",
    "individual.last_name",
    "individual.phone",
    "individual.ssn_last_4",
    "tos_acceptance.date",
    "tos_acceptance.ip",
]
LINK_LIFETIME_SECONDS = 300
LOGIN_LINK_LIFETIME_SECONDS = 300
ONBOARDING_OUTCOMES = ("complete", "leave_due", "pending_verification", "reject")


def hosted_url(name: str, token: str) -> str:
    """An absolute URL of a hosted page, on ``SITE_URL`` (the browser visits it)."""
    return settings.SITE_URL + reverse(f"stripe_sandbox:{name}", args=[token])


def _requirements(
    currently_due: list[str],
    *,
    past_due: list[str] | None = None,
    disabled_reason: str | None = None,
    pending: list[str] | None = None,
    deadline: int | None = None,
) -> dict[str, Any]:
    return {
        "alternatives": [],
        "current_deadline": deadline,
        "currently_due": list(currently_due),
        "disabled_reason": disabled_reason,
        "errors": [],
        "eventually_due": list(currently_due),
        "past_due": list(past_due or []),
        "pending_verification": list(pending or []),
    }


def _schedule(country: str, given: dict[str, Any] | None = None) -> dict[str, Any]:
    schedule: dict[str, Any] = {
        "delay_days": 2,
        "interval": "daily",
        "monthly_anchor": None,
        "monthly_payout_days": None,
        "weekly_anchor": None,
        "weekly_payout_days": None,
    }
    if given:
        schedule.update({k: v for k, v in given.items() if v != ""})
        if schedule.get("delay_days") == "minimum":
            schedule["delay_days"] = 2
        schedule["delay_days"] = int(schedule["delay_days"])
        if schedule["interval"] != "weekly":
            schedule["weekly_anchor"] = None
        if schedule["interval"] != "monthly":
            schedule["monthly_anchor"] = None
        if schedule["interval"] == "weekly":
            schedule["weekly_anchor"] = schedule.get("weekly_anchor") or "monday"
        if schedule["interval"] == "monthly":
            schedule["monthly_anchor"] = int(schedule.get("monthly_anchor") or 1)
    return schedule


def new_account_shape(params: dict[str, Any]) -> dict[str, Any]:
    country = params.get("country") or settings.PLATFORM_COUNTRY
    default_currency = params.get("default_currency") or settings.PLATFORM_CURRENCY
    requested = params.get("capabilities") or {}
    capabilities = {name: "inactive" for name, value in requested.items() if value.get("requested")}
    account_id = store.new_id("acct_", 16)
    business_profile = {
        "annual_revenue": None,
        "estimated_worker_count": None,
        "mcc": None,
        "minority_owned_business_designation": None,
        "monthly_estimated_revenue": {"amount": 0, "currency": default_currency},
        "name": None,
        "product_description": None,
        "support_address": None,
        "support_email": None,
        "support_phone": None,
        "support_url": None,
        "url": None,
    }
    business_profile.update(params.get("business_profile") or {})
    given_settings = params.get("settings") or {}
    payout_settings = given_settings.get("payouts") or {}
    account = {
        "id": account_id,
        "object": "account",
        "business_profile": business_profile,
        "business_type": params.get("business_type"),
        "capabilities": capabilities,
        "company": None,
        "charges_enabled": False,
        "controller": {
            "fees": {"payer": "application"},
            "is_controller": True,
            "losses": {"payments": "application"},
            "requirement_collection": "stripe",
            "stripe_dashboard": {"type": "express"},
            "type": "application",
        },
        "country": country,
        "created": store.now(),
        "default_currency": default_currency,
        "details_submitted": False,
        "email": params.get("email"),
        "external_accounts": {
            "object": "list",
            "data": [],
            "has_more": False,
            "total_count": 0,
            "url": f"/v1/accounts/{account_id}/external_accounts",
        },
        "future_requirements": _requirements([]),
        "groups": None,
        "individual": None,
        "metadata": dict(params.get("metadata") or {}),
        "payouts_enabled": False,
        "requirements": _requirements(
            INITIAL_REQUIREMENTS,
            past_due=INITIAL_REQUIREMENTS,
            disabled_reason="requirements.past_due",
        ),
        "settings": {
            "bacs_debit_payments": {"display_name": None, "service_user_number": None},
            "branding": {
                "icon": None,
                "logo": None,
                "primary_color": None,
                "secondary_color": None,
            },
            "card_issuing": {"tos_acceptance": {"date": None, "ip": None, "user_agent": None}},
            "card_payments": {
                "decline_on": {"avs_failure": False, "cvc_failure": False},
                "statement_descriptor_prefix": None,
                "statement_descriptor_prefix_kana": None,
                "statement_descriptor_prefix_kanji": None,
            },
            "dashboard": {"display_name": business_profile.get("name"), "timezone": "Etc/UTC"},
            "invoices": {"default_account_tax_ids": None, "hosted_payment_method_save": "offer"},
            "payments": {
                "statement_descriptor": None,
                "statement_descriptor_kana": None,
                "statement_descriptor_kanji": None,
                "statement_descriptor_prefix_kana": None,
                "statement_descriptor_prefix_kanji": None,
            },
            "payouts": {
                "debit_negative_balances": True,
                "schedule": _schedule(country, payout_settings.get("schedule")),
                "statement_descriptor": payout_settings.get("statement_descriptor"),
            },
            "sepa_debit_payments": {"creditor_id": None},
            "treasury": None,
        },
        "tos_acceptance": {
            "date": None,
            "ip": None,
            "service_agreement": "full",
            "user_agent": None,
        },
        "type": "express",
    }
    if given_settings.get("payments", {}).get("statement_descriptor"):
        account["settings"]["payments"]["statement_descriptor"] = given_settings["payments"][
            "statement_descriptor"
        ]
    if given_settings.get("dashboard"):
        account["settings"]["dashboard"].update(given_settings["dashboard"])
    return account


def account_create(*, params: dict[str, Any]) -> dict[str, Any]:
    controller = params.get("controller") or {}
    account_type = params.get("type")
    if account_type and account_type != "express":
        raise errors.StripeError(
            f"The local Stripe creates Express accounts only (type={account_type} is not "
            "simulated).",
            param="type",
        )
    if not account_type:
        dashboard = (controller.get("stripe_dashboard") or {}).get("type")
        if not controller or dashboard != "express":
            raise errors.StripeError(
                "Missing required param: type (or controller[stripe_dashboard][type]=express).",
                code="parameter_missing",
                param="type",
            )
    account = new_account_shape(params)
    if controller:
        for key in ("fees", "losses"):
            if controller.get(key):
                account["controller"][key].update(controller[key])
        if controller.get("requirement_collection"):
            account["controller"]["requirement_collection"] = controller["requirement_collection"]
    store.insert(account, internal={"onboarding": "not_started"})
    return account


def get_account(account_id: str, *, lock: bool = False) -> StripeObject:
    row = store.get(account_id, "account", account="", lock=lock, param="account")
    if row.internal.get("deleted"):
        raise errors.no_such("account", account_id, "account")
    return row


def can_receive_transfers(account_id: str) -> bool:
    """Whether a destination charge or transfer may go to the account (Stripe's capability)."""
    row = get_account(account_id)
    return row.data["capabilities"].get("transfers") == "active" and not row.internal.get(
        "deauthorized"
    )


def _merge(target: dict[str, Any], changes: dict[str, Any]) -> None:
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = None if value == "" else value


def _changed(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Stripe's ``previous_attributes``: the old values of the top-level keys that changed."""
    return {key: before.get(key) for key in after if before.get(key) != after.get(key)}


def save_and_announce(row: StripeObject, before: dict[str, Any]) -> dict[str, Any]:
    """Save an account and send ``account.updated`` (and ``capability.updated``) if it changed."""
    store.save(row)
    account = row.data
    previous = _changed(before, account)
    if previous:
        events.record(
            "account.updated", account, account=account["id"], previous_attributes=previous
        )
    for name, status in account["capabilities"].items():
        if before["capabilities"].get(name) != status:
            events.record(
                "capability.updated",
                capability_shape(account, name),
                account=account["id"],
                previous_attributes={"status": before["capabilities"].get(name)},
            )
    return account


# Stripe collects these from the holder of an Express account (requirement_collection=stripe);
# the platform sends an ``account_update`` link instead of changing them.
HOLDER_ONLY_PARAMETERS = ("individual", "company", "external_account", "account_token")


def account_update(*, account_id: str, params: dict[str, Any]) -> dict[str, Any]:
    for name in HOLDER_ONLY_PARAMETERS:
        if name in params:
            raise errors.StripeError(
                f"This application does not have the required permissions for the parameter "
                f"'{name}' on account '{account_id}': Stripe collects it from the holder of an "
                "Express account (send them an account_update account link).",
                param=name,
            )
    row = get_account(account_id, lock=True)
    before = copy.deepcopy(row.data)
    account = row.data
    if "metadata" in params:
        metadata = account["metadata"]
        for key, value in params["metadata"].items():
            if value == "":
                metadata.pop(key, None)
            else:
                metadata[key] = value
        if params["metadata"] == {}:
            account["metadata"] = {}
    for key in ("email", "business_type", "default_currency"):
        if key in params:
            account[key] = params[key] or None
    if "business_profile" in params:
        _merge(account["business_profile"], params["business_profile"] or {})
    if "capabilities" in params:
        for name, value in params["capabilities"].items():
            if value.get("requested") and name not in account["capabilities"]:
                active = account["charges_enabled"] and account["payouts_enabled"]
                account["capabilities"][name] = "active" if active else "inactive"
            elif value.get("requested") is False:
                account["capabilities"].pop(name, None)
    given_settings = params.get("settings") or {}
    if "payouts" in given_settings:
        payouts = given_settings["payouts"]
        if "schedule" in payouts:
            schedule = dict(account["settings"]["payouts"]["schedule"])
            schedule.update(payouts["schedule"])
            account["settings"]["payouts"]["schedule"] = _schedule(account["country"], schedule)
        for key in ("statement_descriptor", "debit_negative_balances"):
            if key in payouts:
                account["settings"]["payouts"][key] = payouts[key]
    for key in ("payments", "dashboard", "branding", "card_payments"):
        if key in given_settings:
            _merge(account["settings"][key], given_settings[key])
    if "tos_acceptance" in params:
        _merge(account["tos_acceptance"], params["tos_acceptance"])
    return save_and_announce(row, before)


def account_delete(*, account_id: str) -> dict[str, Any]:
    row = get_account(account_id, lock=True)
    row.internal["deleted"] = True
    store.save(row)
    return {"id": account_id, "object": "account", "deleted": True}


def capability_shape(account: dict[str, Any], name: str) -> dict[str, Any]:
    status = account["capabilities"].get(name, "unrequested")
    requirements = account["requirements"]
    return {
        "id": name,
        "object": "capability",
        "account": account["id"],
        "future_requirements": _requirements([]),
        "requested": name in account["capabilities"],
        "requested_at": account["created"] if name in account["capabilities"] else None,
        "requirements": {
            key: requirements[key]
            for key in (
                "alternatives",
                "current_deadline",
                "currently_due",
                "disabled_reason",
                "errors",
                "eventually_due",
                "past_due",
                "pending_verification",
            )
        },
        "status": status,
    }


# --- account links and login links ---------------------------------------------------------


def account_link_create(*, params: dict[str, Any]) -> dict[str, Any]:
    row = get_account(params["account"])
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


# --- onboarding outcomes and account changes (controls and hosted pages call these) ---------


def onboarding_complete(
    *,
    account_id: str,
    outcome: str = "complete",
    individual: dict[str, Any] | None = None,
    bank_account: dict[str, Any] | None = None,
    ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """Finish onboarding as the hosted page does, with one of ``ONBOARDING_OUTCOMES``."""
    if outcome not in ONBOARDING_OUTCOMES:
        raise ValueError(f"outcome must be one of {ONBOARDING_OUTCOMES}")
    row = get_account(account_id, lock=True)
    before = copy.deepcopy(row.data)
    account = row.data
    now = store.now()
    individual = individual or {
        "first_name": "Jenny",
        "last_name": "Rosen",
        "dob": {"day": 1, "month": 1, "year": 1990},
        "address": {
            "line1": "address_full_match",
            "city": "Schenectady",
            "state": "NY",
            "postal_code": "12345",
            "country": account["country"],
        },
    }
    bank_account = bank_account or {"routing_number": "110000000", "account_number": "000123456789"}
    account["details_submitted"] = True
    account["business_type"] = "individual"
    account["individual"] = _person_shape(account, individual)
    account["tos_acceptance"].update({"date": now, "ip": ip, "user_agent": "local-stripe"})
    account["business_profile"]["mcc"] = account["business_profile"]["mcc"] or "8299"
    account["business_profile"]["url"] = account["business_profile"]["url"] or "https://coach.local"
    if outcome != "reject":
        external = _bank_account_shape(account, bank_account)
        account["external_accounts"]["data"] = [external]
        account["external_accounts"]["total_count"] = 1
        row.internal["payout_failure"] = bank_account["account_number"] in FAILING_ACCOUNT_NUMBERS
    if outcome == "complete":
        account["requirements"] = _requirements([])
        account["charges_enabled"] = account["payouts_enabled"] = True
        status = "active"
    elif outcome == "leave_due":
        due = ["individual.verification.document"]
        account["requirements"] = _requirements(
            due, past_due=due, disabled_reason="requirements.past_due"
        )
        account["charges_enabled"] = account["payouts_enabled"] = False
        status = "inactive"
    elif outcome == "pending_verification":
        account["requirements"] = _requirements(
            [],
            pending=["individual.id_number"],
            disabled_reason="requirements.pending_verification",
        )
        account["charges_enabled"] = account["payouts_enabled"] = False
        status = "pending"
    else:
        account["requirements"] = _requirements([], disabled_reason="rejected.fraud")
        account["charges_enabled"] = account["payouts_enabled"] = False
        status = "inactive"
    account["capabilities"] = {name: status for name in account["capabilities"]}
    row.internal["onboarding"] = outcome
    return save_and_announce(row, before)


FAILING_ACCOUNT_NUMBERS = {"000111111116", "000111111113"}


def _bank_account_shape(account: dict[str, Any], bank: dict[str, Any]) -> dict[str, Any]:
    number = bank["account_number"]
    return {
        "id": store.new_id("ba_"),
        "object": "bank_account",
        "account": account["id"],
        "account_holder_name": None,
        "account_holder_type": None,
        "account_type": None,
        "available_payout_methods": ["standard"],
        "bank_name": "STRIPE TEST BANK",
        "country": account["country"],
        "currency": account["default_currency"],
        "default_for_currency": True,
        "fingerprint": store.new_id("", 16),
        "future_requirements": None,
        "last4": number[-4:],
        "metadata": {},
        "requirements": None,
        "routing_number": bank.get("routing_number"),
        "status": "new",
    }


def _person_shape(account: dict[str, Any], individual: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": store.new_id("person_", 16),
        "object": "person",
        "account": account["id"],
        "address": {
            "city": None,
            "country": account["country"],
            "line1": None,
            "line2": None,
            "postal_code": None,
            "state": None,
            **(individual.get("address") or {}),
        },
        "created": store.now(),
        "dob": individual.get("dob") or {"day": None, "month": None, "year": None},
        "email": account.get("email"),
        "first_name": individual.get("first_name"),
        "last_name": individual.get("last_name"),
        "metadata": {},
        "phone": individual.get("phone"),
        "relationship": {
            "director": False,
            "executive": False,
            "owner": False,
            "percent_ownership": None,
            "representative": True,
            "title": None,
        },
        "requirements": _requirements([]),
        "ssn_last_4_provided": True,
        "verification": {"status": "verified", "document": {"back": None, "front": None}},
    }


def account_verify(*, account_id: str) -> dict[str, Any]:
    """Stripe finished verifying what was pending: the account becomes fully enabled."""
    row = get_account(account_id, lock=True)
    before = copy.deepcopy(row.data)
    row.data["requirements"] = _requirements([])
    row.data["charges_enabled"] = row.data["payouts_enabled"] = True
    row.data["capabilities"] = {name: "active" for name in row.data["capabilities"]}
    return save_and_announce(row, before)


def account_change(
    *,
    account_id: str,
    past_due: list[str] | None = None,
    currently_due: list[str] | None = None,
    current_deadline: int | None = None,
    disabled_reason: str | None = None,
    charges_enabled: bool | None = None,
    payouts_enabled: bool | None = None,
    deauthorize: bool = False,
) -> dict[str, Any]:
    """What Stripe does to an account on its own: requirements come due, it restricts it,
    or the account holder disconnects the platform (``account.application.deauthorized``)."""
    row = get_account(account_id, lock=True)
    if deauthorize:
        row.internal["deauthorized"] = True
        store.save(row)
        application = {
            "id": store.new_id("ca_", 24),
            "object": "application",
            "name": "Coach Connect",
        }
        events.record("account.application.deauthorized", application, account=account_id)
        return row.data
    before = copy.deepcopy(row.data)
    requirements = row.data["requirements"]
    if currently_due is not None:
        requirements["currently_due"] = list(currently_due)
        requirements["eventually_due"] = sorted(
            set(requirements["eventually_due"]) | set(currently_due)
        )
        requirements["current_deadline"] = current_deadline
    if past_due is not None:
        requirements["past_due"] = list(past_due)
        requirements["currently_due"] = sorted(set(requirements["currently_due"]) | set(past_due))
        requirements["eventually_due"] = sorted(set(requirements["eventually_due"]) | set(past_due))
        if past_due:
            requirements["disabled_reason"] = "requirements.past_due"
            row.data["charges_enabled"] = row.data["payouts_enabled"] = False
    if disabled_reason is not None:
        requirements["disabled_reason"] = disabled_reason or None
    if charges_enabled is not None:
        row.data["charges_enabled"] = charges_enabled
    if payouts_enabled is not None:
        row.data["payouts_enabled"] = payouts_enabled
    if (
        row.data["charges_enabled"]
        and row.data["payouts_enabled"]
        and not requirements["disabled_reason"]
    ):
        status = "active"
    else:
        status = "inactive"
    row.data["capabilities"] = {name: status for name in row.data["capabilities"]}
    return save_and_announce(row, before)
