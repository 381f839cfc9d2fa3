"""The endpoints: each route validates its parameters against a spec and calls a service."""

from __future__ import annotations

from typing import Any

from payments.sandbox import accounts, checkout, errors, ledger, store
from payments.sandbox.api import Context, expanders, route
from payments.sandbox.params import ANY, B, D, E, I, L, M, S

# --- accounts ------------------------------------------------------------------------------

_CAPABILITY = D({"requested": B()})
_SCHEDULE = D(
    {
        "delay_days": ANY(),
        "interval": E("daily", "weekly", "monthly", "manual"),
        "monthly_anchor": I(),
        "weekly_anchor": E(
            "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
        ),
        "monthly_payout_days": L(I()),
        "weekly_payout_days": L(S()),
    }
)
_ACCOUNT_SETTINGS = D(
    {
        "payouts": D(
            {"schedule": _SCHEDULE, "statement_descriptor": S(), "debit_negative_balances": B()}
        ),
        "payments": D({"statement_descriptor": S()}),
        "card_payments": ANY(),
        "branding": ANY(),
        "dashboard": D({"display_name": S(), "timezone": S()}),
    }
)
_BUSINESS_PROFILE = D(
    {
        "mcc": S(),
        "name": S(),
        "product_description": S(),
        "support_address": ANY(),
        "support_email": S(),
        "support_phone": S(),
        "support_url": S(),
        "url": S(),
        "annual_revenue": ANY(),
        "estimated_worker_count": I(),
        "monthly_estimated_revenue": ANY(),
        "minority_owned_business_designation": ANY(),
    }
)
_CAPABILITY_NAMES = (
    "card_payments",
    "transfers",
    "us_bank_account_ach_payments",
    "link_payments",
    "sepa_debit_payments",
    "bancontact_payments",
    "ideal_payments",
)
_ACCOUNT_COMMON = {
    "email": S(),
    "business_type": E("individual", "company", "non_profit", "government_entity"),
    "business_profile": _BUSINESS_PROFILE,
    "capabilities": D({name: _CAPABILITY for name in _CAPABILITY_NAMES}),
    "default_currency": S(),
    "metadata": M(),
    "settings": _ACCOUNT_SETTINGS,
    "tos_acceptance": D({"date": I(), "ip": S(), "user_agent": S(), "service_agreement": S()}),
    "individual": ANY(),
    "company": ANY(),
    "external_account": ANY(),
    "account_token": S(),
}
ACCOUNT_CREATE = {
    **_ACCOUNT_COMMON,
    "type": E("custom", "express", "standard"),
    "country": S(),
    "controller": D(
        {
            "fees": D({"payer": E("account", "application")}),
            "losses": D({"payments": E("application", "stripe")}),
            "requirement_collection": E("application", "stripe"),
            "stripe_dashboard": D({"type": E("express", "full", "none")}),
        }
    ),
}
LIST = {"limit": I(), "starting_after": S(), "ending_before": S(), "created": ANY()}


def _platform_only(ctx: Context) -> None:
    if ctx.account:
        raise errors.StripeError(
            "Only the platform can manage connected accounts (remove the Stripe-Account header).",
            status=403,
        )


@route("POST", "/v1/accounts", ACCOUNT_CREATE, connect_allowed=False)
def create_account(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return accounts.account_create(params=params)


@route("GET", "/v1/accounts", LIST, connect_allowed=False)
def list_accounts(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    page = store.list_page("account", account="", url="/v1/accounts", params=params)
    return page


@route("GET", "/v1/accounts/{account_id}")
def retrieve_account(ctx: Context, params: dict[str, Any], account_id: str) -> dict[str, Any]:
    if ctx.account and ctx.account != account_id:
        raise errors.no_such("account", account_id, "account")
    return accounts.get_account(account_id).data


@route("GET", "/v1/account")
def retrieve_own_account(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    if not ctx.account:
        raise errors.StripeError(
            "The local Stripe's platform account is not an API object; retrieve a connected "
            "account with the Stripe-Account header.",
            status=404,
        )
    return accounts.get_account(ctx.account).data


@route("POST", "/v1/accounts/{account_id}", _ACCOUNT_COMMON)
def update_account(ctx: Context, params: dict[str, Any], account_id: str) -> dict[str, Any]:
    if ctx.account and ctx.account != account_id:
        raise errors.no_such("account", account_id, "account")
    return accounts.account_update(account_id=account_id, params=params)


@route("DELETE", "/v1/accounts/{account_id}", connect_allowed=False)
def delete_account(ctx: Context, params: dict[str, Any], account_id: str) -> dict[str, Any]:
    return accounts.account_delete(account_id=account_id)


@route("GET", "/v1/accounts/{account_id}/capabilities")
def list_capabilities(ctx: Context, params: dict[str, Any], account_id: str) -> dict[str, Any]:
    account = accounts.get_account(account_id).data
    return {
        "object": "list",
        "data": [accounts.capability_shape(account, name) for name in account["capabilities"]],
        "has_more": False,
        "url": f"/v1/accounts/{account_id}/capabilities",
    }


@route("GET", "/v1/accounts/{account_id}/capabilities/{name}")
def retrieve_capability(
    ctx: Context, params: dict[str, Any], account_id: str, name: str
) -> dict[str, Any]:
    account = accounts.get_account(account_id).data
    if name not in account["capabilities"]:
        raise errors.no_such("capability", name)
    return accounts.capability_shape(account, name)


@route("POST", "/v1/accounts/{account_id}/login_links", {}, connect_allowed=False)
def create_login_link(ctx: Context, params: dict[str, Any], account_id: str) -> dict[str, Any]:
    return accounts.login_link_create(account_id=account_id)


@route(
    "POST",
    "/v1/account_links",
    {
        "account": S(required=True),
        "type": E("account_onboarding", "account_update", required=True),
        "refresh_url": S(),
        "return_url": S(),
        "collect": E("currently_due", "eventually_due"),
        "collection_options": D(
            {
                "fields": E("currently_due", "eventually_due"),
                "future_requirements": E("include", "omit"),
            }
        ),
    },
    connect_allowed=False,
)
def create_account_link(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return accounts.account_link_create(params=params)


# --- checkout sessions ---------------------------------------------------------------------

_PRICE_DATA = D(
    {
        "currency": S(required=True),
        "unit_amount": I(),
        "unit_amount_decimal": S(),
        "product": S(),
        "product_data": D(
            {
                "name": S(required=True),
                "description": S(),
                "images": L(S()),
                "metadata": M(),
                "tax_code": S(),
            }
        ),
        "tax_behavior": E("exclusive", "inclusive", "unspecified"),
    }
)
CHECKOUT_CREATE = {
    "mode": E("payment", "setup", "subscription", required=True),
    "line_items": L(
        D(
            {
                "price_data": _PRICE_DATA,
                "price": S(),
                "quantity": I(),
                "adjustable_quantity": ANY(),
                "tax_rates": L(S()),
            }
        )
    ),
    "payment_intent_data": D(
        {
            "application_fee_amount": I(),
            "transfer_data": D({"destination": S(required=True), "amount": I()}),
            "on_behalf_of": S(),
            "transfer_group": S(),
            "metadata": M(),
            "description": S(),
            "receipt_email": S(),
            "statement_descriptor": S(),
            "statement_descriptor_suffix": S(),
            "capture_method": E("automatic", "automatic_async", "manual"),
            "setup_future_usage": E("off_session", "on_session"),
        }
    ),
    "client_reference_id": S(),
    "customer_email": S(),
    "customer": S(),
    "customer_creation": E("always", "if_required"),
    "success_url": S(),
    "cancel_url": S(),
    "expires_at": I(),
    "metadata": M(),
    "payment_method_types": L(S()),
    "locale": S(),
    "submit_type": E("auto", "book", "donate", "pay", "subscribe"),
    "billing_address_collection": E("auto", "required"),
    "allow_promotion_codes": B(),
    "ui_mode": E("hosted"),
}


@route("POST", "/v1/checkout/sessions", CHECKOUT_CREATE, connect_allowed=False)
def create_checkout_session(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    session = checkout.session_create(params=params)
    if "line_items" in ctx.expand:
        ctx.expand.remove("line_items")
        row = store.get(session["id"], "checkout.session")
        return checkout.session_with_line_items(row.data, row.internal)
    return session


def _session(ctx: Context, session_id: str) -> Any:
    return store.get(
        session_id,
        "checkout.session",
        account=ctx.account,
        kind="checkout.session",
        param="session",
    )


@route("GET", "/v1/checkout/sessions/{session_id}")
def retrieve_checkout_session(
    ctx: Context, params: dict[str, Any], session_id: str
) -> dict[str, Any]:
    row = _session(ctx, session_id)
    if "line_items" in ctx.expand:
        ctx.expand.remove("line_items")
        return checkout.session_with_line_items(row.data, row.internal)
    return row.data


@route("GET", "/v1/checkout/sessions/{session_id}/line_items", LIST)
def list_checkout_line_items(
    ctx: Context, params: dict[str, Any], session_id: str
) -> dict[str, Any]:
    row = _session(ctx, session_id)
    return checkout.line_items_list(session_id, row.internal)


@route(
    "GET",
    "/v1/checkout/sessions",
    {**LIST, "payment_intent": S(), "status": E("open", "complete", "expired")},
)
def list_checkout_sessions(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    json_filters = {key: params[key] for key in ("payment_intent", "status") if key in params}
    return store.list_page(
        "checkout.session",
        account=ctx.account,
        url="/v1/checkout/sessions",
        params=params,
        json_filters=json_filters,
    )


@route("POST", "/v1/checkout/sessions/{session_id}/expire", {})
def expire_checkout_session(
    ctx: Context, params: dict[str, Any], session_id: str
) -> dict[str, Any]:
    _session(ctx, session_id)
    return checkout.session_expire(session_id=session_id)


# --- payment intents, charges, refunds -----------------------------------------------------


@route("GET", "/v1/payment_intents/{intent_id}")
def retrieve_payment_intent(ctx: Context, params: dict[str, Any], intent_id: str) -> dict:
    return store.get(intent_id, "payment_intent", account=ctx.account, param="intent").data


@route("GET", "/v1/payment_intents", LIST)
def list_payment_intents(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return store.list_page(
        "payment_intent", account=ctx.account, url="/v1/payment_intents", params=params
    )


@route("GET", "/v1/charges/{charge_id}")
def retrieve_charge(ctx: Context, params: dict[str, Any], charge_id: str) -> dict[str, Any]:
    return store.get(charge_id, "charge", account=ctx.account, param="charge").data


@route("GET", "/v1/charges", {**LIST, "payment_intent": S(), "transfer_group": S()})
def list_charges(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    json_filters = {k: params[k] for k in ("payment_intent", "transfer_group") if k in params}
    return store.list_page(
        "charge", account=ctx.account, url="/v1/charges", params=params, json_filters=json_filters
    )


REFUND_CREATE = {
    "charge": S(),
    "payment_intent": S(),
    "amount": I(),
    "reason": E("duplicate", "fraudulent", "requested_by_customer"),
    "reverse_transfer": B(),
    "refund_application_fee": B(),
    "metadata": M(),
    "instructions_email": S(),
}


@route("POST", "/v1/refunds", REFUND_CREATE, connect_allowed=False)
def create_refund(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return ledger.refund_create(params=params)


@route("GET", "/v1/refunds/{refund_id}")
def retrieve_refund(ctx: Context, params: dict[str, Any], refund_id: str) -> dict[str, Any]:
    return store.get(refund_id, "refund", account=ctx.account, param="refund").data


@route("GET", "/v1/refunds", {**LIST, "charge": S(), "payment_intent": S()})
def list_refunds(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    json_filters = {k: params[k] for k in ("charge", "payment_intent") if k in params}
    return store.list_page(
        "refund", account=ctx.account, url="/v1/refunds", params=params, json_filters=json_filters
    )


@route("GET", "/v1/disputes/{dispute_id}")
def retrieve_dispute(ctx: Context, params: dict[str, Any], dispute_id: str) -> dict[str, Any]:
    return store.get(dispute_id, "dispute", account=ctx.account, param="dispute").data


@route("GET", "/v1/disputes", {**LIST, "charge": S(), "payment_intent": S()})
def list_disputes(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    json_filters = {k: params[k] for k in ("charge", "payment_intent") if k in params}
    return store.list_page(
        "dispute", account=ctx.account, url="/v1/disputes", params=params, json_filters=json_filters
    )


# --- transfers, reversals, application fees ------------------------------------------------

TRANSFER_CREATE = {
    "amount": I(required=True),
    "currency": S(required=True),
    "destination": S(required=True),
    "transfer_group": S(),
    "source_transaction": S(),
    "description": S(),
    "metadata": M(),
}


@route("POST", "/v1/transfers", TRANSFER_CREATE, connect_allowed=False)
def create_transfer(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return ledger.transfer_create(params=params)


@route("GET", "/v1/transfers/{transfer_id}", connect_allowed=False)
def retrieve_transfer(ctx: Context, params: dict[str, Any], transfer_id: str) -> dict:
    return store.get(transfer_id, "transfer", account="", param="transfer").data


@route(
    "POST",
    "/v1/transfers/{transfer_id}",
    {"metadata": M(), "description": S()},
    connect_allowed=False,
)
def update_transfer(ctx: Context, params: dict[str, Any], transfer_id: str) -> dict:
    row = store.get(transfer_id, "transfer", account="", lock=True, param="transfer")
    for key, value in (params.get("metadata") or {}).items():
        if value == "":
            row.data["metadata"].pop(key, None)
        else:
            row.data["metadata"][key] = value
    if "description" in params:
        row.data["description"] = params["description"] or None
    store.save(row)
    return row.data


@route(
    "GET",
    "/v1/transfers",
    {**LIST, "destination": S(), "transfer_group": S()},
    connect_allowed=False,
)
def list_transfers(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    json_filters = {k: params[k] for k in ("destination", "transfer_group") if k in params}
    return store.list_page(
        "transfer", account="", url="/v1/transfers", params=params, json_filters=json_filters
    )


@route(
    "POST",
    "/v1/transfers/{transfer_id}/reversals",
    {"amount": I(), "metadata": M(), "refund_application_fee": B(), "description": S()},
    connect_allowed=False,
)
def create_reversal(ctx: Context, params: dict[str, Any], transfer_id: str) -> dict:
    return ledger.transfer_reverse(
        transfer_id=transfer_id,
        amount=params.get("amount"),
        metadata=params.get("metadata"),
        refund_application_fee=bool(params.get("refund_application_fee")),
    )


@route("GET", "/v1/transfers/{transfer_id}/reversals", LIST, connect_allowed=False)
def list_reversals(ctx: Context, params: dict[str, Any], transfer_id: str) -> dict:
    store.get(transfer_id, "transfer", account="", param="transfer")
    return store.list_page(
        "transfer_reversal",
        account="",
        url=f"/v1/transfers/{transfer_id}/reversals",
        params=params,
        json_filters={"transfer": transfer_id},
    )


@route("GET", "/v1/transfers/{transfer_id}/reversals/{reversal_id}", connect_allowed=False)
def retrieve_reversal(
    ctx: Context, params: dict[str, Any], transfer_id: str, reversal_id: str
) -> dict:
    row = store.get(
        reversal_id, "transfer_reversal", account="", param="id", kind="transfer reversal"
    )
    if row.data["transfer"] != transfer_id:
        raise errors.no_such("transfer reversal", reversal_id)
    return row.data


@route("GET", "/v1/application_fees/{fee_id}", connect_allowed=False)
def retrieve_application_fee(ctx: Context, params: dict[str, Any], fee_id: str) -> dict:
    return store.get(fee_id, "application_fee", account="", kind="application fee").data


@route("GET", "/v1/application_fees", {**LIST, "charge": S()}, connect_allowed=False)
def list_application_fees(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    page = store.list_page(
        "application_fee",
        account="",
        url="/v1/application_fees",
        params={k: v for k, v in params.items() if k != "charge"},
    )
    if "charge" in params:
        # Stripe filters by the charge the fee was taken from or the originating charge.
        page["data"] = [
            fee
            for fee in page["data"]
            if params["charge"] in (fee["charge"], fee["originating_transaction"])
        ]
    return page


@route(
    "POST",
    "/v1/application_fees/{fee_id}/refunds",
    {"amount": I(), "metadata": M()},
    connect_allowed=False,
)
def refund_application_fee(ctx: Context, params: dict[str, Any], fee_id: str) -> dict:
    return ledger.application_fee_refund(
        fee_id=fee_id, amount=params.get("amount"), metadata=params.get("metadata")
    )


# --- balance, balance transactions, payouts ------------------------------------------------


@route("GET", "/v1/balance")
def retrieve_balance(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return ledger.balance_shape(ctx.account)


@route("GET", "/v1/balance_transactions/{txn_id}")
def retrieve_balance_transaction(ctx: Context, params: dict[str, Any], txn_id: str) -> dict:
    row = store.get(txn_id, "balance_transaction", account=ctx.account, kind="balance transaction")
    return ledger.with_live_status(row.data)


@route(
    "GET",
    "/v1/balance_transactions",
    {**LIST, "type": S(), "source": S(), "currency": S(), "payout": S()},
)
def list_balance_transactions(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    json_filters = {k: params[k] for k in ("type", "source", "currency") if k in params}
    page = store.list_page(
        "balance_transaction",
        account=ctx.account,
        url="/v1/balance_transactions",
        params=params,
        json_filters=json_filters,
    )
    now = store.now()
    page["data"] = [ledger.with_live_status(txn, now) for txn in page["data"]]
    return page


@route(
    "POST",
    "/v1/payouts",
    {
        "amount": I(required=True),
        "currency": S(required=True),
        "description": S(),
        "metadata": M(),
        "method": E("standard", "instant"),
        "statement_descriptor": S(),
        "destination": S(),
    },
)
def create_payout(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    if not ctx.account:
        raise errors.StripeError(
            "The local Stripe pays out connected accounts only: send the Stripe-Account header.",
        )
    return ledger.payout_create(
        account=ctx.account,
        amount=params["amount"],
        currency=params["currency"].lower(),
        automatic=False,
        description=params.get("description"),
        metadata=params.get("metadata"),
    )


@route("GET", "/v1/payouts/{payout_id}")
def retrieve_payout(ctx: Context, params: dict[str, Any], payout_id: str) -> dict[str, Any]:
    return store.get(payout_id, "payout", account=ctx.account, param="payout").data


@route("GET", "/v1/payouts", {**LIST, "status": S(), "arrival_date": ANY(), "destination": S()})
def list_payouts(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    json_filters = {k: params[k] for k in ("status",) if k in params}
    return store.list_page(
        "payout", account=ctx.account, url="/v1/payouts", params=params, json_filters=json_filters
    )


# --- events --------------------------------------------------------------------------------


@route("GET", "/v1/events/{event_id}")
def retrieve_event(ctx: Context, params: dict[str, Any], event_id: str) -> dict[str, Any]:
    return store.get(event_id, "event", account=ctx.account, param="id").data


@route("GET", "/v1/events", {**LIST, "type": S(), "types": L(S()), "delivery_success": B()})
def list_events(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    if "types" in params:
        filters["data__type__in"] = params["types"]
    json_filters = {}
    if "type" in params:
        if params["type"].endswith(".*"):
            filters["data__type__startswith"] = params["type"][:-1]
        else:
            json_filters["type"] = params["type"]
    return store.list_page(
        "event",
        account=ctx.account,
        url="/v1/events",
        params=params,
        filters=filters,
        json_filters=json_filters,
    )


expanders["balance_transaction"] = ledger.with_live_status
