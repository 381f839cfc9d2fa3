"""Stripe's webhook deliveries are answered ahead of the site's middleware.

A delivery needs none of what a page does (session, CSRF, authentication, time zone, the
Content-Security-Policy, htmx, allauth, staff's second factor, the request's log context and
django-prometheus' per-view figures): it is a signed body from Stripe, verified by the view.
Through the whole stack it cost about twice the CPU of the view itself (docs/webhooks.md,
"Receiving fast"). First in ``MIDDLEWARE``, this middleware sends the two endpoints' requests
straight to their views, which keep their own checks (``require_POST``; ``csrf_exempt``
although no CSRF check runs here); every other request goes on through the stack unchanged.
Deliveries are counted in ``coach_connect_webhook_deliveries_total`` instead of
django-prometheus' request metrics.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from prometheus_client import Counter

from payments import views

DELIVERIES = Counter(
    "coach_connect_webhook_deliveries",
    "Stripe webhook deliveries answered by this web process, by endpoint and status code.",
    ["endpoint", "code"],
)

# Where the endpoints live (payments/urls.py, mounted at /payments/): only requests under it
# are looked up, once per path and URLconf.
PREFIX = "/payments/webhooks/"


View = Callable[[HttpRequest], HttpResponse]


@lru_cache(maxsize=32)
def _endpoint_view(urlconf: str, path: str) -> tuple[str, View] | None:
    """The endpoint and view a path resolves to when it is one of the webhook endpoints; None
    for anything else (a test's URLconf may serve its own receiver at the same path)."""
    try:
        match = resolve(path, urlconf)
    except Resolver404:
        return None
    endpoints = {views.webhook_platform: "platform", views.webhook_connect: "connect"}
    endpoint = endpoints.get(match.func)
    return None if endpoint is None else (endpoint, match.func)


class WebhookReceiptMiddleware:
    def __init__(self, get_response: View) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        route = _endpoint_view(settings.ROOT_URLCONF, path) if path.startswith(PREFIX) else None
        if route is None:
            return self.get_response(request)
        endpoint, view = route
        response = view(request)
        DELIVERIES.labels(endpoint, str(response.status_code)).inc()
        return response
