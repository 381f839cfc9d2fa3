"""The local Stripe's own server (``payments.sandbox.asgi``, as the benchmarks run it): the
``stripe`` library's requests answered by ``api.handle`` without the site's middleware, its
hosted pages through Django, anything else 404."""

from __future__ import annotations

import pytest
import requests
import stripe
from django.conf import settings
from django.core.wsgi import get_wsgi_application

from payments.sandbox import controls
from payments.sandbox.asgi import local_stripe_application
from tests.messaging.conftest import AsgiServer


@pytest.fixture
def server(transactional_db):
    controls.reset()
    started = AsgiServer(local_stripe_application(get_wsgi_application(), 2)).start()
    yield started
    started.stop()


def _client(server) -> stripe.StripeClient:
    base = f"{server.url}/_stripe"
    return stripe.StripeClient(
        api_key=settings.STRIPE_SANDBOX_SECRET_KEY,
        stripe_version=settings.STRIPE_API_VERSION,
        base_addresses={"api": base, "connect": base, "files": base},
    )


def test_the_library_talks_to_the_server_as_to_stripe(server):
    client = _client(server)
    # when: a customer is made twice with one idempotency key
    first = client.v1.customers.create(
        params={"email": "ada@example.com"}, options={"idempotency_key": "c-1"}
    )
    again = client.v1.customers.create(
        params={"email": "ada@example.com"}, options={"idempotency_key": "c-1"}
    )
    # then: one customer, the second answer replayed, Stripe's headers on both
    assert again.id == first.id
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert first.last_response.headers["Request-Id"].startswith("req_")
    assert first.last_response.headers["Idempotency-Key"] == "c-1"
    assert client.v1.customers.retrieve(first.id).email == "ada@example.com"


def test_errors_are_stripes(server):
    # a wrong key: 401, as Stripe answers it
    wrong = requests.get(
        f"{server.url}/_stripe/v1/customers", headers={"Authorization": "Bearer sk_test_nope"}
    )
    assert wrong.status_code == 401
    assert wrong.headers["Content-Type"] == "application/json"
    assert "Invalid API Key" in wrong.json()["error"]["message"]
    # an unknown parameter: the library raises Stripe's error
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        _client(server).v1.customers.create(params={"colour": "red"})  # type: ignore[typeddict-unknown-key]
    assert unknown.value.code == "parameter_unknown"


def test_pages_go_through_django_and_other_paths_are_not_found(server):
    assert requests.get(f"{server.url}/_stripe/checkout/cs_test_missing/").status_code == 404
    developer = requests.get(f"{server.url}/_stripe/")
    assert developer.status_code in (200, 302, 403)
    assert requests.get(f"{server.url}/api/bookings/").status_code == 404
