"""Bookings forms: what people type; the services decide."""

from __future__ import annotations

from datetime import UTC
from typing import Any, cast
from zoneinfo import available_timezones

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from bookings.models import (
    PLAN_MAX_SESSIONS_PER_PERIOD,
    SESSION_NOTE_MAX_LENGTH,
    CancellationPolicy,
    PlanInterval,
)
from coaches.models import SessionType
from marketplace.fields import AmountField, InstantField
from marketplace.money import minimum_charge


class TopicForm(forms.Form):
    topic = forms.CharField(
        label="What would you like to work on?",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
        required=False,
        help_text="The coach reads this before the session.",
    )
    client_time_zone = forms.CharField(
        widget=forms.HiddenInput(attrs={"data-detect-timezone": ""}), required=False, max_length=64
    )

    def clean_client_time_zone(self) -> str:
        zone = self.cleaned_data.get("client_time_zone") or "UTC"
        return zone if zone in available_timezones() else "UTC"


class SessionNoteForm(forms.Form):
    text = forms.CharField(
        label="Your private notes",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=SESSION_NOTE_MAX_LENGTH,
        required=False,
        help_text="Only you see these notes; your coach does not.",
    )


class CancelForm(forms.Form):
    reason = forms.CharField(label="Reason (optional)", max_length=500, required=False)


class RescheduleForm(forms.Form):
    starts_at = InstantField(
        zone=UTC,
        label="New start (UTC, ISO 8601)",
        help_text="Pick one of the free times listed.",
    )


class IssueForm(forms.Form):
    description = forms.CharField(
        label="What went wrong?", widget=forms.Textarea(attrs={"rows": 4}), max_length=4000
    )


class PolicyForm(forms.ModelForm):
    """The coach's cancellation policy; percentages lie within 0-100 (a clearer error than the
    table's constraint), the other numbers within their columns (the model's validators)."""

    PERCENT_FIELDS = (
        "late_cancellation_refund_percent",
        "after_start_refund_percent",
        "no_show_refund_percent",
    )

    class Meta:
        model = CancellationPolicy
        fields = [
            "free_cancellation_hours",
            "late_cancellation_refund_percent",
            "after_start_refund_percent",
            "no_show_refund_percent",
            "refund_application_fee_on_partial",
            "free_reschedule_hours",
            "max_reschedules",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in self.PERCENT_FIELDS:
            field = cast(forms.IntegerField, self.fields[name])
            field.min_value, field.max_value = 0, 100
            field.validators += [MinValueValidator(0), MaxValueValidator(100)]
            field.widget.attrs.update({"min": "0", "max": "100"})


class CoachingPlanForm(forms.Form):
    """A coach's plan; the price is typed in the coach's currency (cleaned to minor units
    within Stripe's minimum and maximum charge)."""

    name = forms.CharField(max_length=120, label="Plan name")
    session_type: forms.ModelChoiceField = forms.ModelChoiceField(
        queryset=SessionType.objects.none(), label="Session type", empty_label=None
    )
    sessions_per_period = forms.IntegerField(
        label="Sessions each period",
        min_value=1,
        max_value=PLAN_MAX_SESSIONS_PER_PERIOD,
        initial=4,
        error_messages={
            "min_value": f"A plan grants 1 to {PLAN_MAX_SESSIONS_PER_PERIOD} sessions a period.",
            "max_value": f"A plan grants 1 to {PLAN_MAX_SESSIONS_PER_PERIOD} sessions a period.",
        },
    )
    interval = forms.ChoiceField(choices=PlanInterval.choices, label="Period", initial="month")
    price = AmountField(label="Price each period")
    rollover = forms.BooleanField(
        required=False, label="Unused sessions roll over into the next period"
    )
    rollover_cap = forms.IntegerField(
        required=False,
        initial=0,
        min_value=0,
        max_value=PLAN_MAX_SESSIONS_PER_PERIOD,
        label="Most sessions rolled over",
        error_messages={"min_value": "The rollover cap cannot be below 0."},
    )
    minimum_periods = forms.IntegerField(
        initial=0,
        min_value=0,
        max_value=36,
        label="Minimum commitment (periods)",
        error_messages={"min_value": "The minimum commitment cannot be below 0."},
    )

    def __init__(self, *args: Any, coach: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        currency = coach.currency.lower() if coach is not None else "usd"
        if coach is not None:
            field = cast(forms.ModelChoiceField, self.fields["session_type"])
            field.queryset = coach.session_types.filter(is_active=True).order_by("name")
            # Read once: the select would run its query on each pass over the choices (two a
            # render, each a server-side cursor); the queryset still checks what is posted.
            field.choices = [
                (session_type.pk, field.label_from_instance(session_type))
                for session_type in field.queryset
            ]
        price = cast(AmountField, self.fields["price"])
        price.min_amount = minimum_charge(currency)
        price.currency = currency
        price.label = f"Price each period ({currency.upper()})"
