"""The webhook inbox: every Stripe event as received, and its processing."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from marketplace import states


class WebhookEndpoint(models.TextChoices):
    PLATFORM = "platform", "Platform"
    CONNECT = "connect", "Connect"


class WebhookEventStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSING = "processing", "Processing"
    SUCCEEDED = "succeeded", "Succeeded"
    IGNORED = "ignored", "Ignored (no handler)"
    RETRYING = "retrying", "Waiting to retry"
    FAILED = "failed", "Failed"


_WEBHOOK_DONE = frozenset({WebhookEventStatus.SUCCEEDED, WebhookEventStatus.IGNORED})
# Every event can be processed again from admin (``received``); processing ends in one of
# the outcomes or waits to retry.
WEBHOOK_EVENT_TRANSITIONS: dict[str, frozenset[str]] = {
    WebhookEventStatus.RECEIVED: frozenset(WebhookEventStatus) - {WebhookEventStatus.RECEIVED},
    WebhookEventStatus.PROCESSING: frozenset(WebhookEventStatus) - {WebhookEventStatus.PROCESSING},
    WebhookEventStatus.RETRYING: frozenset(WebhookEventStatus) - {WebhookEventStatus.RETRYING},
    WebhookEventStatus.FAILED: frozenset({WebhookEventStatus.RECEIVED}),
    **{status: frozenset({WebhookEventStatus.RECEIVED}) for status in _WEBHOOK_DONE},
}


class WebhookEvent(models.Model):
    """A Stripe event as received; one row per Stripe event id, whatever the redeliveries.

    Receipt is bookkeeping (``received``); processing runs in a Celery task and moves the row
    ``processing -> succeeded | ignored | retrying | failed`` keeping the last error.
    """

    stripe_event_id = models.CharField(max_length=255, unique=True)
    endpoint = models.CharField(max_length=10, choices=WebhookEndpoint.choices)
    type = models.CharField(max_length=120, db_index=True)
    stripe_account_id = models.CharField(max_length=255, blank=True, db_index=True)
    object_id = models.CharField(max_length=255, blank=True, db_index=True)
    api_version = models.CharField(max_length=40, blank=True)
    livemode = models.BooleanField(default=False)
    stripe_created_at = models.DateTimeField()
    payload = models.JSONField()

    status = models.CharField(
        max_length=12,
        choices=WebhookEventStatus.choices,
        default=WebhookEventStatus.RECEIVED,
        db_index=True,
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    processing_started_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.stripe_event_id} {self.type} ({self.status})"


states.register(WebhookEvent, transitions=WEBHOOK_EVENT_TRANSITIONS)
