"""Payments' parts of the staff operations page (``marketplace.operations``): the onboarding
funnel, money health and webhooks. Read from our own rows only (no Stripe call), each
figure with the admin list behind it. Registered in ``PaymentsConfig.ready()``."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Count, Min, Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from marketplace.charts import Series, bar_chart
from marketplace.money import format_money
from marketplace.operations import OperationsSection, changelist, register
from payments import selectors
from payments.models import (
    AccountState,
    ConnectedAccount,
    Dispute,
    Payment,
    PaymentStatus,
    ReconciliationRun,
    Refund,
    RefundStatus,
    Transfer,
    TransferStatus,
    WebhookEvent,
    WebhookEventStatus,
)
from payments.models.money import DISPUTE_OPEN_STATUSES
from payments.states import requirement_labels

# An account still short of active this long after its last change is stuck.
STUCK_AFTER = timedelta(days=3)
NOT_YET_ACTIVE = (
    AccountState.CREATED,
    AccountState.ONBOARDING,
    AccountState.PENDING_VERIFICATION,
    AccountState.RESTRICTED,
)
# Money health counts payments of the last week.
MONEY_WINDOW = timedelta(days=7)
WEBHOOK_BACKLOG_STATUSES = (
    WebhookEventStatus.RECEIVED,
    WebhookEventStatus.PROCESSING,
    WebhookEventStatus.RETRYING,
)


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def onboarding_context(request: HttpRequest) -> dict:
    now = timezone.now()
    funnel = selectors.onboarding_funnel()
    active = dict((value, count) for value, _, count in funnel.counts).get(AccountState.ACTIVE, 0)
    stuck_before = now - STUCK_AFTER
    stuck = list(
        ConnectedAccount.objects.select_related("coach")
        .filter(state__in=NOT_YET_ACTIVE, state_changed_at__lt=stuck_before)
        .order_by("state_changed_at")[:20]
    )
    return {
        "states": [
            {
                "value": value,
                "label": label,
                "count": count,
                "url": changelist("payments.connectedaccount", state__exact=value),
            }
            for value, label, count in funnel.counts
        ],
        "total": funnel.total,
        "all_url": changelist("payments.connectedaccount"),
        "conversion": round(active * 100 / funnel.total) if funnel.total else None,
        "median_to_active": funnel.median_to_active,
        "activated": funnel.activated,
        "stuck": [
            {
                "account": account,
                "requirements": requirement_labels(account.requirements_due),
                "url": reverse("admin:payments_connectedaccount_change", args=[account.pk]),
            }
            for account in stuck
        ],
        "stuck_url": changelist(
            "payments.connectedaccount",
            state__in=",".join(NOT_YET_ACTIVE),
            state_changed_at__lt=_stamp(stuck_before),
        ),
    }


def money_context(request: HttpRequest) -> dict:
    now = timezone.now()
    since = now - MONEY_WINDOW
    since_text = _stamp(since)
    payments = Payment.objects.aggregate(
        succeeded=Count("pk", filter=Q(succeeded_at__gte=since) & ~Q(status=PaymentStatus.PENDING)),
        failed=Count("pk", filter=Q(status=PaymentStatus.FAILED, created_at__gte=since)),
    )
    refunds = dict(
        Refund.objects.filter(status__in=[RefundStatus.PENDING, RefundStatus.FAILED])
        .values_list("status")
        .annotate(count=Count("pk"))
    )
    disputes = list(
        Dispute.objects.filter(status__in=DISPUTE_OPEN_STATUSES).order_by("evidence_due_by")[:20]
    )
    failed_transfers = Transfer.objects.filter(status=TransferStatus.FAILED).count()
    retrying_statuses = [TransferStatus.PENDING, TransferStatus.WAITING_FOR_BALANCE]
    retrying = Transfer.objects.filter(status__in=retrying_statuses, attempts__gte=1).count()
    run = ReconciliationRun.objects.exclude(outcome=ReconciliationRun.Outcome.RUNNING).first()
    return {
        "window_days": MONEY_WINDOW.days,
        "payments_succeeded": payments["succeeded"],
        "payments_succeeded_url": changelist("payments.payment", succeeded_at__gte=since_text),
        "payments_failed": payments["failed"],
        "payments_failed_url": changelist(
            "payments.payment", status__exact=PaymentStatus.FAILED, created_at__gte=since_text
        ),
        "refunds_pending": refunds.get(RefundStatus.PENDING, 0),
        "refunds_pending_url": changelist("payments.refund", status__exact=RefundStatus.PENDING),
        "refunds_failed": refunds.get(RefundStatus.FAILED, 0),
        "refunds_failed_url": changelist("payments.refund", status__exact=RefundStatus.FAILED),
        "disputes": [
            {
                "dispute": dispute,
                "amount": format_money(dispute.amount, dispute.currency),
                "url": reverse("admin:payments_dispute_change", args=[dispute.pk]),
            }
            for dispute in disputes
        ],
        "disputes_open": Dispute.objects.filter(status__in=DISPUTE_OPEN_STATUSES).count(),
        "disputes_url": changelist("payments.dispute", status__in=",".join(DISPUTE_OPEN_STATUSES)),
        "transfers_failed": failed_transfers,
        "transfers_failed_url": changelist(
            "payments.transfer", status__exact=TransferStatus.FAILED
        ),
        "transfers_retrying": retrying,
        "transfers_retrying_url": changelist(
            "payments.transfer", status__in=",".join(retrying_statuses), attempts__gte=1
        ),
        "balances": [
            {"currency": currency, "net": format_money(figures["net"], currency)}
            for currency, figures in sorted(selectors.money_ledger().items())
        ],
        "ledger_url": reverse("admin:payments_ledger"),
        "run": run,
        "run_url": reverse("admin:payments_reconciliationrun_change", args=[run.pk]) if run else "",
        "runs_url": changelist("payments.reconciliationrun"),
        "discrepancies_url": changelist("payments.reconciliationdiscrepancy", run__id__exact=run.pk)
        if run
        else "",
    }


_PER_MINUTE_SQL = f"""
    WITH minutes AS (
        SELECT generate_series(date_trunc('minute', %(since)s::timestamptz),
                               date_trunc('minute', %(now)s::timestamptz),
                               interval '1 minute') AS minute
    )
    SELECT minutes.minute,
           (SELECT count(*) FROM {WebhookEvent._meta.db_table}
             WHERE received_at >= minutes.minute
               AND received_at < minutes.minute + interval '1 minute'),
           (SELECT count(*) FROM {WebhookEvent._meta.db_table}
             WHERE processed_at >= minutes.minute
               AND processed_at < minutes.minute + interval '1 minute')
      FROM minutes ORDER BY minutes.minute
"""  # noqa: S608 - our table, every value a parameter

_LAG_SQL = f"""
    SELECT count(*),
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - stripe_created_at)),
           percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - stripe_created_at))
      FROM {WebhookEvent._meta.db_table}
     WHERE processed_at >= %(since)s AND status IN ('succeeded', 'ignored')
"""  # noqa: S608, E501 - our table, every value a parameter


def webhook_lag(*, since: datetime) -> tuple[int, float | None, float | None]:
    """Events processed since ``since`` and their lag from Stripe's ``created`` to our
    processing, p50 and p95 in seconds (None without an event)."""
    with connection.cursor() as cursor:
        cursor.execute(_LAG_SQL, {"since": since})
        count, p50, p95 = cursor.fetchone()
    return count, p50, p95


def webhooks_context(request: HttpRequest) -> dict:
    now = timezone.now()
    since = now - timedelta(minutes=59)
    with connection.cursor() as cursor:
        cursor.execute(_PER_MINUTE_SQL, {"since": since, "now": now})
        minutes = cursor.fetchall()
    processed, p50, p95 = webhook_lag(since=now - timedelta(hours=1))
    backlog = WebhookEvent.objects.filter(status__in=WEBHOOK_BACKLOG_STATUSES).aggregate(
        count=Count("pk"), oldest=Min("received_at")
    )
    failed = WebhookEvent.objects.filter(status=WebhookEventStatus.FAILED)
    zone = timezone.get_current_timezone()
    labels = [
        (
            f"{minute.astimezone(zone):%H:%M}",
            f"{minute.astimezone(zone):%H:%M}" if index % 10 == 0 else "",
        )
        for index, (minute, _, _) in enumerate(minutes)
    ]
    return {
        "received": sum(row[1] for row in minutes),
        "processed": sum(row[2] for row in minutes),
        "chart": bar_chart(
            title="Webhook events received and processed per minute, the last hour",
            labels=labels,
            series=[
                Series("Received", [row[1] for row in minutes]),
                Series("Processed", [row[2] for row in minutes]),
            ],
            text=lambda value: str(int(value or 0)),
        ),
        "lag_events": processed,
        "lag_p50": p50,
        "lag_p95": p95,
        "backlog": backlog["count"],
        "backlog_oldest": backlog["oldest"],
        "backlog_url": changelist(
            "payments.webhookevent", status__in=",".join(WEBHOOK_BACKLOG_STATUSES)
        ),
        "failed": failed.count(),
        "failed_url": changelist("payments.webhookevent", status__exact=WebhookEventStatus.FAILED),
        "failed_events": list(failed.order_by("-received_at")[:10]),
        "events_url": changelist("payments.webhookevent"),
    }


def register_sections() -> None:
    register(
        OperationsSection(
            key="onboarding",
            title="Onboarding funnel",
            template="admin/operations/onboarding.html",
            context=onboarding_context,
            order=10,
        )
    )
    register(
        OperationsSection(
            key="money",
            title="Money health",
            template="admin/operations/money.html",
            context=money_context,
            order=20,
        )
    )
    register(
        OperationsSection(
            key="webhooks",
            title="Webhooks",
            template="admin/operations/webhooks.html",
            context=webhooks_context,
            order=30,
        )
    )
