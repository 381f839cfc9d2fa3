"""Admin: connected accounts with the funnel and a refresh action, alerts, webhook replay,
and why an ignored webhook event was ignored."""

from __future__ import annotations

import pytest
from django.urls import reverse

from payments.models import (
    AccountState,
    ConnectedAccount,
    StaffAlert,
    WebhookEvent,
    WebhookEventStatus,
    WebhookIgnoredReason,
)
from payments.sandbox import controls, events
from tests.factories import UserFactory
from tests.mfa import sign_in_with_totp
from tests.payments.conftest import make_account
from tests.payments.services.test_webhook_endpoints import (
    CONNECT_URL,
    PLATFORM_URL,
    _payload,
    _post,
)


@pytest.fixture
def staff_client(client, db):
    sign_in_with_totp(client, UserFactory(is_staff=True, is_superuser=True))
    return client


def test_funnel_alert_badge_and_refresh_action(staff_client, stripe_local, connect_coach):
    # given: one account the webhook never told about its completed onboarding
    account = make_account(connect_coach)
    controls.pause_deliveries()
    controls.complete_onboarding(account.stripe_account_id, "complete")
    StaffAlert.objects.create(kind=StaffAlert.Kind.OTHER, message="look at me")
    url = reverse("admin:payments_connectedaccount_changelist")
    page = staff_client.get(url).content.decode()
    assert 'id="onboarding-funnel"' in page
    assert (
        '<tr data-state="onboarding"><td><a href="?state=onboarding">Onboarding</a></td><td>1</td>'
        in page
    )
    assert 'id="open-alerts">1<' in page
    assert "no account active yet" in page
    # the admin index shows the open alerts as a badge on the model
    assert "Staff alerts (1 open)" in staff_client.get(reverse("admin:index")).content.decode()
    # when: staff refresh it from Stripe
    response = staff_client.post(
        url,
        {"action": "refresh_from_stripe", "_selected_action": [account.pk]},
        follow=True,
    )
    assert b"Refreshed 1 account(s) from Stripe." in response.content
    account.refresh_from_db()
    assert account.state == AccountState.ACTIVE
    assert account.state_changes.filter(source="admin", to_state=AccountState.ACTIVE).exists()
    page = staff_client.get(url).content.decode()
    assert "Median time from created to active:" in page
    assert "over 1 account" in page
    # state filter and the detail page with requirements in words
    assert staff_client.get(url + "?state=active").status_code == 200
    detail = staff_client.get(reverse("admin:payments_connectedaccount_change", args=[account.pk]))
    assert detail.status_code == 200


def test_resolving_alerts_clears_the_badge(staff_client, db):
    alert = StaffAlert.objects.create(kind=StaffAlert.Kind.OTHER, message="x")
    staff_client.post(
        reverse("admin:payments_staffalert_changelist"),
        {"action": "resolve", "_selected_action": [alert.pk]},
    )
    alert.refresh_from_db()
    assert alert.resolved_at is not None
    assert "Staff alerts (" not in staff_client.get(reverse("admin:index")).content.decode()


def test_replay_from_admin_processes_the_event_again(
    staff_client, stripe_local, connect_coach, django_capture_on_commit_callbacks
):
    # given: an account.updated that failed because the account was unknown at the time
    account = make_account(connect_coach)
    stripe_id = account.stripe_account_id
    ConnectedAccount.objects.filter(pk=account.pk).update(stripe_account_id=None)
    with django_capture_on_commit_callbacks(execute=True):
        controls.complete_onboarding(stripe_id, "complete")
    event = WebhookEvent.objects.get(type="account.updated")
    WebhookEvent.objects.filter(pk=event.pk).update(status=WebhookEventStatus.FAILED)
    ConnectedAccount.objects.filter(pk=account.pk).update(stripe_account_id=stripe_id)
    changelist = staff_client.get(
        reverse("admin:payments_webhookevent_changelist") + "?status=failed"
    )
    assert event.stripe_event_id in changelist.content.decode()
    # when
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(
            reverse("admin:payments_webhookevent_changelist"),
            {"action": "replay", "_selected_action": [event.pk]},
        )
    # then
    event.refresh_from_db()
    assert event.status == WebhookEventStatus.SUCCEEDED
    assert event.attempts == 2
    account.refresh_from_db()
    assert account.state == AccountState.ACTIVE


def test_non_staff_cannot_see_payments_admin(client, connect_coach):
    client.force_login(connect_coach)
    response = client.get(reverse("admin:payments_webhookevent_changelist"))
    assert response.status_code == 302


def test_an_ignored_event_shows_why_it_was_ignored(
    staff_client, stripe_local, django_capture_on_commit_callbacks, settings
):
    # given: three events the product does not process, for three different reasons
    platform_secret = settings.STRIPE_WEBHOOK_SECRETS[0]
    sent = {
        "live": (
            CONNECT_URL,
            _payload(
                "account.updated",
                {"id": "acct_live", "object": "account"},
                account="acct_live",
                livemode=True,
            ),
            settings.STRIPE_CONNECT_WEBHOOK_SECRETS[0],
        ),
        "platform payout": (
            PLATFORM_URL,
            _payload("payout.paid", {"id": "po_platform", "object": "payout"}),
            platform_secret,
        ),
        "unknown type": (
            PLATFORM_URL,
            _payload("customer.created", {"id": "cus_1", "object": "customer"}),
            platform_secret,
        ),
    }
    with django_capture_on_commit_callbacks(execute=True):
        for url, payload, secret in sent.values():
            assert _post(url, payload, events.sign(payload, secret)).status_code == 200
    # then: each is ignored, with its own reason
    reasons = dict(WebhookEvent.objects.values_list("type", "ignored_reason"))
    assert reasons == {
        "account.updated": WebhookIgnoredReason.OTHER_MODE,
        "payout.paid": WebhookIgnoredReason.OTHER_ENDPOINT,
        "customer.created": WebhookIgnoredReason.NO_HANDLER,
    }
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {
        WebhookEventStatus.IGNORED
    }
    # and the admin says which, in the list and on the event's page
    page = staff_client.get(reverse("admin:payments_webhookevent_changelist")).content.decode()
    assert "Ignored (a live-mode event; our key is test)" in page
    assert "Ignored (handled on the Connect endpoint only)" in page
    assert "Ignored (no handler)" in page
    payout_event = WebhookEvent.objects.get(type="payout.paid")
    detail = staff_client.get(
        reverse("admin:payments_webhookevent_change", args=[payout_event.pk])
    ).content.decode()
    assert "Ignored (handled on the Connect endpoint only)" in detail
