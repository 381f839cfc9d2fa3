from django.urls import path, re_path

from payments.sandbox import views

app_name = "stripe_sandbox"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    re_path(r"^v1/(?P<path>.*)$", views.api_view, name="api"),
    path("connect/onboarding/<str:token>/", views.onboarding, name="onboarding"),
    path("express/<str:token>/", views.express_dashboard, name="express"),
    path("checkout/<str:session_id>/", views.checkout, name="checkout"),
    path("invoices/<str:secret>/", views.hosted_invoice, name="invoice"),
    path("invoices/<str:secret>/pdf/", views.hosted_invoice_pdf, name="invoice_pdf"),
    path(
        "billing_portal/session/<str:secret>/",
        views.billing_portal_session,
        name="billing_portal",
    ),
    path(
        "setup_intents/<str:setup_intent_id>/authenticate/",
        views.setup_intent_authenticate,
        name="setup_intent_authenticate",
    ),
    path(
        "checkout/<str:session_id>/authenticate/",
        views.checkout_authenticate,
        name="checkout_authenticate",
    ),
]
