"""Every app's API routes under /api/."""

from django.urls import include, path, re_path

from marketplace import api

urlpatterns = [
    path("", include("coaches.api_urls")),
    path("", include("bookings.api_urls")),
    path("", include("payments.api_urls")),
    path("", include("messaging.api_urls")),
    path("", include("messaging.community.api_urls")),
    # Last: anything else under /api/ is the API's JSON 404, not the site's HTML page.
    re_path(r"", api.not_found, name="api_not_found"),
]
