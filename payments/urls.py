from django.urls import path

from payments import views

app_name = "payments"
urlpatterns = [
    path("setup/", views.connect_setup, name="connect_setup"),
    path("setup/start/", views.connect_start, name="connect_start"),
    path("setup/continue/", views.connect_continue, name="connect_continue"),
    path("setup/refresh/", views.connect_refresh, name="connect_refresh"),
    path("setup/return/", views.connect_return, name="connect_return"),
    path("setup/dashboard/", views.connect_dashboard, name="connect_dashboard"),
    path("setup/payout-schedule/", views.payout_schedule, name="payout_schedule"),
    path("setup/business-profile/", views.business_profile, name="business_profile"),
    path("earnings/", views.earnings, name="earnings"),
    path("earnings.csv", views.earnings_csv, name="earnings_csv"),
    path("received/", views.payments_received, name="payments_received"),
    path("invoices/<int:pk>/pdf/", views.invoice_pdf, name="invoice_pdf"),
    path("payee/<str:token>/", views.payee_invitation, name="payee_invitation"),
    path("webhooks/stripe/", views.webhook_platform, name="webhook_platform"),
    path("webhooks/stripe/connect/", views.webhook_connect, name="webhook_connect"),
]
