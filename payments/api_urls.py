"""Payments API routes, mounted under /api/."""

from django.urls import path

from payments import api

urlpatterns = [
    path("connect/status", api.ConnectStatusApi.as_view(), name="connect_status"),
    path("connect/account", api.ConnectAccountApi.as_view(), name="connect_account"),
    path(
        "connect/payout-schedule", api.PayoutScheduleApi.as_view(), name="connect_payout_schedule"
    ),
    path("connect/login-link", api.LoginLinkApi.as_view(), name="connect_login_link"),
    path("connect/balance", api.BalanceApi.as_view(), name="connect_balance"),
    path("connect/payouts", api.PayoutsApi.as_view(), name="connect_payouts"),
    path("payments/<int:pk>/refund/", api.PaymentRefundApi.as_view(), name="payments_refund"),
    path("invoices/", api.InvoicesApi.as_view(), name="invoices"),
    path("invoices/<int:pk>/pay/", api.InvoicePayApi.as_view(), name="invoices_pay"),
    path("payouts/", api.PayoutRequestsApi.as_view(), name="payouts"),
    path("payouts/received/", api.PayoutsReceivedApi.as_view(), name="payouts_received"),
    path("payouts/<int:pk>/approve/", api.PayoutApproveApi.as_view(), name="payouts_approve"),
    path("payouts/<int:pk>/cancel/", api.PayoutCancelApi.as_view(), name="payouts_cancel"),
    path("payouts/<int:pk>/reverse/", api.PayoutReverseApi.as_view(), name="payouts_reverse"),
    path("payment-methods/", api.PaymentMethodsApi.as_view(), name="payment_methods"),
    path(
        "payment-methods/<int:pk>/",
        api.PaymentMethodDetailApi.as_view(),
        name="payment_methods_detail",
    ),
    path(
        "payment-methods/<int:pk>/default/",
        api.PaymentMethodDefaultApi.as_view(),
        name="payment_methods_default",
    ),
]
