"""Payments forms: the payment setup wizard's start, payout schedule and business profile."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.conf import settings

from marketplace.fields import AmountField
from payments import designs
from payments.models import PayoutInterval, Weekday
from payments.services.accounts import SUPPORTED_COUNTRIES

_COUNTRY_CHOICES: list[tuple[str, str]] = sorted(
    SUPPORTED_COUNTRIES.items(), key=lambda item: item[1]
)


class ConnectStartForm(forms.Form):
    country = forms.ChoiceField(
        label="Country you live and bank in",
        choices=_COUNTRY_CHOICES,
        help_text="Stripe needs it to know what to ask; it cannot be changed later.",
    )

    def __init__(self, *args: Any, time_zone: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The coach's time zone's country (the page's script prefers the browser's).
        self.fields["country"].initial = (
            designs.country_for_time_zone(time_zone) or settings.PLATFORM_COUNTRY
        )
        self.fields["country"].widget.attrs["data-country-select"] = ""


class PayoutScheduleForm(forms.Form):
    interval = forms.ChoiceField(label="How often you are paid out", choices=PayoutInterval.choices)
    weekly_anchor = forms.ChoiceField(
        label="Weekday (weekly payouts)",
        choices=[("", "—"), *Weekday.choices],
        required=False,
    )
    monthly_anchor = forms.IntegerField(
        label="Day of the month (monthly payouts)", min_value=1, max_value=31, required=False
    )
    # Cleaned to minor units; at most what Stripe charges at once.
    minimum_amount = AmountField(
        label="Minimum payout",
        required=False,
        help_text="In your payout currency; 0 for no minimum.",
    )

    def __init__(self, *args: Any, currency: str = "usd", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(AmountField, self.fields["minimum_amount"]).currency = currency

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        interval = cleaned.get("interval")
        if interval == PayoutInterval.WEEKLY and not cleaned.get("weekly_anchor"):
            self.add_error("weekly_anchor", "Choose the weekday for weekly payouts.")
        if interval == PayoutInterval.MONTHLY and not cleaned.get("monthly_anchor"):
            self.add_error("monthly_anchor", "Choose a day of the month for monthly payouts.")
        return cleaned


class BusinessProfileForm(forms.Form):
    url = forms.URLField(
        assume_scheme="https",
        label="Public profile URL",
        max_length=500,
        help_text="Shown to Stripe as your business website: your Coach Connect profile.",
    )
    product_description = forms.CharField(
        label="What you sell",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
