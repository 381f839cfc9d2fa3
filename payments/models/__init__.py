"""Payments' models: Connect accounts and payouts, the webhook inbox, and money records."""

from payments.models.accounts import (
    ACCOUNT_TRANSITIONS,
    AccountState,
    AccountStateChange,
    ConnectedAccount,
    Payout,
    PayoutInterval,
    PayoutStatus,
    StaffAlert,
    Weekday,
)
from payments.models.money import (
    PAYMENT_TRANSITIONS,
    Dispute,
    DisputeStatus,
    Payment,
    PaymentKind,
    PaymentStatus,
    Refund,
    RefundStatus,
    Transfer,
    TransferStatus,
)
from payments.models.reconciliation import ReconciliationDiscrepancy, ReconciliationRun
from payments.models.webhooks import (
    WebhookEndpoint,
    WebhookEvent,
    WebhookEventStatus,
    WebhookIgnoredReason,
)

__all__ = [
    "ACCOUNT_TRANSITIONS",
    "PAYMENT_TRANSITIONS",
    "AccountState",
    "AccountStateChange",
    "ConnectedAccount",
    "Dispute",
    "DisputeStatus",
    "Payment",
    "PaymentKind",
    "PaymentStatus",
    "Payout",
    "PayoutInterval",
    "PayoutStatus",
    "ReconciliationDiscrepancy",
    "ReconciliationRun",
    "Refund",
    "RefundStatus",
    "StaffAlert",
    "Transfer",
    "TransferStatus",
    "WebhookEndpoint",
    "WebhookEvent",
    "WebhookEventStatus",
    "WebhookIgnoredReason",
    "Weekday",
]
