"""Payments' Prometheus metrics, read from our rows at scrape time (webhooks are processed
and transfers made by workers, whichever process answers the scrape): the webhook lag from
Stripe's ``created`` to processed over the last hour (p50, p95), the webhook backlog, and
transfers that failed. Registered in ``PaymentsConfig.ready()``; served at ``/metrics``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from marketplace.models import StatusChange
from payments.models import Transfer, TransferStatus, WebhookEvent

WEBHOOK_LAG = "coach_connect_webhook_lag_seconds"
WEBHOOK_BACKLOG = "coach_connect_webhook_backlog"
TRANSFERS_FAILED = "coach_connect_transfers_failed"
_LAG_HELP = "Seconds from Stripe's created to processed, events of the last hour."
_BACKLOG_HELP = "Webhook events received, processing or waiting to retry."
_FAILED_HELP = "Transfers Stripe refused for good."


class PaymentMetrics(Collector):
    def describe(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(WEBHOOK_LAG, _LAG_HELP, labels=["quantile"])
        yield GaugeMetricFamily(WEBHOOK_BACKLOG, _BACKLOG_HELP)
        yield CounterMetricFamily(TRANSFERS_FAILED, _FAILED_HELP)

    def collect(self) -> Iterator[Metric]:
        from payments.operations import WEBHOOK_BACKLOG_STATUSES, webhook_lag

        _, p50, p95 = webhook_lag(since=timezone.now() - timedelta(hours=1))
        lag = GaugeMetricFamily(WEBHOOK_LAG, _LAG_HELP, labels=["quantile"])
        if p50 is not None and p95 is not None:
            lag.add_metric(["0.5"], p50)
            lag.add_metric(["0.95"], p95)
        yield lag
        yield GaugeMetricFamily(
            WEBHOOK_BACKLOG,
            _BACKLOG_HELP,
            value=WebhookEvent.objects.filter(status__in=WEBHOOK_BACKLOG_STATUSES).count(),
        )
        # every move to failed, as the status history records it (a transfer sent again and
        # failed again counts twice)
        failed = StatusChange.objects.filter(
            model=Transfer._meta.label_lower, to_state=TransferStatus.FAILED
        ).count()
        yield CounterMetricFamily(TRANSFERS_FAILED, _FAILED_HELP, value=failed)
