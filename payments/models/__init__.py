"""Payments' models: Connect accounts and payouts, the webhook inbox, money records and
staff payout requests."""

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
    TransferKind,
    TransferStatus,
)
from payments.models.payout_requests import (
    PAYOUT_REQUEST_TRANSITIONS,
    PayeeInvitation,
    PayoutReason,
    PayoutRequest,
    PayoutRequestEvent,
    PayoutRequestStatus,
)
from payments.models.reconciliation import ReconciliationDiscrepancy, ReconciliationRun
from payments.models.webhooks import WebhookEndpoint, WebhookEvent, WebhookEventStatus

__all__ = [
    "ACCOUNT_TRANSITIONS",
    "PAYMENT_TRANSITIONS",
    "PAYOUT_REQUEST_TRANSITIONS",
    "AccountState",
    "AccountStateChange",
    "ConnectedAccount",
    "Dispute",
    "DisputeStatus",
    "PayeeInvitation",
    "Payment",
    "PaymentKind",
    "PaymentStatus",
    "Payout",
    "PayoutInterval",
    "PayoutReason",
    "PayoutRequest",
    "PayoutRequestEvent",
    "PayoutRequestStatus",
    "PayoutStatus",
    "ReconciliationDiscrepancy",
    "ReconciliationRun",
    "Refund",
    "RefundStatus",
    "StaffAlert",
    "Transfer",
    "TransferKind",
    "TransferStatus",
    "WebhookEndpoint",
    "WebhookEvent",
    "WebhookEventStatus",
    "Weekday",
]
