"""A test URLconf: the whole site plus two webhook receivers that verify signatures with the
official library and keep what they received (the product's own receivers live in payments)."""

from __future__ import annotations

import json

import stripe
from django.conf import settings
from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

RECEIVED: list[dict] = []
FAIL_NEXT: list[int] = []


def _receiver(endpoint: str, secret_setting: str):
    @csrf_exempt
    def receive(request):
        if FAIL_NEXT:
            return HttpResponse(status=FAIL_NEXT.pop(0))
        try:
            event = stripe.Webhook.construct_event(
                request.body.decode(),
                request.headers.get("Stripe-Signature", ""),
                getattr(settings, secret_setting)[0],
            )
        except (ValueError, stripe.SignatureVerificationError):
            return HttpResponse(status=400)
        RECEIVED.append(
            {
                "endpoint": endpoint,
                "event": json.loads(request.body),
                "body": request.body.decode(),
                "signature": request.headers["Stripe-Signature"],
            }
        )
        assert event.id == RECEIVED[-1]["event"]["id"]
        return HttpResponse(status=200)

    return receive


urlpatterns = [
    path(
        "payments/webhooks/stripe/connect/",
        _receiver("connect", "STRIPE_CONNECT_WEBHOOK_SECRETS"),
    ),
    path("payments/webhooks/stripe/", _receiver("platform", "STRIPE_WEBHOOK_SECRETS")),
    path("", include("marketplace.urls")),
]
