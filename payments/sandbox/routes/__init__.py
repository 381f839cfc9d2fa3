"""The local Stripe's endpoints, one module per resource: each route validates its parameters
against a spec and calls a service. Importing this package registers every route in
``routing.ROUTES``."""

from payments.sandbox.routes import (  # noqa: F401 - importing a module registers its routes
    account_links,
    accounts,
    application_fees,
    balances,
    billing,
    billing_portal,
    catalog,
    charges,
    checkout,
    customers,
    disputes,
    events,
    payment_intents,
    payouts,
    refunds,
    setup_intents,
    test_clocks,
    transfers,
    webhook_endpoints,
)
