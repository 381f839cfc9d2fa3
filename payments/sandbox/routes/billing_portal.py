"""Endpoints of the customer portal: configurations and sessions."""

from __future__ import annotations

from typing import Any

from payments.sandbox import billing_portal, errors, store
from payments.sandbox.params import ANY, LIST, B, D, E, M, S
from payments.sandbox.routing import Context, route

_FEATURES = D(
    {
        "customer_update": D({"allowed_updates": ANY(), "enabled": B()}),
        "invoice_history": D({"enabled": B(required=True)}),
        "payment_method_update": D(
            {"enabled": B(required=True), "payment_method_configuration": S()}
        ),
        "subscription_cancel": D(
            {
                "cancellation_reason": D({"enabled": B(required=True), "options": ANY()}),
                "enabled": B(),
                "mode": E("at_period_end", "immediately"),
                "proration_behavior": E("always_invoice", "create_prorations", "none"),
            }
        ),
        "subscription_update": D(
            {
                "default_allowed_updates": ANY(),
                "enabled": B(),
                "products": ANY(),
                "proration_behavior": E("always_invoice", "create_prorations", "none"),
                "schedule_at_period_end": ANY(),
                "trial_update_behavior": E("continue_trial", "end_trial"),
            }
        ),
    }
)
_CONFIGURATION_FIELDS = {
    "business_profile": D(
        {"headline": S(), "privacy_policy_url": S(), "terms_of_service_url": S()}
    ),
    "default_return_url": S(),
    "features": _FEATURES,
    "login_page": D({"enabled": B(required=True)}),
    "metadata": M(),
    "name": S(),
}


@route(
    "POST",
    "/v1/billing_portal/configurations",
    {**_CONFIGURATION_FIELDS, "features": D(_FEATURES.children, required=True)},
    connect_allowed=False,
)
def create_configuration(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return billing_portal.configuration_create(params=params)


@route(
    "POST",
    "/v1/billing_portal/configurations/{configuration_id}",
    {**_CONFIGURATION_FIELDS, "active": B()},
    connect_allowed=False,
)
def update_configuration(
    ctx: Context, params: dict[str, Any], configuration_id: str
) -> dict[str, Any]:
    return billing_portal.configuration_update(configuration_id=configuration_id, params=params)


@route("GET", "/v1/billing_portal/configurations/{configuration_id}", connect_allowed=False)
def retrieve_configuration(
    ctx: Context, params: dict[str, Any], configuration_id: str
) -> dict[str, Any]:
    return store.get(
        configuration_id,
        "billing_portal.configuration",
        account="",
        kind="billing_portal.configuration",
        param="configuration",
    ).data


@route(
    "GET",
    "/v1/billing_portal/configurations",
    {**LIST, "active": B(), "is_default": B()},
    connect_allowed=False,
)
def list_configurations(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    json_filters = {key: params[key] for key in ("active", "is_default") if key in params}
    return store.list_page(
        "billing_portal.configuration",
        account="",
        url="/v1/billing_portal/configurations",
        params=params,
        json_filters=json_filters,
    )


@route(
    "POST",
    "/v1/billing_portal/sessions",
    {
        "customer": S(required=True),
        "configuration": S(),
        "flow_data": ANY(),
        "locale": S(),
        "on_behalf_of": S(),
        "return_url": S(),
    },
    connect_allowed=False,
)
def create_session(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("flow_data"):
        # deep links into one flow are not simulated: the portal opens on its home page
        flow = (params["flow_data"] or {}).get("type")
        raise errors.invalid(
            "flow_data[type]",
            f"The local Stripe opens the portal's home page only; the {flow} flow is not "
            "simulated.",
        )
    return billing_portal.session_create(params=params)
