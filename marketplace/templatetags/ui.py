"""The design system's template components (``{% load ui %}``): the status badge, the
stepper, the empty state and toasts' markup live here so every page draws them alike.

The stylesheet is ``static/css/app.css``; docs/design.md shows each component.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django import template
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

register = template.Library()

# A status's tone says what it means to the reader, whatever the model: done and good
# (success), waiting on someone (pending), needs attention (warning), went wrong (danger),
# over and nothing to do (neutral). Keys are the status values of every model with a status
# field; a value no table names is neutral.
STATUS_TONES: dict[str, str] = {
    # bookings
    "held": "pending",
    "confirmed": "success",
    "completed": "success",
    "no_show": "warning",
    "cancelled_by_client": "neutral",
    "cancelled_by_coach": "danger",
    "rescheduled": "neutral",
    "expired": "neutral",
    # packages
    "active": "success",
    "exhausted": "neutral",
    # payments, refunds, transfers
    "pending": "pending",
    "succeeded": "success",
    "paid": "success",
    "failed": "danger",
    "refunded": "neutral",
    "partially_refunded": "neutral",
    "disputed": "warning",
    "cancelled": "neutral",
    "waiting_for_balance": "pending",
    "reversed": "neutral",
    "partly_reversed": "neutral",
    # payouts
    "in_transit": "pending",
    "canceled": "neutral",
    # disputes
    "warning_needs_response": "warning",
    "needs_response": "warning",
    "warning_under_review": "pending",
    "under_review": "pending",
    "warning_closed": "neutral",
    "won": "success",
    "lost": "danger",
    "prevented": "success",
    # coach applications and connected accounts
    "draft": "neutral",
    "submitted": "pending",
    "approved": "success",
    "rejected": "danger",
    "created": "neutral",
    "onboarding": "pending",
    "pending_verification": "pending",
    "restricted": "warning",
    "deauthorized": "neutral",
    # coaching plans, subscriptions and invoices
    "past_due": "danger",
    "paused": "pending",
    "ended": "neutral",
    "open": "pending",
    "void": "neutral",
    "uncollectible": "danger",
    "unpaid": "danger",
    "trialing": "success",
    "incomplete": "pending",
    # flags shown beside a status
    "issue_open": "warning",
}


@register.filter
def status_tone(status: str) -> str:
    """The meaning a status is coloured by: ``{{ account.state|status_tone }}``."""
    return STATUS_TONES.get(str(status), "neutral")


@cache
def _status_labels(model: type[models.Model]) -> dict[str, Any] | None:
    """A model's status values and their labels, made once per model (None: its ``status``
    is not a field with choices). Django's ``get_status_display`` rebuilds this mapping on
    every call, which a table with a badge on each row pays for row after row."""
    try:
        field = model._meta.get_field("status")
    except FieldDoesNotExist:
        return None
    if not isinstance(field, models.Field) or not field.choices:
        return None
    return {str(value): label for value, label in field.flatchoices}


def _status_label(subject: Any, status: str) -> Any:
    labels = _status_labels(type(subject)) if isinstance(subject, models.Model) else None
    return subject.get_status_display() if labels is None else labels.get(status, status)


@register.simple_tag
def status_badge(subject: Any, label: str = "", *, testid: str = "") -> SafeString:
    """A status as a badge coloured by meaning: ``{% status_badge booking %}`` (any row with
    ``status`` and ``get_status_display``) or ``{% status_badge "disputed" "Disputed" %}``."""
    if isinstance(subject, str):
        status, text = subject, label or subject.replace("_", " ").capitalize()
    else:
        status = str(subject.status)
        text = label or _status_label(subject, status)
    tone = status_tone(status)
    testid_attr = format_html(' data-testid="{}"', testid) if testid else ""
    return format_html(
        '<span class="status-badge status-{}" data-status="{}" data-tone="{}"{}>{}</span>',
        tone,
        status,
        tone,
        testid_attr,
        text,
    )


@register.simple_tag
def stepper(steps: str, current: int, *, label: str = "Steps") -> SafeString:
    """A numbered stepper: ``{% stepper "Pick a time,Topic,Review,Pay" 3 %}``; steps before
    ``current`` (1-based) are done, ``current`` is marked ``aria-current="step"``."""
    names = [name.strip() for name in steps.split(",") if name.strip()]
    items = format_html_join(
        "",
        '<li{}><span class="step-label">{}</span>{}</li>',
        (
            (
                SafeString(' class="done"')
                if number < current
                else SafeString(' aria-current="step"')
                if number == current
                else SafeString(""),
                name,
                SafeString(' <span class="visually-hidden">(done)</span>')
                if number < current
                else SafeString(""),
            )
            for number, name in enumerate(names, start=1)
        ),
    )
    return format_html('<ol class="stepper" aria-label="{}">{}</ol>', label, items)


@register.inclusion_tag("components/empty_state.html")
def empty_state(
    title: str, text: str = "", *, action_url: str = "", action_label: str = ""
) -> dict[str, str]:
    """A friendly empty list: what is missing, why, and the one thing to do next."""
    return {"title": title, "text": text, "action_url": action_url, "action_label": action_label}
