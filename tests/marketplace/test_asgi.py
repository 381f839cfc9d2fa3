"""The web process as `make run` serves it: HTTP on a thread pool, the local Stripe over HTTP
from the same process."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from django.core.wsgi import get_wsgi_application
from django.utils import timezone
from rest_framework.authtoken.models import Token

from bookings.models import Booking, BookingStatus
from payments import gateway
from payments.sandbox import controls
from tests.bookings.conftest import stripe_coach
from tests.factories import UserFactory
from tests.messaging.conftest import AsgiServer


@pytest.fixture
def stripe_over_http(transactional_db, settings):
    """The product's `stripe` client talking HTTP to the local Stripe of a server with ONE
    thread for pages, as `make run` does (there with `WEB_THREADS`)."""
    from marketplace.asgi import http_application

    controls.reset()
    _coach, session_type = stripe_coach()  # in-process, before the switch
    server = AsgiServer(http_application(get_wsgi_application(), threads=1)).start()
    settings.SITE_URL = server.url
    settings.STRIPE_SANDBOX_IN_PROCESS = False
    settings.STRIPE_API_BASE = f"{server.url}/_stripe"
    gateway.stripe_client.cache_clear()
    try:
        yield server, session_type
    finally:
        gateway.stripe_client.cache_clear()
        server.stop()


def test_a_hold_gets_its_checkout_session_from_the_local_stripe_of_its_own_server(
    stripe_over_http,
):
    # given: one thread for pages, busy with the hold while it asks /_stripe/ for Checkout
    server, session_type = stripe_over_http
    token = Token.objects.create(user=UserFactory()).key
    starts_at = (timezone.now() + timedelta(days=3)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    # when
    response = requests.post(
        f"{server.url}/api/bookings/",
        json={"session_type": session_type.pk, "starts_at": starts_at.isoformat()},
        headers={"Authorization": f"Token {token}"},
        timeout=20,  # sharing one pool, this would wait for the stripe client's timeout
    )
    # then: the local Stripe answered on its own threads
    assert response.status_code == 201, response.text
    assert response.json()["checkout_url"].startswith(f"{server.url}/_stripe/checkout/")
    assert Booking.objects.get(pk=response.json()["id"]).status == BookingStatus.HELD
