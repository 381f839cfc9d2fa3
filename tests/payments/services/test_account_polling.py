"""Polling: a lost webhook never leaves a coach stuck. With a real Celery worker."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from coaches.models import CoachProfile
from marketplace.celery import app as celery_app
from payments import selectors
from payments.models import AccountState, ConnectedAccount, WebhookEvent
from payments.sandbox import controls
from payments.services import accounts as services
from tests.conftest import wait_for
from tests.payments.conftest import make_account


def test_beat_schedule_entries_name_registered_tasks():
    # the effective configuration the beat process reads, not just the settings module
    schedule = celery_app.conf.beat_schedule
    poll = schedule["payments-poll-connected-accounts"]
    sweep = schedule["payments-sweep-webhook-events"]
    assert poll["task"] == "payments.poll_connected_accounts"
    assert sweep["task"] == "payments.sweep_webhook_events"
    assert poll["schedule"] <= timedelta(minutes=15)
    assert sweep["schedule"] <= timedelta(minutes=15)
    celery_app.loader.import_default_modules()
    assert poll["task"] in celery_app.tasks
    assert sweep["task"] in celery_app.tasks
    assert schedule == settings.CELERY_BEAT_SCHEDULE


def test_due_for_poll_honours_backoff_and_the_daily_check(stripe_local, connect_coach):
    account = make_account(connect_coach)
    assert account.pk in selectors.connected_accounts_due_for_poll()
    # a refresh that changes nothing backs off: not due again for a while
    services.connected_account_refresh(account=account)
    services.connected_account_refresh(account=account)
    account.refresh_from_db()
    assert account.next_check_due_at > timezone.now() + timedelta(minutes=5)
    assert account.pk not in selectors.connected_accounts_due_for_poll()
    assert account.pk in selectors.connected_accounts_due_for_poll(
        now=account.next_check_due_at + timedelta(seconds=1)
    )
    # an active account is looked at again within a day
    controls.complete_onboarding(account.stripe_account_id, "complete")
    services.connected_account_refresh(account=account)
    account.refresh_from_db()
    assert account.state == AccountState.ACTIVE
    assert account.pk not in selectors.connected_accounts_due_for_poll()
    assert account.pk in selectors.connected_accounts_due_for_poll(
        now=timezone.now() + timedelta(hours=24, minutes=1)
    )
    # deauthorized accounts are never polled
    ConnectedAccount.objects.filter(pk=account.pk).update(
        state=AccountState.DEAUTHORIZED, next_check_due_at=None
    )
    assert account.pk not in selectors.connected_accounts_due_for_poll()


def test_backoff_grows_and_is_capped():
    delays = [
        services.next_poll_delay(state=AccountState.ONBOARDING, unchanged_polls=n)
        for n in range(12)
    ]
    assert delays[0] == timedelta(minutes=5)
    assert all(a <= b for a, b in itertools.pairwise(delays))
    assert delays[-1] == timedelta(hours=6)
    assert services.next_poll_delay(state=AccountState.DEAUTHORIZED, unchanged_polls=0) is None


@pytest.mark.worker
def test_poller_with_a_real_worker_brings_the_account_to_its_real_state(celery_worker, settings):
    # given: a coach sent to Stripe, whose completion webhook is lost
    settings.SITE_URL = "http://testserver"
    controls.reset()
    controls.register_default_endpoints("http://testserver")
    from tests.coaches.factories import CoachProfileFactory

    coach = CoachProfileFactory(is_approved=True, can_take_charges=False).user
    account = make_account(coach)
    controls.pause_deliveries()
    controls.complete_onboarding(account.stripe_account_id, "complete")
    assert not WebhookEvent.objects.exists()
    account.refresh_from_db()
    assert account.state == AccountState.ONBOARDING
    # when: beat fires the poller, by its scheduled task name, into the real worker
    entry = celery_app.conf.beat_schedule["payments-poll-connected-accounts"]
    result = celery_app.send_task(entry["task"], queue=celery_worker.queue)
    assert result.get(timeout=60) >= 1
    # then: the worker re-read the account from the local Stripe and the coach is bookable
    wait_for(
        lambda: ConnectedAccount.objects.get(pk=account.pk).state == AccountState.ACTIVE,
        timeout=60,
        message="the poller did not activate the account:\n" + celery_worker.output()[-3000:],
    )
    assert CoachProfile.objects.get(user=coach).is_bookable
    account.refresh_from_db()
    change = account.state_changes.get(to_state=AccountState.ACTIVE)
    assert change.source == "poll"
    # and a restriction that happens with the webhook lost is caught the same way
    ConnectedAccount.objects.filter(pk=account.pk).update(next_check_due_at=timezone.now())
    controls.update_account(account.stripe_account_id, past_due=["external_account"])
    result = celery_app.send_task(entry["task"], queue=celery_worker.queue)
    assert result.get(timeout=60) >= 1
    wait_for(
        lambda: ConnectedAccount.objects.get(pk=account.pk).state == AccountState.RESTRICTED,
        timeout=60,
        message="the poller did not restrict the account:\n" + celery_worker.output()[-3000:],
    )
    assert not CoachProfile.objects.get(user=coach).is_bookable
