"""Webhook events: the signature checked with the official library, the event read."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import stripe
from django.utils import timezone

from payments.gateway.errors import InvalidWebhook
from payments.gateway.fields import timestamp


@dataclass(frozen=True)
class VerifiedEvent:
    id: str
    type: str
    account: str
    api_version: str
    livemode: bool
    created: datetime
    object_id: str
    object_type: str
    payload: dict[str, Any]


def webhook_construct_event(*, payload: bytes, signature: str, secrets: list[str]) -> VerifiedEvent:
    """Verify the raw body against the ``Stripe-Signature`` header with the official library.

    Any of ``secrets`` may have signed it (an endpoint's old and new secret while it is
    rotated, one Stripe CLI secret for both endpoints), and the header may carry several
    ``v1`` signatures, of which one matching is enough (the library's own rule). Raises
    ``InvalidWebhook`` for a bad signature, a stale timestamp or a body that is not an event.
    """
    # Only the signature check of ``construct_event``: building the full ``stripe.Event``
    # object tree costs more than the rest of receiving, and nothing reads it.
    try:
        text = payload.decode("utf-8") if isinstance(payload, bytes) else payload
    except ValueError as error:
        raise InvalidWebhook(str(error)) from error
    failure: Exception = InvalidWebhook("no webhook signing secret is configured")
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(
                text, signature, secret, tolerance=stripe.Webhook.DEFAULT_TOLERANCE
            )
        except stripe.SignatureVerificationError as error:
            failure = error
            continue
        break
    else:
        raise InvalidWebhook(str(failure)) from failure
    try:
        body = json.loads(text)
        data_object = body["data"]["object"]
        return VerifiedEvent(
            id=body["id"],
            type=body["type"],
            account=body.get("account") or "",
            api_version=body.get("api_version") or "",
            livemode=bool(body.get("livemode", False)),
            created=timestamp(body.get("created")) or timezone.now(),
            object_id=str(data_object.get("id", "")),
            object_type=str(data_object.get("object", "")),
            payload=body,
        )
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise InvalidWebhook(f"not a Stripe event: {error}") from error
