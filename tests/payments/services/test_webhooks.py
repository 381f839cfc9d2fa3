"""The webhook inbox: verification, insert-or-ignore, processing once, order, retries."""

from __future__ import annotations

import json
import threading
import time

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test import Client

from coaches.models import CoachProfile
from payments.handlers import HANDLERS, PLATFORM, handler_for, handles
from payments.models import (
    AccountState,
    AccountStateChange,
    ConnectedAccount,
    StaffAlert,
    WebhookEndpoint,
    WebhookEvent,
    WebhookEventStatus,
)
from payments.sandbox import controls, events
from payments.services import accounts as services
from payments.tasks import sweep_webhook_events
from tests.payments.conftest import make_account

CONNECT_URL = "/payments/webhooks/stripe/connect/"
PLATFORM_URL = "/payments/webhooks/stripe/"


def _event(event_type: str, obj: dict, *, account: str = "", event_id: str = "") -> str:
    body = {
        "id": event_id or f"evt_test_{time.monotonic_ns()}",
        "object": "event",
        "api_version": settings.STRIPE_API_VERSION,
        "created": int(time.time()),
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }
    if account:
        body["account"] = account
    return json.dumps(body)


def _post(client: Client, url: str, payload: str, secret: str):
    return client.post(
        url,
        data=payload,
        content_type="application/json",
        headers={"Stripe-Signature": events.sign(payload, secret)},
    )


def test_bad_signature_is_400_and_nothing_is_stored(stripe_local, client, settings):
    payload = _event("account.updated", {"id": "acct_x", "object": "account"}, account="acct_x")
    # signed with the wrong secret
    response = _post(client, CONNECT_URL, payload, "whsec_wrong")
    assert response.status_code == 400
    # signed for the other endpoint
    response = _post(client, CONNECT_URL, payload, settings.STRIPE_WEBHOOK_SECRETS[0])
    assert response.status_code == 400
    # no signature at all, and a tampered body
    assert (
        client.post(CONNECT_URL, data=payload, content_type="application/json").status_code == 400
    )
    signature = events.sign(payload, settings.STRIPE_CONNECT_WEBHOOK_SECRETS[0])
    tampered = payload.replace("acct_x", "acct_y")
    response = client.post(
        CONNECT_URL,
        data=tampered,
        content_type="application/json",
        headers={"Stripe-Signature": signature},
    )
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def test_a_stale_signature_is_refused(stripe_local, client, settings):
    payload = _event("account.updated", {"id": "acct_x", "object": "account"}, account="acct_x")
    old = events.sign(payload, settings.STRIPE_CONNECT_WEBHOOK_SECRETS[0], int(time.time()) - 3600)
    response = client.post(
        CONNECT_URL,
        data=payload,
        content_type="application/json",
        headers={"Stripe-Signature": old},
    )
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def test_get_is_not_allowed(client):
    assert client.get(PLATFORM_URL).status_code == 405


def test_unknown_event_type_is_200_and_ignored(
    stripe_local, client, settings, django_capture_on_commit_callbacks
):
    payload = _event("customer.created", {"id": "cus_1", "object": "customer"})
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, PLATFORM_URL, payload, settings.STRIPE_WEBHOOK_SECRETS[0])
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEventStatus.IGNORED
    assert event.endpoint == WebhookEndpoint.PLATFORM
    assert event.attempts == 1


def test_event_for_an_unknown_account_is_retried_then_processed(
    stripe_local, connect_coach, django_capture_on_commit_callbacks
):
    # given: the account exists at Stripe and onboarding completes there, but our row does not
    # know the Stripe id yet (as when account.updated outruns the create's commit)
    account = make_account(connect_coach)
    stripe_id = account.stripe_account_id
    ConnectedAccount.objects.filter(pk=account.pk).update(stripe_account_id=None)
    with django_capture_on_commit_callbacks(execute=True):
        controls.complete_onboarding(stripe_id, "complete")
    # then: the event is kept, waiting to retry, not dropped
    event = WebhookEvent.objects.get(type="account.updated")
    assert event.status == WebhookEventStatus.RETRYING
    assert "no connected account" in event.last_error
    assert event.next_attempt_at is not None
    # when: the row learns its id and the retry comes due (the sweeper re-queues it)
    ConnectedAccount.objects.filter(pk=account.pk).update(stripe_account_id=stripe_id)
    WebhookEvent.objects.filter(pk=event.pk).update(
        next_attempt_at=event.next_attempt_at - __import__("datetime").timedelta(hours=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_webhook_events() == 1
    event.refresh_from_db()
    assert event.status == WebhookEventStatus.SUCCEEDED
    assert event.attempts == 2
    account.refresh_from_db()
    assert account.state == AccountState.ACTIVE


def test_failures_end_failed_after_the_last_attempt_with_a_staff_alert(
    stripe_local, client, settings, django_capture_on_commit_callbacks
):
    from payments.services import webhooks

    payload = _event(
        "account.updated", {"id": "acct_nobody", "object": "account"}, account="acct_nobody"
    )
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, CONNECT_URL, payload, settings.STRIPE_CONNECT_WEBHOOK_SECRETS[0])
    event = WebhookEvent.objects.get()
    for _ in range(webhooks.MAX_ATTEMPTS - 1):
        with django_capture_on_commit_callbacks(execute=True):
            webhooks.webhook_event_process(event_id=event.pk)
    event.refresh_from_db()
    assert event.status == WebhookEventStatus.FAILED
    assert event.attempts == webhooks.MAX_ATTEMPTS
    assert StaffAlert.objects.filter(kind=StaffAlert.Kind.WEBHOOK_FAILED).exists()
    # a failed event is not processed again by itself
    assert webhooks.webhook_event_process(event_id=event.pk) is None
    # replay from admin runs it again
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.webhook_event_replay(event=event)
    event.refresh_from_db()
    assert event.attempts == webhooks.MAX_ATTEMPTS + 1


def test_older_account_updated_after_a_newer_one_does_not_move_state_back(
    stripe_local, connect_coach, django_capture_on_commit_callbacks
):
    # given: an active coach; Stripe restricts the account, then it is fixed, with the
    # events held back
    with django_capture_on_commit_callbacks(execute=True):
        account = make_account(connect_coach, outcome="complete")
    account.refresh_from_db()
    assert account.state == AccountState.ACTIVE
    controls.pause_deliveries()
    controls.update_account(account.stripe_account_id, past_due=["external_account"])
    controls.verify_account(account.stripe_account_id)
    older, newer = [e for e in controls.pending_events() if e["type"] == "account.updated"]
    assert older["data"]["object"]["charges_enabled"] is False
    assert newer["data"]["object"]["charges_enabled"] is True
    # when: the newer arrives first, then the older
    with django_capture_on_commit_callbacks(execute=True):
        assert controls.deliver_pending_events(order=[newer["id"], older["id"]]) == [200, 200]
    # then: the account is what Stripe says now; the late event moved nothing
    account.refresh_from_db()
    assert account.state == AccountState.ACTIVE
    assert CoachProfile.objects.get(user=connect_coach).is_bookable
    assert not account.state_changes.filter(to_state=AccountState.RESTRICTED).exists()
    assert set(
        WebhookEvent.objects.filter(type="account.updated").values_list("status", flat=True)
    ) == {WebhookEventStatus.SUCCEEDED}


def test_duplicate_deliveries_are_stored_and_processed_once(
    stripe_local, connect_coach, django_capture_on_commit_callbacks
):
    account = make_account(connect_coach)
    controls.pause_deliveries()
    controls.complete_onboarding(account.stripe_account_id, "complete")
    (event,) = [e for e in controls.pending_events() if e["type"] == "account.updated"]
    with django_capture_on_commit_callbacks(execute=True):
        statuses = controls.deliver_pending_events(order=[event["id"]] * 5)
    assert statuses == [200] * 5
    stored = WebhookEvent.objects.get(stripe_event_id=event["id"])
    assert stored.attempts == 1
    assert stored.status == WebhookEventStatus.SUCCEEDED
    account.refresh_from_db()
    assert account.state_changes.filter(to_state=AccountState.ACTIVE).count() == 1


@pytest.mark.django_db(transaction=True)
def test_same_event_ten_times_five_at_once_changes_state_once(settings):
    from tests.coaches.factories import CoachProfileFactory

    settings.SITE_URL = "http://testserver"
    controls.reset()
    controls.register_default_endpoints("http://testserver")
    coach = CoachProfileFactory(is_approved=True, can_take_charges=False).user
    account = make_account(coach)
    controls.pause_deliveries()
    controls.complete_onboarding(account.stripe_account_id, "complete")
    (event,) = [e for e in controls.pending_events() if e["type"] == "account.updated"]
    payload = events.payload_for(event["id"])
    secret = settings.STRIPE_CONNECT_WEBHOOK_SECRETS[0]
    statuses: list[int] = []
    barrier = threading.Barrier(5)

    def deliver(wait: bool) -> None:
        try:
            if wait:
                barrier.wait()
            statuses.append(_post(Client(), CONNECT_URL, payload, secret).status_code)
        finally:
            connection.close()

    # when: five deliveries at the same moment ...
    threads = [threading.Thread(target=deliver, args=(True,)) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # ... and five more one after another
    for _ in range(5):
        deliver(False)
    # then: all answered 2xx, one row, processed once, one state change
    assert statuses == [200] * 10
    stored = WebhookEvent.objects.get(stripe_event_id=event["id"])
    assert stored.status == WebhookEventStatus.SUCCEEDED
    assert stored.attempts == 1
    assert (
        AccountStateChange.objects.filter(account=account, to_state=AccountState.ACTIVE).count()
        == 1
    )
    assert CoachProfile.objects.get(user=coach).is_bookable


def test_deauthorization_makes_the_coach_unbookable_and_alerts_staff(
    active_account, connect_coach, django_capture_on_commit_callbacks, settings
):
    from django.core import mail

    settings.STAFF_ALERT_EMAILS = ["ops@example.test"]
    mail.outbox.clear()
    assert CoachProfile.objects.get(user=connect_coach).is_bookable
    # when: the coach disconnects the platform in Stripe
    with django_capture_on_commit_callbacks(execute=True):
        controls.update_account(active_account.stripe_account_id, deauthorize=True)
    # then
    event = WebhookEvent.objects.get(type="account.application.deauthorized")
    assert event.status == WebhookEventStatus.SUCCEEDED
    assert event.endpoint == WebhookEndpoint.CONNECT
    active_account.refresh_from_db()
    assert active_account.state == AccountState.DEAUTHORIZED
    assert active_account.deauthorized_at is not None
    assert not CoachProfile.objects.get(user=connect_coach).is_bookable
    alert = StaffAlert.objects.get(kind=StaffAlert.Kind.ACCOUNT_DEAUTHORIZED)
    assert alert.account == active_account
    assert any(
        "ops@example.test" in m.to and "deauthorized" in m.subject.lower() for m in mail.outbox
    )
    assert any(connect_coach.email in m.to for m in mail.outbox)
    # a later poll or account.updated cannot bring it back
    services.connected_account_refresh(account=active_account)
    active_account.refresh_from_db()
    assert active_account.state == AccountState.DEAUTHORIZED


def test_capability_updated_refreshes_the_account(
    stripe_local, connect_coach, client, settings, django_capture_on_commit_callbacks
):
    account = make_account(connect_coach)
    controls.pause_deliveries()
    controls.complete_onboarding(account.stripe_account_id, "complete")
    payload = _event(
        "capability.updated",
        {"id": "card_payments", "object": "capability", "account": account.stripe_account_id},
        account=account.stripe_account_id,
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, CONNECT_URL, payload, settings.STRIPE_CONNECT_WEBHOOK_SECRETS[0])
    assert response.status_code == 200
    account.refresh_from_db()
    assert account.state == AccountState.ACTIVE


def test_registering_a_handler_from_another_module(
    stripe_local, client, settings, django_capture_on_commit_callbacks
):
    seen: list[str] = []

    @handles("test.thing.*")
    def handle_test_thing(event):
        seen.append(event.object_id)

    try:
        assert handler_for(PLATFORM, "test.thing.happened") is handle_test_thing
        # the same function registered twice (a module imported twice) is fine
        handles("test.thing.*")(handle_test_thing)
        # a different function for the same type is a configuration error
        with pytest.raises(Exception, match="already has the handler"):
            handles("test.thing.*")(lambda event: None)
        payload = _event("test.thing.happened", {"id": "thing_1", "object": "thing"})
        with django_capture_on_commit_callbacks(execute=True):
            _post(client, PLATFORM_URL, payload, settings.STRIPE_WEBHOOK_SECRETS[0])
        assert seen == ["thing_1"]
        assert WebhookEvent.objects.get().status == WebhookEventStatus.SUCCEEDED
    finally:
        HANDLERS[PLATFORM].pop("test.thing.*", None)


def test_a_handler_runs_outside_any_transaction_and_its_error_is_retried(
    stripe_local, client, settings, connect_coach, django_capture_on_commit_callbacks
):
    """The handler waits on Stripe with no transaction open (the event is claimed and
    committed first); its writes are atomic on their own, so a failing one leaves nothing
    and the event is retried."""
    from payments.sandbox.transaction_check import open_transactions

    open_while_handling: list[list[str]] = []

    @handles("test.broken")
    def handle_test_broken(event):
        open_while_handling.append(open_transactions())
        with transaction.atomic():
            ConnectedAccount.objects.create(coach=connect_coach)
            raise RuntimeError("boom")

    try:
        payload = _event("test.broken", {"id": "x_1", "object": "thing"})
        with django_capture_on_commit_callbacks(execute=True):
            assert (
                _post(client, PLATFORM_URL, payload, settings.STRIPE_WEBHOOK_SECRETS[0]).status_code
                == 200
            )
        event = WebhookEvent.objects.get()
        assert open_while_handling == [[]]
        assert event.status == WebhookEventStatus.RETRYING
        assert event.attempts == 1
        assert "RuntimeError: boom" in event.last_error
        assert not ConnectedAccount.objects.exists()
    finally:
        HANDLERS[PLATFORM].pop("test.broken", None)


def test_an_event_claimed_by_a_live_worker_is_left_alone_until_the_claim_expires(
    stripe_local, client, settings
):
    from datetime import timedelta

    from django.utils import timezone

    from payments.services import webhooks as inbox

    seen: list[str] = []

    @handles("test.claimed")
    def handle_test_claimed(event):
        seen.append(event.stripe_event_id)

    try:
        # given: an event another worker claimed a moment ago (its handler still running)
        payload = _event("test.claimed", {"id": "x_2", "object": "thing"})
        _post(client, PLATFORM_URL, payload, settings.STRIPE_WEBHOOK_SECRETS[0])
        event = WebhookEvent.objects.get()
        WebhookEvent.objects.filter(pk=event.pk).update(
            status=WebhookEventStatus.PROCESSING, processing_started_at=timezone.now(), attempts=1
        )
        # when / then: a second worker walks away
        assert inbox.webhook_event_process(event_id=event.pk) is None
        assert seen == []
        # when: the claim is older than a live worker's (the first one died)
        WebhookEvent.objects.filter(pk=event.pk).update(
            processing_started_at=timezone.now() - inbox.CLAIM_EXPIRES - timedelta(seconds=1)
        )
        # then: it is processed, and the sweeper would have re-queued it
        assert inbox.webhook_event_process(event_id=event.pk) == WebhookEventStatus.SUCCEEDED
        assert seen == [event.stripe_event_id]
        assert WebhookEvent.objects.get(pk=event.pk).attempts == 2
    finally:
        HANDLERS[PLATFORM].pop("test.claimed", None)


def test_deauthorization_with_the_webhook_lost_is_found_by_the_next_refresh(
    active_account, connect_coach, django_capture_on_commit_callbacks
):
    # given: the coach disconnects the platform and the event never arrives
    controls.pause_deliveries()
    controls.update_account(active_account.stripe_account_id, deauthorize=True)
    assert not WebhookEvent.objects.filter(type="account.application.deauthorized").exists()
    # when: the poller (or anyone) re-reads the account
    with django_capture_on_commit_callbacks(execute=True):
        services.connected_account_refresh(account=active_account)
    # then: Stripe refuses us the account, which means access was revoked
    active_account.refresh_from_db()
    assert active_account.state == AccountState.DEAUTHORIZED
    assert not CoachProfile.objects.get(user=connect_coach).is_bookable
    assert StaffAlert.objects.filter(kind=StaffAlert.Kind.ACCOUNT_DEAUTHORIZED).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_locked_inbox_answers_503_so_stripe_retries(settings, monkeypatch):
    import psycopg

    from payments.services import webhooks

    monkeypatch.setattr(webhooks, "RECEIVE_LOCK_TIMEOUT_MS", 200)
    payload = _event("customer.created", {"id": "cus_1", "object": "customer"})
    db = connection.settings_dict
    # given: another session holds the inbox table locked
    with psycopg.connect(
        host=db["HOST"],
        port=db["PORT"] or 5432,
        user=db["USER"],
        dbname=db["NAME"],
        password=db["PASSWORD"] or None,
    ) as other:
        other.execute(f"LOCK TABLE {WebhookEvent._meta.db_table} IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        response = _post(Client(), PLATFORM_URL, payload, settings.STRIPE_WEBHOOK_SECRETS[0])
        waited = time.monotonic() - started
        other.rollback()
    # then: a quick 503, and the delivery goes through once the lock is gone
    assert response.status_code == 503
    assert waited < 5
    response = _post(Client(), PLATFORM_URL, payload, settings.STRIPE_WEBHOOK_SECRETS[0])
    assert response.status_code == 200
    assert WebhookEvent.objects.count() == 1


def test_account_updated_about_the_platform_itself_is_not_retried(
    stripe_local, client, settings, django_capture_on_commit_callbacks
):
    payload = _event("account.updated", {"id": "acct_platform", "object": "account"})
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, PLATFORM_URL, payload, settings.STRIPE_WEBHOOK_SECRETS[0])
    # not in the platform endpoint's table: the platform's own account is not a coach's
    assert WebhookEvent.objects.get().status == WebhookEventStatus.IGNORED
