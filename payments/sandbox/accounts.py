"""Connected accounts (Express) and their capabilities."""

from __future__ import annotations

import copy
from typing import Any

from payments.sandbox import errors, events, regions, store
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


def requirements_shape(
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
    country = (params.get("country") or regions.platform_country()).upper()
    default_currency = params.get("default_currency") or regions.default_currency(country)
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
        "specified_commercial_transactions_act_url": None,
        "support_address": None,
        "support_email": None,
        "support_phone": None,
        "support_url": None,
        "url": None,
    }
    business_profile.update(params.get("business_profile") or {})
    given_settings = params.get("settings") or {}
    payout_settings = given_settings.get("payouts") or {}
    account: dict[str, Any] = {
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
        "future_requirements": requirements_shape([]),
        "groups": None,
        "individual": None,
        "metadata": dict(params.get("metadata") or {}),
        "payouts_enabled": False,
        "requirements": requirements_shape(
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
            "paypay_payments": None,
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
            "service_agreement": (params.get("tos_acceptance") or {}).get(
                "service_agreement", "full"
            ),
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
    _check_country_and_agreement(params)
    account = new_account_shape(params)
    if controller:
        for key in ("fees", "losses"):
            if controller.get(key):
                account["controller"][key].update(controller[key])
        if controller.get("requirement_collection"):
            account["controller"]["requirement_collection"] = controller["requirement_collection"]
    store.insert(account, internal={"onboarding": "not_started"})
    return account


def _check_country_and_agreement(params: dict[str, Any]) -> None:
    """Stripe's refusals of an account its platform cannot have: a country Connect does not
    serve, or a ``recipient`` account asking to take card payments."""
    country = (params.get("country") or regions.platform_country()).upper()
    if country not in regions.EXPRESS_COUNTRIES:
        raise errors.StripeError(
            f"Connected accounts in {country} cannot be created by platforms in "
            f"{regions.platform_country()}.",
            param="country",
        )
    agreement = (params.get("tos_acceptance") or {}).get("service_agreement", "full")
    requested = params.get("capabilities") or {}
    card_payments = bool((requested.get("card_payments") or {}).get("requested"))
    if agreement == "recipient" and card_payments:
        raise errors.StripeError(
            "Accounts under the `recipient` service agreement cannot request the "
            "`card_payments` capability.",
            param="capabilities[card_payments]",
        )
    transfers = bool((requested.get("transfers") or {}).get("requested"))
    if agreement == "full" and transfers and not card_payments:
        _check_transfers_alone(country)


def _check_transfers_alone(country: str) -> None:
    """Under the ``full`` agreement an account may have ``transfers`` without
    ``card_payments`` only in the platform's own country; elsewhere it must take the
    ``recipient`` agreement (Stripe's answer, quoted in regions.py)."""
    if country != regions.platform_country():
        raise errors.StripeError(
            "You cannot request the `transfers` capability without the `card_payments` "
            f"capability for accounts in {country}.",
            param="capabilities",
        )


def takes_card_payments(account: dict[str, Any]) -> bool:
    """Whether the account may take charges: it requested ``card_payments``, or no capability
    at all (it has the platform's default configuration, card payments and transfers). An
    account that asked for ``transfers`` alone receives money from the platform and pays it
    out, but never takes a charge itself (``charges_enabled`` stays false)."""
    capabilities = account["capabilities"]
    return not capabilities or "card_payments" in capabilities


def service_agreement(account: dict[str, Any]) -> str:
    return str((account.get("tos_acceptance") or {}).get("service_agreement") or "full")


def get_account(account_id: str, *, lock: bool = False) -> StripeObject:
    row = store.get(account_id, "account", account="", lock=lock, param="account")
    if row.internal.get("deleted"):
        raise errors.no_such("account", account_id, "account")
    return row


def can_receive_transfers(account_id: str) -> bool:
    """Whether a destination charge or transfer may go to the account (Stripe's capability)."""
    return takes_transfers(get_account(account_id))


def takes_transfers(row: StripeObject) -> bool:
    """``can_receive_transfers`` of an account row already read."""
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
                active = account["payouts_enabled"] and (
                    account["charges_enabled"] or not takes_card_payments(account)
                )
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
        wanted = params["tos_acceptance"].get("service_agreement")
        if wanted and wanted != service_agreement(account):
            if account["details_submitted"]:
                raise errors.StripeError(
                    "You cannot change `tos_acceptance[service_agreement]` once the account "
                    "has accepted its service agreement.",
                    param="tos_acceptance[service_agreement]",
                )
            if wanted == "recipient" and "card_payments" in account["capabilities"]:
                raise errors.StripeError(
                    "Accounts under the `recipient` service agreement cannot request the "
                    "`card_payments` capability.",
                    param="tos_acceptance[service_agreement]",
                )
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
        "future_requirements": requirements_shape([]),
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
