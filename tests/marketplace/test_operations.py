"""The staff operations page (``/admin/operations/``) on a scenario written by hand: a stuck
account, a restricted coach with a session ahead, a failed and a retrying transfer, a failed
refund, an open dispute, a webhook backlog beside processed and failed events, a failed
task. Each figure is shown and links to the admin list that holds the row behind it; only
staff reach the page."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.utils import timezone

from bookings.models import BookingStatus
from marketplace.models import TaskFailure
from payments.models import (
    AccountState,
    ConnectedAccount,
    Dispute,
    DisputeStatus,
    PaymentStatus,
    ReconciliationDiscrepancy,
    ReconciliationRun,
    Refund,
    RefundStatus,
    Transfer,
    TransferStatus,
    WebhookEndpoint,
    WebhookEvent,
    WebhookEventStatus,
)
from tests.bookings.factories import BookingFactory, paid_package
from tests.bookings.test_insights import pay
from tests.coaches.factories import CoachProfileFactory, SessionTypeFactory
from tests.factories import CoachUserFactory, UserFactory
from tests.mfa import sign_in_with_totp

URL = "/admin/operations/"


@pytest.fixture
def staff_client(client, db):
    sign_in_with_totp(client, UserFactory(is_staff=True, is_superuser=True))
    return client


def _event(number: int, *, status, received_ago, lag=None, type_="test.unknown"):
    now = timezone.now()
    received = now - received_ago
    return WebhookEvent.objects.create(
        stripe_event_id=f"evt_ops_{number}",
        endpoint=WebhookEndpoint.PLATFORM,
        type=type_,
        stripe_created_at=received - timedelta(seconds=1),
        payload={"id": f"evt_ops_{number}", "type": type_},
        status=status,
        received_at=received,
        processed_at=received - timedelta(seconds=1) + lag if lag is not None else None,
        last_error="No such charge: 'ch_gone'" if status == WebhookEventStatus.FAILED else "",
    )


@pytest.fixture
def scenario(db):
    return operations_scenario()


def operations_scenario() -> dict:
    """The rows behind every figure of the page (shared with the browser test)."""
    now = timezone.now()
    stuck = ConnectedAccount.objects.create(
        coach=CoachUserFactory(email="stuck@example.test"),
        stripe_account_id="acct_stuck0001",
        state=AccountState.ONBOARDING,
        state_changed_at=now - timedelta(days=5),
        requirements_currently_due=["individual.verification.document"],
    )
    active = ConnectedAccount.objects.create(
        coach=CoachUserFactory(), stripe_account_id="acct_active0001", state=AccountState.ACTIVE
    )
    ConnectedAccount.objects.filter(pk=active.pk).update(
        created_at=now - timedelta(hours=30), activated_at=now - timedelta(hours=28)
    )
    restricted_coach = CoachProfileFactory(user__email="restricted@example.test")
    ConnectedAccount.objects.create(
        coach=restricted_coach.user,
        stripe_account_id="acct_restricted01",
        state=AccountState.RESTRICTED,
        disabled_reason="requirements.past_due",
    )
    session_type = SessionTypeFactory(coach=restricted_coach)
    ahead = BookingFactory(session_type=session_type, starts_at=now + timedelta(days=2))
    BookingFactory(
        session_type=session_type,
        starts_at=now - timedelta(days=2),
        status=BookingStatus.COMPLETED,
    )
    client_user = UserFactory()
    package = paid_package(client=client_user, session_type=session_type, sessions=3)
    failed_transfer, retrying = (
        Transfer.objects.create(
            package_purchase=package,
            booking=BookingFactory(
                session_type=session_type,
                client=client_user,
                package_purchase=package,
                starts_at=now - timedelta(days=days),
                status=BookingStatus.COMPLETED,
            ),
            sequence=sequence,
            amount=4000,
            currency="usd",
            destination_account_id="acct_restricted01",
            transfer_group=package.transfer_group,
            status=status,
            attempts=attempts,
            last_error="Your destination account needs to have the transfers capability",
        )
        for sequence, days, status, attempts in (
            (1, 3, TransferStatus.FAILED, 1),
            (2, 4, TransferStatus.PENDING, 2),
        )
    )
    payment = pay(restricted_coach, client_user, 12000, 1800, "usd", now - timedelta(days=1))
    failed_payment = pay(
        restricted_coach, client_user, 12000, 1800, "usd", None, status=PaymentStatus.FAILED
    )
    failed_refund = Refund.objects.create(
        payment=payment,
        amount=6000,
        currency="usd",
        reason=Refund.Reason.CLIENT_CANCELLED,
        status=RefundStatus.FAILED,
        stripe_refund_id="re_ops_failed",
        failure_reason="expired_or_canceled_card",
    )
    dispute = Dispute.objects.create(
        payment=payment,
        stripe_dispute_id="dp_ops_open",
        amount=12000,
        currency="usd",
        status=DisputeStatus.NEEDS_RESPONSE,
        evidence_due_by=now + timedelta(days=6),
    )
    # webhooks: two waiting for ten minutes (the backlog), three processed 1, 2 and 10 s
    # after Stripe made them, one failed
    backlog = [
        _event(number, status=WebhookEventStatus.RECEIVED, received_ago=timedelta(minutes=10))
        for number in (1, 2)
    ]
    for number, lag in ((3, 1), (4, 2), (5, 10)):
        _event(
            number,
            status=WebhookEventStatus.SUCCEEDED,
            received_ago=timedelta(minutes=5),
            lag=timedelta(seconds=lag),
        )
    failed_event = _event(
        6, status=WebhookEventStatus.FAILED, received_ago=timedelta(minutes=20), lag=timedelta(0)
    )
    TaskFailure.objects.create(
        task_name="payments.execute_refund", task_id="task-ops-1", error="boom"
    )
    return {
        "stuck": stuck,
        "ahead": ahead,
        "failed_transfer": failed_transfer,
        "retrying": retrying,
        "failed_refund": failed_refund,
        "dispute": dispute,
        "backlog": backlog,
        "failed_event": failed_event,
        "failed_payment": failed_payment,
    }


def _figure(page: str, testid: str) -> tuple[str, str]:
    """The text and the link (if any) of the figure marked ``data-testid=testid``."""
    match = re.search(
        rf'<(a|dd)\s+(?:href="(?P<href>[^"]*)"\s+)?data-testid="{testid}"[^>]*>(?P<text>.*?)</',
        page,
        re.S,
    )
    assert match, f"no figure {testid}"
    return re.sub(r"<[^>]+>", "", match["text"]).strip(), unescape(match["href"] or "")


def _lists(staff_client, href: str, *expected) -> None:
    """The admin list at ``href`` holds each of ``expected`` (a row, or a text on the page)."""
    response = staff_client.get(href)
    assert response.status_code == 200, href
    body = response.content.decode()
    rows = list(response.context["cl"].result_list)
    for item in expected:
        if isinstance(item, str):
            assert item in body, (href, item)
        else:
            assert item in rows, (href, item)


def test_each_figure_of_the_scenario_with_the_admin_list_behind_it(staff_client, scenario):
    page = staff_client.get(URL).content.decode()
    assert "could not be read" not in page

    # onboarding: one stuck account and what Stripe still needs; a third of accounts active
    text, href = _figure(page, "ops-stuck")
    assert text == "1"
    _lists(staff_client, href, "acct_stuck0001")
    assert "stuck@example.test" in page and "A photo of your ID document" in page
    assert _figure(page, "ops-conversion")[0] == "33%"  # 1 active of 3
    assert _figure(page, "ops-median")[0].startswith("2:00:00")
    funnel = re.search(r'data-state="onboarding".*?<a href="([^"]+)">(\d+)</a>', page, re.S)
    assert funnel[2] == "1"
    _lists(staff_client, unescape(funnel[1]), "acct_stuck0001")

    # a restricted coach with a session ahead, linked to their upcoming bookings
    assert _figure(page, "ops-coaches-at-risk")[0] == "1"
    assert "restricted@example.test" in page and "requirements.past_due" in page
    bookings = re.search(r'<a href="(/admin/bookings/booking/\?[^"]+)">1</a>', page)
    response = staff_client.get(unescape(bookings[1]))
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
    assert list(response.context["cl"].result_list) == [scenario["ahead"]]

    # money: the failed refund, the open dispute with its deadline, transfers failed and
    # retrying, a failed payment
    for testid, expected, row in (
        ("ops-refunds-failed", "1", scenario["failed_refund"]),
        ("ops-disputes", "1", scenario["dispute"]),
        ("ops-transfers-failed", "1", scenario["failed_transfer"]),
        ("ops-transfers-retrying", "1", scenario["retrying"]),
        ("ops-payments-failed", "1", scenario["failed_payment"]),
    ):
        text, href = _figure(page, testid)
        assert text == expected, testid
        _lists(staff_client, href, row)
    due = timezone.localtime(scenario["dispute"].evidence_due_by)
    assert f"{due:%-d %b %Y}" in page
    assert _figure(page, "ops-refunds-pending")[0] == "0"
    assert "not yet run" in _figure(page, "ops-reconciliation")[0]

    # webhooks: two waiting, one failed (with a replay button), lag p50 2 s, p95 9.2 s
    text, href = _figure(page, "ops-webhook-backlog")
    assert text == "2"
    _lists(staff_client, href, "evt_ops_1", "evt_ops_2")
    response = staff_client.get(href)
    assert "evt_ops_3" not in response.content.decode()
    text, href = _figure(page, "ops-webhooks-failed")
    assert text == "1"
    _lists(staff_client, href, "evt_ops_6")
    lag = _figure(page, "ops-webhook-lag")[0]
    assert lag.startswith("p50 2.0 s, p95 9.2 s (over 3 events)"), lag
    assert _figure(page, "ops-webhooks-received")[0] == "6"
    assert 'aria-labelledby="webhooks-per-minute-title"' in page

    # tasks: the failure of the last day
    text, href = _figure(page, "ops-task-failures")
    assert text == "1"
    _lists(staff_client, href, "payments.execute_refund")
    assert _figure(page, "ops-outbox")[0] == "0"


def test_replaying_a_failed_event_from_the_page(
    staff_client, scenario, django_capture_on_commit_callbacks
):
    page = staff_client.get(URL).content.decode()
    form = re.search(
        r'<table id="ops-failed-events">.*?<form method="post" action="([^"]+)">', page, re.S
    )
    event = scenario["failed_event"]
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            form[1], {"action": "replay", "_selected_action": event.pk, "index": 0}, follow=True
        )
    assert "Queued 1 event(s) for processing." in response.content.decode()
    event.refresh_from_db()
    assert event.status == WebhookEventStatus.IGNORED  # processed again: no handler for it


def test_the_last_reconciliation_and_its_discrepancies(staff_client, scenario):
    run = ReconciliationRun.objects.create(
        window_end=timezone.now(),
        outcome=ReconciliationRun.Outcome.DISCREPANCIES,
        discrepancy_count=1,
        finished_at=timezone.now(),
    )
    ReconciliationDiscrepancy.objects.create(
        run=run,
        kind=ReconciliationDiscrepancy.Kind.UNKNOWN_TO_US,
        source_id="re_dashboard_made",
        message="A refund made in Stripe's dashboard",
    )
    page = staff_client.get(URL).content.decode()
    text, _ = _figure(page, "ops-reconciliation")
    assert text.startswith("Discrepancies found")
    assert re.search(r'data-testid="ops-reconciliation">.*?1 discrepancy</a>', page, re.S)
    link = re.search(r'href="(/admin/payments/reconciliationdiscrepancy/\?[^"]+)"', page)
    _lists(staff_client, unescape(link[1]), "re_dashboard_made")


def test_only_staff_reach_the_operations_page(client, scenario):
    anonymous = client.get(URL)
    assert anonymous.status_code == 302
    client.force_login(UserFactory())
    assert client.get(URL, follow=True).status_code == 403
    assert b"acct_stuck0001" not in client.get(URL, follow=True).content


def test_a_task_that_fails_for_good_is_kept_for_the_page(db):
    from celery.signals import task_failure

    from marketplace.celery import app

    task = app.tasks["payments.execute_refund"]
    task_failure.send(sender=task, task_id="task-123", exception=ValueError("boom"), args=[7])
    failure = TaskFailure.objects.get(task_id="task-123")
    assert (failure.task_name, failure.args, failure.error) == (
        "payments.execute_refund",
        [7],
        "ValueError: boom",
    )
