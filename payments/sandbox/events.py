"""Events: recorded for every state change, signed and delivered to the webhook endpoints.

Platform events (``account`` unset) go to the platform endpoints; events that happen on a
connected account go to the Connect endpoints with ``account`` set, as Stripe routes them.
Deliveries are queued by a Celery task after commit (unless paused by the controls), signed
exactly as Stripe signs (``Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.payload">``),
retried with backoff on a non-2xx answer, and every attempt is logged on the delivery row.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from contextvars import ContextVar
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from celery import current_app
from django.conf import settings
from django.core.signals import setting_changed
from django.db import transaction
from django.utils import timezone

from marketplace.queue import enqueue
from payments.sandbox import chaos, store
from payments.sandbox.expansion import without_includable
from payments.sandbox.models import (
    DeliveryStatus,
    SandboxState,
    WebhookDelivery,
    WebhookEndpoint,
)
from payments.sandbox.transaction_check import local_stripe_transactions

logger = logging.getLogger("payments.sandbox.webhooks")

# The API request being answered (its id and idempotency key), for ``event.request``; events
# Stripe makes on its own (clock, hosted pages) have none.
current_request: ContextVar[dict[str, Any] | None] = ContextVar(
    "stripe_sandbox_request", default=None
)


def endpoints_for(event_type: str, *, account: str, livemode: bool) -> list[WebhookEndpoint]:
    """Where Stripe sends an event: the platform's endpoints, or with ``account`` the Connect
    ones; of the event's mode, and a live Connect endpoint also gets connected accounts'
    test-mode events (https://docs.stripe.com/connect/webhooks); enabled, listening to the
    type or to ``*``."""
    enabled = store.request_cached(ENDPOINTS_CACHE, _enabled_endpoints)
    return [
        endpoint
        for endpoint in enabled
        if endpoint.connect == bool(account)
        and (endpoint.livemode == livemode or (account and not livemode))
        and ("*" in endpoint.enabled_events or event_type in endpoint.enabled_events)
    ]


# The request-scoped copy of the enabled endpoints (``store.request_cached``); the endpoint
# routes forget it when they change one.
ENDPOINTS_CACHE = "webhook_endpoints"


def _enabled_endpoints() -> list[WebhookEndpoint]:
    return list(WebhookEndpoint.objects.filter(status="enabled").order_by("id"))


MAX_ATTEMPTS = 8
# Seconds before attempt n+1 (Stripe retries for up to three days with exponential backoff;
# the sandbox compresses that to about a day and a half).
BACKOFF_SECONDS = [10, 60, 300, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600]


def record(
    event_type: str,
    obj: dict[str, Any],
    *,
    account: str = "",
    previous_attributes: dict[str, Any] | None = None,
    request: dict[str, Any] | None = None,
    livemode: bool | None = None,
) -> dict[str, Any]:
    """Record an Event about ``obj`` (its current shape) and queue its deliveries.

    ``livemode`` is the local Stripe's mode unless given (a test-mode connected account's
    event on a live platform: ``controls.send_event``)."""
    livemode = store.current_livemode() if livemode is None else livemode
    endpoints = endpoints_for(event_type, account=account, livemode=livemode)
    data: dict[str, Any] = {"object": without_includable(json.loads(json.dumps(obj)), [])}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    event_id = store.new_id("evt_")
    event: dict[str, Any] = {
        "id": event_id,
        "object": "event",
        "account": account or None,
        "api_version": settings.STRIPE_API_VERSION,
        "context": None,
        "created": store.now(),
        "data": data,
        "livemode": livemode,
        "pending_webhooks": len(endpoints),
        "request": request or current_request.get() or {"id": None, "idempotency_key": None},
        "type": event_type,
    }
    if not account:
        del event["account"]
    store.insert(event, account=account)
    # Paused, or shuffled (``chaos``): held back until they are sent in a random order.
    state = store.current_state()
    paused = state.deliveries_paused or state.deliveries_shuffled
    for endpoint in endpoints:
        delivery = WebhookDelivery.objects.create(
            event_id=event_id, event_type=event_type, endpoint=endpoint
        )
        if not paused:
            enqueue("stripe_sandbox.deliver_webhook", delivery.pk)
    return event


def sign(payload: str, secret: str | list[str], timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header value for ``payload``: one ``v1`` signature per secret
    (while an endpoint's secret is rolled, Stripe signs with the old and the new)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.{payload}".encode()
    secrets = [secret] if isinstance(secret, str) else secret
    signatures = ",".join(
        "v1=" + hmac.new(key.encode(), signed, hashlib.sha256).hexdigest() for key in secrets
    )
    return f"t={timestamp},{signatures}"


def signing_secrets(endpoint: WebhookEndpoint) -> list[str]:
    """The endpoint's secret and the rolled ones that have not expired yet."""
    now = store.now()
    rolled = [item["secret"] for item in endpoint.previous_secrets if item["expires"] > now]
    return [endpoint.secret, *rolled]


def payload_for(event_id: str) -> str:
    event = store.get(event_id, "event").data
    return json.dumps(event, indent=2)


_clients = threading.local()


def _in_process_client(host: str) -> Any:
    """One ``django.test.Client`` per thread and host: building one loads the whole
    middleware stack again (the static files' finder scan among it), which cost more than the
    delivery itself. Deliveries carry no cookies, so reusing it changes nothing they send."""
    from django.test import Client

    by_host = getattr(_clients, "by_host", None)
    if by_host is None:
        by_host = _clients.by_host = {}
    if host not in by_host:
        by_host[host] = Client(raise_request_exception=False, HTTP_HOST=host)
    client = by_host[host]
    client.cookies.clear()
    return client


def _forget_clients(*, setting: str, **kwargs: Any) -> None:
    if setting == "MIDDLEWARE":
        _clients.by_host = {}


setting_changed.connect(_forget_clients)


def post(url: str, payload: str, signature: str) -> tuple[int, str]:
    """POST one delivery: in-process (no sockets) in tests, over HTTP otherwise."""
    headers = {
        "Stripe-Signature": signature,
        "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
    }
    if settings.STRIPE_SANDBOX_IN_PROCESS:
        parts = urlsplit(url)
        client = _in_process_client(parts.netloc)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        # The delivery's transaction is the local Stripe's, which production runs elsewhere.
        with local_stripe_transactions():
            response = client.post(
                path, data=payload, content_type="application/json", headers=headers
            )
        return response.status_code, response.content.decode(errors="replace")
    import requests

    try:
        answer = requests.post(
            url,
            data=payload.encode(),
            headers={**headers, "Content-Type": "application/json; charset=utf-8"},
            timeout=10,
        )
    except requests.RequestException as exc:
        return 0, f"connection error: {exc}"
    return answer.status_code, answer.text


def deliver(delivery_id: int, *, force: bool = False, schedule_retry: bool = True) -> int | None:
    """Send one delivery and log the attempt; returns the HTTP status (0: no connection).

    Already succeeded deliveries are skipped unless ``force`` (a duplicate, as Stripe may
    send). A failed attempt is retried with backoff when ``schedule_retry``. One transaction,
    or, inside a caller's, no savepoint of its own (the endpoint's answer, whatever it is, is
    recorded; nothing here is meant to fail part-way).
    """
    with transaction.atomic(savepoint=False):
        delivery = (
            WebhookDelivery.objects.select_for_update()
            .select_related("endpoint")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:
            return None
        if delivery.status == DeliveryStatus.SUCCEEDED and not force:
            return delivery.last_status_code
        # Locked when this delivery will count down the event's ``pending_webhooks``.
        event_row = store.get(
            delivery.event_id, "event", lock=delivery.status != DeliveryStatus.SUCCEEDED
        )
        payload = json.dumps(event_row.data, indent=2)
        signature = sign(payload, signing_secrets(delivery.endpoint))
        status, body = post(delivery.endpoint.url, payload, signature)
        delivery.attempts += 1
        delivery.last_status_code = status
        delivery.last_response = body[:2000]
        delivery.log = [
            *delivery.log,
            {"at": timezone.now().isoformat(), "status": status, "response": body[:300]},
        ]
        ok = 200 <= status < 300
        if ok:
            if delivery.status != DeliveryStatus.SUCCEEDED:
                event_row.data["pending_webhooks"] = max(0, event_row.data["pending_webhooks"] - 1)
                store.save(event_row)
            delivery.status = DeliveryStatus.SUCCEEDED
            delivery.delivered_at = timezone.now()
            delivery.next_attempt_at = None
        elif delivery.status != DeliveryStatus.SUCCEEDED:
            if delivery.attempts >= MAX_ATTEMPTS:
                delivery.status = DeliveryStatus.GAVE_UP
                delivery.next_attempt_at = None
            else:
                delivery.status = DeliveryStatus.FAILED
                wait = BACKOFF_SECONDS[min(delivery.attempts - 1, len(BACKOFF_SECONDS) - 1)]
                delivery.next_attempt_at = timezone.now() + timedelta(seconds=wait)
                if schedule_retry and not _eager():
                    enqueue("stripe_sandbox.deliver_webhook", delivery.pk, countdown=wait)
        delivery.save()
        logger.info(
            "webhook %s %s -> %s: %s (attempt %s)",
            delivery.event_type,
            delivery.event_id,
            delivery.endpoint.url,
            status,
            delivery.attempts,
        )
        return status


def _eager() -> bool:
    # An eager Celery (the pytest process) would run a countdown retry at once and recurse;
    # there the retries are made by ``controls.deliver_pending_events``/``advance_clock``.
    return bool(current_app.conf.task_always_eager)


LOST_AFTER = timedelta(minutes=5)


def due_deliveries() -> list[int]:
    """Deliveries to send now: failed ones whose next attempt is due, and pending ones older
    than five minutes whose queue message was lost (a broker restart, a killed worker).
    Nothing while deliveries are paused. With shuffled deliveries (``chaos``) every pending
    one is due, in a random order, some twice."""
    if SandboxState.objects.filter(pk=1, deliveries_paused=True).exists():
        return []
    now = timezone.now()
    shuffled = chaos.deliveries_shuffled()
    failed = WebhookDelivery.objects.filter(status=DeliveryStatus.FAILED, next_attempt_at__lte=now)
    lost = WebhookDelivery.objects.filter(
        status=DeliveryStatus.PENDING, created_at__lte=now if shuffled else now - LOST_AFTER
    )
    due = list((failed | lost).order_by("id").values_list("pk", flat=True)[:500])
    return chaos.delivery_order(due)
