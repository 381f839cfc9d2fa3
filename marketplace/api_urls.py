"""Every app's API routes under /api/."""

from django.urls import include, path

urlpatterns = [
    path("", include("coaches.api_urls")),
    path("", include("bookings.api_urls")),
    path("", include("payments.api_urls")),
    path("", include("messaging.api_urls")),
]
