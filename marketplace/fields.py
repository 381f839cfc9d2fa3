"""Form and API fields that bound what people send where it enters.

- ``InstantField`` (forms) and ``InstantInput`` (DRF): a date-time through
  ``marketplace.timeparse.parse_instant``; a form error or a 400, never an overflow later.
- ``BoundedDateField`` (forms): a day within a range of years.
- ``AmountField`` (forms): a price typed in major units ("49.90"), cleaned to minor units
  (4990) and held within ``min_amount``-``max_amount`` minor units, by default what Stripe
  can charge (``marketplace.money.MAX_CHARGE_AMOUNT``).

``tests/marketplace/test_input_bounds.py`` walks every form and input serializer and
compares each field's bounds with the database column it fills.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any

from django import forms
from rest_framework import serializers

from marketplace.errors import DomainError
from marketplace.money import MAX_CHARGE_AMOUNT, decimals, format_money, to_major, to_minor
from marketplace.timeparse import MAX_YEAR, MIN_YEAR, check_day, check_instant, parse_instant

# The largest row id (``BigAutoField``): an id field takes 1 to this.
ROW_ID_MAX = 2**63 - 1


class InstantField(forms.Field):
    """An ISO 8601 date-time; a value without an offset is read in ``zone`` (refused when
    ``zone`` is ``None``). Cleans to an aware UTC datetime."""

    widget = forms.DateTimeInput

    def __init__(self, *, zone: tzinfo | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.zone = zone

    def to_python(self, value: Any) -> datetime | None:
        if value in self.empty_values:
            return None
        try:
            if isinstance(value, datetime):
                if value.tzinfo is None and self.zone is not None:
                    value = value.replace(tzinfo=self.zone)
                return check_instant(value)
            return parse_instant(str(value), zone=self.zone)
        except DomainError as error:
            raise forms.ValidationError(error.message, code="invalid_datetime") from None


class BoundedDateField(forms.DateField):
    """A date whose year lies within ``min_year``-``max_year`` (2000-2100 by default)."""

    def __init__(self, *, min_year: int = MIN_YEAR, max_year: int = MAX_YEAR, **kwargs: Any):
        super().__init__(**kwargs)
        self.min_year, self.max_year = min_year, max_year

    def to_python(self, value: Any) -> date | None:
        day = super().to_python(value)
        if day is None:
            return None
        try:
            return check_day(day, min_year=self.min_year, max_year=self.max_year)
        except DomainError as error:
            raise forms.ValidationError(error.message, code="invalid_date") from None


class AmountField(forms.DecimalField):
    """An amount typed in the major units of ``currency``; cleans to an ``int`` of minor units
    within ``min_amount``-``max_amount``, with the limits in the message in the currency."""

    def __init__(
        self,
        *,
        currency: str = "usd",
        min_amount: int = 0,
        max_amount: int = MAX_CHARGE_AMOUNT,
        **kwargs: Any,
    ) -> None:
        # 15 digits hold any amount up to 2^63 - 1 minor units in a three-decimal currency;
        # the real bound is max_amount, checked in minor units below.
        kwargs.setdefault("max_digits", 15)
        super().__init__(**kwargs)
        self.min_amount, self.max_amount = min_amount, max_amount
        self.currency = currency

    @property
    def currency(self) -> str:
        return self._currency

    @currency.setter
    def currency(self, currency: str) -> None:
        self._currency = currency
        self.decimal_places = decimals(currency)
        self.widget.attrs["step"] = str(Decimal(1).scaleb(-self.decimal_places))
        self.widget.attrs["min"] = str(to_major(self.min_amount, currency))
        self.widget.attrs["max"] = str(to_major(self.max_amount, currency))

    def to_python(self, value: Any) -> Any:
        number = super().to_python(value)
        if number is None:
            return None
        if not number.is_finite():
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        low, high = (
            to_major(self.min_amount, self.currency),
            to_major(self.max_amount, self.currency),
        )
        if not low <= number <= high:
            raise forms.ValidationError(
                f"Enter an amount from {format_money(self.min_amount, self.currency)} to "
                f"{format_money(self.max_amount, self.currency)}.",
                code="amount_out_of_range",
            )
        minor = to_minor(number, self.currency)
        if to_major(minor, self.currency) != number:
            raise forms.ValidationError(
                f"{self.currency.upper()} amounts have {decimals(self.currency)} decimals.",
                code="decimals",
            )
        return minor

    def validate(self, value: Any) -> None:
        # ``value`` is minor units here: only "required" applies (the range was checked).
        forms.Field.validate(self, value)

    def run_validators(self, value: Any) -> None:
        return None


class InstantInput(serializers.DateTimeField):
    """A DRF date-time that must carry an offset (or be read in ``zone``) and lie within the
    years ``parse_instant`` accepts: a 400 with the field's message otherwise."""

    def __init__(self, *, zone: tzinfo | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.zone = zone

    def to_internal_value(self, value: Any) -> datetime:
        try:
            if isinstance(value, datetime):
                return check_instant(value, field=self.field_name or "datetime")
            if not isinstance(value, str):
                self.fail("invalid", format=f"ISO 8601 with an offset, e.g. {_EXAMPLE}")
            return parse_instant(value, field=self.field_name or "datetime", zone=self.zone)
        except DomainError as error:
            raise serializers.ValidationError(error.message, code="invalid_datetime") from None


_EXAMPLE = "2030-03-01T09:00:00Z"
