"""The webhook inbox: receive (verify, store, 2xx), then process in a Celery task.

Receipt is bookkeeping: the raw body is verified with the official library against the
endpoint's secret, the event is inserted with ``INSERT ... ON CONFLICT DO NOTHING`` on its
Stripe id (never select-then-insert), and only a new row is processed: a worker's dispatcher
finds the rows still ``received`` and queues their processing (``payments.webhook_dispatch``),
so a redelivery, or ten deliveries at once, is processed once.

Processing claims the event in a short transaction (its row lock taken with ``SKIP
LOCKED``: a second worker on the same event walks away; the claim is committed), runs the
handler the endpoint's table in ``payments.handlers`` names outside any transaction (it
re-reads from Stripe, and no lock is held while it waits), and records the outcome in a new
short transaction: ``succeeded``; ``ignored`` (an event of the other mode than our key's, or
a type the endpoint's table does not list: answered 200 like any other, never retried or
alerted); ``retrying`` with backoff (``RetryLater`` or an error); ``failed`` after ``MAX_ATTEMPTS``.
Staff replay any event from admin.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from marketplace import states
from marketplace.queue import enqueue
from payments import gateway
from payments.errors import WebhookRejected
from payments.handlers import RetryLater, handler_for
from payments.models import (
    StaffAlert,
    WebhookEndpoint,
    WebhookEvent,
    WebhookEventStatus,
    WebhookIgnoredReason,
)
from payments.services.alerts import staff_alert_raise

logger = logging.getLogger("payments.webhooks")

MAX_ATTEMPTS = 8
# Seconds before attempt n+1: 30 s, 1, 2, 4, 8, 16, 32 minutes ... (about an hour in all).
RETRY_BASE_SECONDS = 30
# How long receiving waits for a database lock before answering 503.
RECEIVE_LOCK_TIMEOUT_MS = 3000

_INSERT_SQL = f"""
    INSERT INTO {WebhookEvent._meta.db_table}
        (stripe_event_id, endpoint, type, stripe_account_id, object_id, api_version, livemode,
         stripe_created_at, payload, status, attempts, last_error, received_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 0, '', %s)
    ON CONFLICT (stripe_event_id) DO NOTHING
    RETURNING id
"""  # noqa: S608 - the table name is ours, every value is a parameter
PROCESS_TASK = "payments.process_webhook_event"
# With a broker (not eager) the inbox is the queue: receipt only inserts the row, and the
# worker's dispatcher (``payments.webhook_dispatch``) finds it and queues its processing.
# Receipt stays one statement, one round trip and one commit, and nothing between the insert
# and the hand-off can be lost: the row itself is what is handed off.


def endpoint_secrets(endpoint: str) -> list[str]:
    """The signing secrets that verify ``endpoint``'s deliveries (all of them: rotation)."""
    if endpoint == WebhookEndpoint.CONNECT:
        return list(settings.STRIPE_CONNECT_WEBHOOK_SECRETS)
    return list(settings.STRIPE_WEBHOOK_SECRETS)


def webhook_event_receive(*, endpoint: str, payload: bytes, signature: str) -> int | None:
    """Verify and store one delivery; hand its processing off if it is new.

    Returns the new row's id, or None for a duplicate. Raises ``WebhookRejected`` (400), and
    ``OperationalError`` when the row cannot be written within ``RECEIVE_LOCK_TIMEOUT_MS``
    (the view answers 503 and Stripe delivers again).
    """
    try:
        event = gateway.webhook_construct_event(
            payload=payload, signature=signature, secrets=endpoint_secrets(endpoint)
        )
    except gateway.InvalidWebhook as error:
        raise WebhookRejected(str(error)) from error
    params = [
        event.id,
        endpoint,
        event.type,
        event.account,
        event.object_id,
        event.api_version,
        event.livemode,
        event.created,
        payload.decode("utf-8"),  # already verified JSON: stored as sent
        WebhookEventStatus.RECEIVED,
        timezone.now(),
    ]
    if connection.get_autocommit():
        # One round trip, one transaction: the two statements of one query run as an implicit
        # transaction (SET LOCAL holds for it), committed when ``execute`` returns; on a lock
        # timeout it is rolled back and the connection is idle again.
        row = _insert(_INSERT_SQL, params)
    else:
        with transaction.atomic():
            row = _insert(_INSERT_SQL, params)
    if row is None:
        return None
    if _eager():
        # No worker, no dispatcher: the task runs in this process after the commit.
        enqueue(PROCESS_TASK, row[0])
    return int(row[0])


def _insert(sql: str, params: list) -> tuple | None:
    with connection.cursor() as cursor:
        # Never hold Stripe's request open behind a lock: give up quickly, answer 503. The
        # lock timeout and the insert go in one execute (Django's psycopg cursors bind
        # client-side, which allows several statements in one query).
        cursor.execute(f"SET LOCAL lock_timeout = {int(RECEIVE_LOCK_TIMEOUT_MS)};{sql}", params)
        cursor.nextset()  # past the SET's empty result, to the INSERT's
        return cursor.fetchone()


def retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0))


# A claim older than this is a worker that died while handling the event: another may claim
# it again (the sweeper re-queues it after as long).
CLAIM_EXPIRES = timedelta(minutes=5)


def webhook_event_process(*, event_id: int) -> str | None:
    """Process one stored event; returns its new status (None: nothing to do now).

    Three steps, and no transaction open while the handler re-reads from Stripe:
    1. claim, in a short transaction: the row is locked with SKIP LOCKED (a second worker on
       the same event walks away), an event not for us is recorded ``ignored`` there, and
       any other is marked ``processing`` with its attempt counted and committed, so another
       worker leaves it alone until the claim expires (``CLAIM_EXPIRES``: a dead worker's);
    2. the handler runs outside any transaction: each service it calls writes in its own
       short transaction, and every handler is safe to run again after a partial run;
    3. the outcome is recorded in a new short transaction, unless another worker claimed
       the event meanwhile (an expired claim, or a replay from admin).
    Safe to run twice and concurrently; an event already succeeded or ignored is left alone.
    """
    claimed = _claim(event_id)
    if claimed is None or claimed.status == WebhookEventStatus.IGNORED:
        return None if claimed is None else claimed.status
    event = claimed
    handler = handler_for(event.endpoint, event.type)
    assert handler is not None
    try:
        handler(event)
    except Exception as error:
        if not isinstance(error, RetryLater):
            logger.exception("webhook %s (%s) failed", event.stripe_event_id, event.type)
        return _record_failure(event, f"{type(error).__name__}: {error}"[:4000])
    return _record(
        event,
        WebhookEventStatus.SUCCEEDED,
        processed_at=timezone.now(),
        next_attempt_at=None,
        last_error="",
    )


def _claim(event_id: int) -> WebhookEvent | None:
    """Lock and claim the event for one attempt (committed on return); None when it is not
    due, or another worker holds it. An event not for us is finished ``ignored`` here."""
    now = timezone.now()
    with transaction.atomic(savepoint=False):
        event = (
            WebhookEvent.objects.select_for_update(skip_locked=True)
            .filter(
                Q(status__in=[WebhookEventStatus.RECEIVED, WebhookEventStatus.RETRYING])
                | Q(status=WebhookEventStatus.PROCESSING)
                & (
                    Q(processing_started_at__isnull=True)
                    | Q(processing_started_at__lte=now - CLAIM_EXPIRES)
                ),
                pk=event_id,
            )
            .first()
        )
        if event is None:
            return None
        event.attempts += 1
        event.processing_started_at = now
        ignored = _ignored_because(
            event, has_handler=handler_for(event.endpoint, event.type) is not None
        )
        if ignored is not None:
            reason, note = ignored
            _finish(
                event,
                WebhookEventStatus.IGNORED,
                note=note,
                processed_at=now,
                last_error="",
                ignored_reason=reason,
            )
        else:
            _finish(event, WebhookEventStatus.PROCESSING)
    return event


def _record(
    event: WebhookEvent,
    status: str,
    *,
    also: Callable[[], object] | None = None,
    **fields: object,
) -> str | None:
    """Record the attempt's outcome, in a short transaction of its own (with ``also``), if
    the event is still this attempt's claim; the event's status then, None when another
    took it over."""
    with transaction.atomic(savepoint=False):
        locked = (
            WebhookEvent.objects.select_for_update()
            .filter(
                pk=event.pk,
                status=WebhookEventStatus.PROCESSING,
                processing_started_at=event.processing_started_at,
            )
            .first()
        )
        if locked is None:
            return None
        _finish(locked, status, **fields)  # type: ignore[arg-type]
        if also is not None:
            also()
        return locked.status


def _record_failure(event: WebhookEvent, last_error: str) -> str | None:
    """The handler failed: retry with backoff, or give up after ``MAX_ATTEMPTS`` and tell
    staff."""
    if event.attempts >= MAX_ATTEMPTS:
        return _record(
            event,
            WebhookEventStatus.FAILED,
            last_error=last_error,
            next_attempt_at=None,
            also=lambda: staff_alert_raise(
                kind=StaffAlert.Kind.WEBHOOK_FAILED,
                message=(
                    f"Stripe event {event.stripe_event_id} ({event.type}) failed "
                    f"{event.attempts} times: {last_error}"
                ),
            ),
        )
    delay = retry_delay(event.attempts)
    status = _record(
        event,
        WebhookEventStatus.RETRYING,
        last_error=last_error,
        next_attempt_at=(event.processing_started_at or timezone.now()) + delay,
    )
    if status is not None and not _eager():
        enqueue("payments.process_webhook_event", event.pk, countdown=delay.total_seconds())
    return status


def _ignored_because(event: WebhookEvent, *, has_handler: bool) -> tuple[str, str] | None:
    """Why the event is not for us, as ``(WebhookIgnoredReason, note)``; None when it is.

    A live endpoint also receives the test-mode events of connected accounts (and a test key
    never should see live ones): an event whose ``livemode`` is not our key's mode refers to
    objects our key cannot read, so it is ignored, not retried. A type the endpoint's table
    does not list (a platform payout, the platform's own ``capability.updated``) is not ours:
    handled on the other endpoint only, or by nobody.
    """
    if event.livemode != gateway.key_livemode():
        mode = "live" if event.livemode else "test"
        return (
            WebhookIgnoredReason.OTHER_MODE,
            f"a {mode}-mode event, and our Stripe key is not {mode}-mode",
        )
    if has_handler:
        return None
    other = (
        WebhookEndpoint.CONNECT
        if event.endpoint == WebhookEndpoint.PLATFORM
        else (WebhookEndpoint.PLATFORM)
    )
    if handler_for(other, event.type) is not None:
        return (
            WebhookIgnoredReason.OTHER_ENDPOINT,
            f"{event.type} is handled on the {other} endpoint only, not the {event.endpoint}",
        )
    return (
        WebhookIgnoredReason.NO_HANDLER,
        f"no handler for {event.type} on the {event.endpoint} endpoint",
    )


def _finish(event: WebhookEvent, status: str, *, note: str = "", **fields: object) -> None:
    """Record a processing outcome on the locked event (its attempt's bookkeeping too, also
    when the status stays, as a retry that fails again); ``note`` goes on the status change
    (the last error when there is one)."""
    fields = {
        "attempts": event.attempts,
        "processing_started_at": event.processing_started_at,
        **fields,
    }
    if not states.transition(
        event,
        status,
        source="processing",
        note=note or str(fields.get("last_error", "")),
        changes=fields,
        locked=True,
    ):
        for name, value in fields.items():
            setattr(event, name, value)
        event.save(update_fields=list(fields))


def webhook_event_replay(*, event: WebhookEvent) -> WebhookEvent:
    """Process an event again (from admin): its handler runs once more, from Stripe's data."""
    with transaction.atomic():
        locked = WebhookEvent.objects.select_for_update().get(pk=event.pk)
        states.transition(
            locked,
            WebhookEventStatus.RECEIVED,
            source="replay",
            changes={"next_attempt_at": None, "ignored_reason": ""},
            locked=True,
        )
        enqueue("payments.process_webhook_event", locked.pk)
    return locked


def _eager() -> bool:
    # An eager Celery (the pytest process) would run a countdown retry at once, over and
    # over; there the sweeper (``payments.sweep_webhook_events``) makes the retries.
    return bool(current_app.conf.task_always_eager)
