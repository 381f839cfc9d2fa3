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


def _hold(server, session_type, token: str, day: int, hour: int = 10) -> requests.Response:
    starts_at = (timezone.now() + timedelta(days=day)).replace(
        hour=hour, minute=0, second=0, microsecond=0
    )
    return requests.post(
        f"{server.url}/api/bookings/",
        json={"session_type": session_type.pk, "starts_at": starts_at.isoformat()},
        headers={"Authorization": f"Token {token}"},
        timeout=30,
    )


def test_a_hold_whose_checkout_session_fails_is_freed_and_answered_503(stripe_over_http, settings):
    from payments.gateway import client

    # given: Stripe cannot be reached
    server, session_type = stripe_over_http
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{_closed_port()}/_stripe"
    client._async_clients.clear()
    token = Token.objects.create(user=UserFactory()).key
    # when
    response = _hold(server, session_type, token, day=4)
    # then: the same answer as on the thread path, and the slot is free again
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "payment_unavailable"
    (booking,) = Booking.objects.all()
    assert booking.status == BookingStatus.EXPIRED


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_holds_waiting_on_stripe_hold_no_thread(transactional_db, settings):
    """With ONE thread for pages and Stripe answering after a second, four holds at once end
    in about a second, not four: none keeps the thread while Stripe answers."""
    import threading
    import time

    from marketplace.asgi import http_application
    from payments.gateway import client
    from payments.sandbox.asgi import local_stripe_application

    # given: the local Stripe in a server of its own, answering each request after 1 s
    controls.reset()
    _coach, session_type = stripe_coach()
    controls.set_latency(1000, 1000)
    stripe_server = AsgiServer(local_stripe_application(get_wsgi_application(), 4)).start()
    server = AsgiServer(http_application(get_wsgi_application(), threads=1)).start()
    settings.SITE_URL = server.url
    settings.STRIPE_SANDBOX_IN_PROCESS = False
    settings.STRIPE_API_BASE = f"{stripe_server.url}/_stripe"
    gateway.stripe_client.cache_clear()
    client._async_clients.clear()
    tokens = [Token.objects.create(user=UserFactory()).key for _ in range(4)]
    statuses: list[int] = []
    try:
        # when: four clients hold four slots at once
        began = time.monotonic()
        threads = [
            threading.Thread(
                target=lambda i=i: statuses.append(
                    _hold(server, session_type, tokens[i], day=5, hour=8 + i).status_code
                )
            )
            for i in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - began
    finally:
        controls.set_latency(None)
        gateway.stripe_client.cache_clear()
        client._async_clients.clear()
        server.stop()
        stripe_server.stop()
    # then: all held, in far less than four Stripe answers one after another
    assert statuses == [201] * 4
    assert elapsed < 3.5, elapsed
    assert Booking.objects.filter(status=BookingStatus.HELD).count() == 4
