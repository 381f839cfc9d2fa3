from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from marketplace import observability, views

urlpatterns = [
    # The home page is search's front door, so the coaches app serves it.
    path("", include("coaches.home_urls")),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", observability.metrics, name="metrics"),
    path("dev/mail/", views.dev_mail_list, name="dev_mail_list"),
    path("dev/mail/<int:pk>/", views.dev_mail_detail, name="dev_mail_detail"),
    path(
        "dev/mail/<int:pk>/attachments/<int:index>/",
        views.dev_mail_attachment,
        name="dev_mail_attachment",
    ),
    path("accounts/settings/", views.account_settings, name="account_settings"),
    path("accounts/settings/profile/", views.account_profile, name="account_profile"),
    path("accounts/settings/emails/", views.account_emails, name="account_emails"),
    path("accounts/settings/role/", views.account_role, name="account_role"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api_schema"), name="api_docs"),
    path("coaches/", include("coaches.urls")),
    # /bookings/ and the client's /billing/ (bookings is the top money app).
    path("", include("bookings.urls")),
    path("payments/", include("payments.urls")),
    path("messages/", include("messaging.urls")),
    path("community/", include("messaging.community.urls")),
    path("_stripe/", include("payments.sandbox.urls")),
    path("api/", include("marketplace.api_urls")),
]
