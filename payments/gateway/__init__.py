"""The one package that talks to Stripe, one module per Stripe resource.

Everything else calls the functions here with our own objects and gets small typed results;
the rest of the product never sees a ``stripe`` object. With ``STRIPE_SECRET_KEY`` unset the
same calls go, through the real ``stripe`` library, to the local Stripe
(``payments/sandbox/``): over HTTP at ``STRIPE_API_BASE`` when the product runs, in-process
(no sockets) in tests (``client``).

Every POST carries an idempotency key made from our row id and the action
(``connected-account-<id>-create``), so a retry or a double click never does the work twice.
Stripe errors come out as ``GatewayError`` (``StripeObjectMissing`` for an unknown object;
``errors``).

Callers use the names re-exported here (``from payments import gateway``;
``gateway.account_create(...)``), not the modules.
"""

from payments.gateway.account_links import HostedLink, account_link_create, login_link_create
from payments.gateway.accounts import (
    AccountSnapshot,
    PayoutSchedule,
    account_create,
    account_retrieve,
    account_update_business_profile,
    account_update_payout_schedule,
)
from payments.gateway.application_fees import application_fee_amount_refunded
from payments.gateway.balance import (
    Amount,
    BalanceSnapshot,
    BalanceTransactionSummary,
    LedgerLine,
    balance_retrieve,
    balance_transactions_between,
    balance_transactions_for_source,
    balance_transactions_list,
    platform_available_balance,
)
from payments.gateway.catalog import price_create, product_create, product_rename
from payments.gateway.checkout import (
    CheckoutSession,
    checkout_session_create,
    checkout_session_create_async,
    checkout_session_expire,
    checkout_session_retrieve,
)
from payments.gateway.client import api_key, key_livemode, stripe_client, stripe_client_async
from payments.gateway.customers import (
    CustomerCards,
    SavedCardSnapshot,
    billing_portal_session_create,
    card_setup_session_create,
    customer_cards,
    customer_default_card_set,
    payment_method_detach,
    payment_method_retrieve,
)
from payments.gateway.disputes import DisputeResult, dispute_retrieve
from payments.gateway.errors import GatewayError, InvalidWebhook, StripeObjectMissing
from payments.gateway.invoices import (
    InvoiceLine,
    InvoiceSnapshot,
    invoice_id_for_payment_intent,
    invoice_pay,
    invoice_retrieve,
    invoices_list,
)
from payments.gateway.payment_intents import (
    PaymentIntent,
    charge_payment_intent_id,
    payment_intent_retrieve,
)
from payments.gateway.payouts import PayoutSummary, payout_retrieve, payouts_list
from payments.gateway.refunds import RefundResult, refund_create, refund_retrieve
from payments.gateway.subscriptions import (
    SubscriptionSnapshot,
    application_fee_params,
    bps_as_percent,
    cancel_at_period_end_params,
    pause_params,
    price_change_params,
    subscription_cancel_now,
    subscription_checkout_session_create,
    subscription_retrieve,
    subscription_update,
)
from payments.gateway.transfers import (
    ReversalResult,
    TransferResult,
    TransferSummary,
    transfer_create,
    transfer_find,
    transfer_retrieve,
    transfer_reversal_create,
    transfers_list,
)
from payments.gateway.webhook_endpoints import (
    WebhookEndpointSummary,
    webhook_endpoint_create,
    webhook_endpoint_update,
    webhook_endpoints_list,
)
from payments.gateway.webhooks import VerifiedEvent, webhook_construct_event

__all__ = [
    "AccountSnapshot",
    "Amount",
    "BalanceSnapshot",
    "BalanceTransactionSummary",
    "CheckoutSession",
    "CustomerCards",
    "DisputeResult",
    "GatewayError",
    "HostedLink",
    "InvalidWebhook",
    "InvoiceLine",
    "InvoiceSnapshot",
    "LedgerLine",
    "PaymentIntent",
    "PayoutSchedule",
    "PayoutSummary",
    "RefundResult",
    "ReversalResult",
    "SavedCardSnapshot",
    "StripeObjectMissing",
    "SubscriptionSnapshot",
    "TransferResult",
    "TransferSummary",
    "VerifiedEvent",
    "WebhookEndpointSummary",
    "account_create",
    "account_link_create",
    "account_retrieve",
    "account_update_business_profile",
    "account_update_payout_schedule",
    "api_key",
    "application_fee_amount_refunded",
    "application_fee_params",
    "balance_retrieve",
    "balance_transactions_between",
    "balance_transactions_for_source",
    "balance_transactions_list",
    "billing_portal_session_create",
    "bps_as_percent",
    "cancel_at_period_end_params",
    "card_setup_session_create",
    "charge_payment_intent_id",
    "checkout_session_create",
    "checkout_session_create_async",
    "checkout_session_expire",
    "checkout_session_retrieve",
    "customer_cards",
    "customer_default_card_set",
    "dispute_retrieve",
    "invoice_id_for_payment_intent",
    "invoice_pay",
    "invoice_retrieve",
    "invoices_list",
    "key_livemode",
    "login_link_create",
    "pause_params",
    "payment_intent_retrieve",
    "payment_method_detach",
    "payment_method_retrieve",
    "payout_retrieve",
    "payouts_list",
    "platform_available_balance",
    "price_change_params",
    "price_create",
    "product_create",
    "product_rename",
    "refund_create",
    "refund_retrieve",
    "stripe_client",
    "stripe_client_async",
    "subscription_cancel_now",
    "subscription_checkout_session_create",
    "subscription_retrieve",
    "subscription_update",
    "transfer_create",
    "transfer_find",
    "transfer_retrieve",
    "transfer_reversal_create",
    "transfers_list",
    "webhook_construct_event",
    "webhook_endpoint_create",
    "webhook_endpoint_update",
    "webhook_endpoints_list",
]
