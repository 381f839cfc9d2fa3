"""Acceptance 2 and 3: request conformance and idempotency, through the real stripe library
(in-process) and, once, over real HTTP."""

from __future__ import annotations

import threading

import pytest
import stripe
from django.db import connection, transaction

from payments.sandbox import api, controls
from payments.sandbox.models import IdempotencyKey, StripeObject

AUTH = {"Authorization": "Bearer sk_test_local_sandbox"}


def _session_params(destination: str | None = None) -> dict:
    params: dict = {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {
                    "currency": "usd",
                    "unit_amount": 8000,
                    "product_data": {"name": "Coaching"},
                },
                "quantity": 1,
            }
        ],
        "success_url": "https://example.test/ok",
    }
    if destination:
        params["payment_intent_data"] = {
            "application_fee_amount": 1200,
            "transfer_data": {"destination": destination},
        }
    return params


# --- parameters ----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.stripe_wrong_requests
def test_misspelt_nested_parameter_from_the_product_fails_loudly(stripe_client):
    # given: the product's own client (payments.gateway.stripe_client) and a typo deep inside
    params = _session_params()
    params["payment_intent_data"] = {"trasnfer_data": {"destination": "acct_x"}}
    # when / then
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.checkout.sessions.create(params=params)
    error = caught.value
    assert error.http_status == 400
    assert error.code == "parameter_unknown"
    assert error.param == "payment_intent_data[trasnfer_data]"
    assert "Received unknown parameter: payment_intent_data[trasnfer_data]" in error.user_message
    assert StripeObject.objects.filter(object_type="checkout.session").count() == 0


@pytest.mark.django_db
@pytest.mark.stripe_wrong_requests
def test_unknown_top_level_parameter(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.accounts.create(params={"type": "express", "emial": "a@b.test"})
    assert caught.value.code == "parameter_unknown"
    assert caught.value.param == "emial"


@pytest.mark.django_db
@pytest.mark.stripe_wrong_requests
def test_missing_required_parameters(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.checkout.sessions.create(params={"line_items": []})
    assert caught.value.code == "parameter_missing"
    assert caught.value.param == "mode"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.checkout.sessions.create(params={"mode": "payment"})
    assert caught.value.code == "parameter_missing"
    assert caught.value.param == "line_items"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.account_links.create(params={"type": "account_onboarding"})
    assert (caught.value.code, caught.value.param) == ("parameter_missing", "account")
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.transfers.create(params={"amount": 100, "currency": "usd"})
    assert (caught.value.code, caught.value.param) == ("parameter_missing", "destination")


@pytest.mark.django_db
@pytest.mark.stripe_wrong_requests
def test_wrong_types_are_rejected(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.transfers.create(
            params={"amount": "ten", "currency": "usd", "destination": "acct_x"}
        )
    assert caught.value.code == "parameter_invalid_integer"
    assert caught.value.param == "amount"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.accounts.create(params={"type": "platinum"})
    assert caught.value.param == "type"


@pytest.mark.django_db
def test_bad_api_key_and_unknown_url():
    response = api.handle("GET", "/v1/balance", "", b"", {"Authorization": "Bearer sk_live_x"})
    assert response.status == 401
    assert response.body["error"]["type"] == "invalid_request_error"
    response = api.handle("GET", "/v1/quotes", "", b"", AUTH)
    assert response.status == 404
    assert "Unrecognized request URL" in response.body["error"]["message"]


@pytest.mark.django_db
def test_list_pagination_and_expand(stripe_client):
    ids = [stripe_client.v1.accounts.create(params={"type": "express"}).id for _ in range(5)]
    first = stripe_client.v1.accounts.list(params={"limit": 2})
    assert [a.id for a in first.data] == ids[::-1][:2]
    assert first.has_more
    everything = [a.id for a in first.auto_paging_iter()]
    assert everything == ids[::-1]
    before = stripe_client.v1.accounts.list(params={"limit": 2, "ending_before": ids[2]})
    assert [a.id for a in before.data] == [ids[4], ids[3]]
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.accounts.list(params={"limit": 101})


@pytest.mark.django_db
def test_stripe_account_header_scopes_objects(stripe_client, sandbox):
    account = stripe_client.v1.accounts.create(params={"type": "express"})
    other = stripe_client.v1.accounts.create(params={"type": "express"})
    own = stripe_client.v1.accounts.retrieve(account.id, options={"stripe_account": account.id})
    assert own.id == account.id
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.accounts.retrieve(other.id, options={"stripe_account": account.id})
    assert caught.value.http_status == 404
    with pytest.raises(stripe.PermissionError) as denied:
        stripe_client.v1.balance.retrieve(options={"stripe_account": "acct_unknown000000"})
    assert denied.value.json_body["error"]["code"] == "account_invalid"


# --- idempotency ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_same_key_same_parameters_replays_the_first_response(stripe_client):
    # given
    first = stripe_client.v1.accounts.create(
        params={"type": "express", "email": "a@example.test"},
        options={"idempotency_key": "coach-1-account"},
    )
    # when
    second = stripe_client.v1.accounts.create(
        params={"type": "express", "email": "a@example.test"},
        options={"idempotency_key": "coach-1-account"},
    )
    # then
    assert second.id == first.id
    assert second.last_response.headers["idempotent-replayed"] == "true"
    assert StripeObject.objects.filter(object_type="account").count() == 1


@pytest.mark.django_db
def test_errors_are_replayed_too(stripe_client):
    for _ in range(2):
        with pytest.raises(stripe.InvalidRequestError) as caught:
            stripe_client.v1.refunds.create(
                params={"charge": "ch_missing"}, options={"idempotency_key": "refund-x"}
            )
        assert caught.value.code == "resource_missing"
    assert IdempotencyKey.objects.get(key="refund-x").status_code == 404


@pytest.mark.django_db
def test_same_key_other_parameters_is_an_idempotency_error(stripe_client):
    stripe_client.v1.accounts.create(
        params={"type": "express", "email": "a@example.test"},
        options={"idempotency_key": "coach-2-account"},
    )
    with pytest.raises(stripe.IdempotencyError) as caught:
        stripe_client.v1.accounts.create(
            params={"type": "express", "email": "b@example.test"},
            options={"idempotency_key": "coach-2-account"},
        )
    assert caught.value.http_status == 400
    assert "same parameters" in caught.value.user_message
    with pytest.raises(stripe.IdempotencyError):
        stripe_client.v1.transfers.create(
            params={"amount": 1, "currency": "usd", "destination": "acct_x"},
            options={"idempotency_key": "coach-2-account"},
        )
    assert StripeObject.objects.filter(object_type="account").count() == 1


@pytest.mark.django_db
def test_keys_are_scoped_by_account_and_expire_after_24_hours(stripe_client):
    stripe_client.v1.accounts.create(params={"type": "express"}, options={"idempotency_key": "k"})
    IdempotencyKey.objects.update(
        created_at=IdempotencyKey.objects.get().created_at.replace(year=2000)
    )
    again = stripe_client.v1.accounts.create(
        params={"type": "express", "email": "new@example.test"}, options={"idempotency_key": "k"}
    )
    assert again.email == "new@example.test"
    assert StripeObject.objects.filter(object_type="account").count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_request_while_another_with_the_key_runs_gets_409_in_use():
    # given: a request with the key that has started and not finished (its transaction open)
    started, finish = threading.Event(), threading.Event()
    body = "type=express&email=slow%40example.test"
    headers = {
        **AUTH,
        "Idempotency-Key": "in-flight",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    results = {}

    def slow_request():
        try:
            with transaction.atomic():
                results["first"] = api.handle("POST", "/v1/accounts", "", body, headers)
                started.set()
                finish.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_request)
    thread.start()
    assert started.wait(10)
    # when: the same key arrives meanwhile
    during = api.handle("POST", "/v1/accounts", "", body, headers)
    finish.set()
    thread.join(10)
    # then: Stripe's 409, and once the first finished, the replay
    assert during.status == 409
    assert during.body["error"]["code"] == "idempotency_key_in_use"
    after = api.handle("POST", "/v1/accounts", "", body, headers)
    assert after.status == 200
    assert after.body["id"] == results["first"].body["id"]
    assert after.headers["Idempotent-Replayed"] == "true"
    assert StripeObject.objects.filter(object_type="account").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_library_requests_with_one_key_create_one_object():
    from payments.gateway import stripe_client as product_client

    client = product_client()
    barrier = threading.Barrier(2)
    ids: list[str] = []
    failures: list[BaseException] = []

    def create():
        try:
            barrier.wait(5)
            account = client.v1.accounts.create(
                params={"type": "express", "email": "race@example.test"},
                options={"idempotency_key": "race-key"},
            )
            ids.append(account.id)
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=create) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    # then: as on Stripe, a request whose twin is still running may be answered 409
    # (idempotency_key_in_use) once the library's retries run out; never a second object
    for failure in failures:
        assert getattr(failure, "http_status", None) == 409, failure
    assert len(ids) + len(failures) == 2 and len(set(ids)) == 1
    assert StripeObject.objects.filter(object_type="account").count() == 1


# --- over real HTTP ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_stripe_library_over_http_against_the_running_app(live_server, settings):
    # given: a client like production's, but only the base address differs (real sockets)
    client = stripe.StripeClient(
        api_key=settings.STRIPE_SANDBOX_SECRET_KEY,
        stripe_version=settings.STRIPE_API_VERSION,
        base_addresses={"api": live_server.url + "/_stripe"},
    )
    # when
    account = client.v1.accounts.create(
        params={
            "type": "express",
            "metadata": {"coach": "1"},
            "capabilities": {"transfers": {"requested": True}},
        },
        options={"idempotency_key": "http-1"},
    )
    controls.complete_onboarding(account.id)
    session = client.v1.checkout.sessions.create(params=_session_params(account.id))
    controls.pay_checkout_session(session.id)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.accounts.create(params={"type": "express", "colour": "red"})
    # then
    assert caught.value.code == "parameter_unknown"
    session = client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["payment_intent"]}
    )
    assert session.payment_intent.status == "succeeded"
    balance = client.v1.balance.retrieve(options={"stripe_account": account.id})
    assert balance.pending[0].amount == 8000 - 1200


@pytest.mark.django_db
def test_keys_expire_with_the_sandbox_clock(stripe_client):
    first = stripe_client.v1.accounts.create(
        params={"type": "express"}, options={"idempotency_key": "aging"}
    )
    controls.advance_clock(23 * 3600)
    again = stripe_client.v1.accounts.create(
        params={"type": "express"}, options={"idempotency_key": "aging"}
    )
    assert again.id == first.id
    controls.advance_clock(3600 + 5)
    later = stripe_client.v1.accounts.create(
        params={"type": "express"}, options={"idempotency_key": "aging"}
    )
    assert later.id != first.id


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "query", "body"),
    [
        ("GET", "/v1/accounts", "created[gt]=soon", ""),
        ("GET", "/v1/accounts", "created[between]=1", ""),
        ("GET", "/v1/accounts", "limit=many", ""),
        ("GET", "/v1/accounts", "starting_after=acct_nope", ""),
        ("POST", "/v1/accounts", "", "type=express&metadata=notadict"),
        ("POST", "/v1/accounts", "", "capabilities[transfers]=yes"),
        ("POST", "/v1/accounts", "", "type]=express"),
        ("POST", "/v1/checkout/sessions", "", "mode=payment&line_items[0][quantity]=1"),
        ("POST", "/v1/checkout/sessions", "", "mode=payment&line_items=x"),
        ("POST", "/v1/refunds", "", "charge=ch_1&amount=-5"),
        ("POST", "/v1/transfers", "", "amount=0&currency=usd&destination=acct_x"),
        ("POST", "/v1/transfers/tr_nope/reversals", "", ""),
        ("GET", "/v1/balance_transactions/txn_nope", "", ""),
        ("POST", "/v1/accounts", "", b"\xff\xfe"),
        ("PATCH", "/v1/accounts", "", ""),
    ],
)
def test_bad_requests_get_a_stripe_error_never_a_500(method, path, query, body):
    response = api.handle(
        method, path, query, body, {**AUTH, "Content-Type": "application/x-www-form-urlencoded"}
    )
    assert 400 <= response.status < 500, response.body
    assert response.body["error"]["type"] == "invalid_request_error"
    assert response.body["error"]["message"]
