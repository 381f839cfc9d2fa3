"""The one date-time parser and the fields built on it: what they accept and what they refuse."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from django import forms
from hypothesis import given
from hypothesis import strategies as st
from rest_framework import serializers

from marketplace.errors import DomainError
from marketplace.fields import AmountField, BoundedDateField, InstantField, InstantInput
from marketplace.money import MAX_CHARGE_AMOUNT
from marketplace.timeparse import MAX_YEAR, MIN_YEAR, parse_day, parse_instant


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2030-03-01T09:00:00Z", datetime(2030, 3, 1, 9, tzinfo=UTC)),
        ("2030-03-01T09:00Z", datetime(2030, 3, 1, 9, tzinfo=UTC)),
        ("2030-03-01 09:00:00+01:00", datetime(2030, 3, 1, 8, tzinfo=UTC)),
        ("2030-03-01T09:00:00-05:30", datetime(2030, 3, 1, 14, 30, tzinfo=UTC)),
        ("2030-03-01T09:00:00+0100", datetime(2030, 3, 1, 8, tzinfo=UTC)),
        ("2030-03-01T09:00:00.250+00:00", datetime(2030, 3, 1, 9, 0, 0, 250000, tzinfo=UTC)),
        # a query string's "+" read as a space
        ("2030-03-01T09:00:00 01:00", datetime(2030, 3, 1, 8, tzinfo=UTC)),
        ("2030-03-01T09:00:00+14:00", datetime(2030, 2, 28, 19, tzinfo=UTC)),
        ("2000-01-01T00:00:00Z", datetime(2000, 1, 1, tzinfo=UTC)),
        ("2100-12-31T23:59:59-14:00", datetime(2101, 1, 1, 13, 59, 59, tzinfo=UTC)),
        ("2032-02-29T12:00:00Z", datetime(2032, 2, 29, 12, tzinfo=UTC)),
    ],
)
def test_iso_8601_instants_with_an_offset_are_read_in_utc(text, expected):
    parsed = parse_instant(text)
    assert parsed == expected and parsed.tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("9999-12-31T23:59:59Z", "between the years 2000 and 2100"),
        ("0001-01-01T00:00:00Z", "between the years 2000 and 2100"),
        ("1999-12-31T23:59:59Z", "between the years 2000 and 2100"),
        ("2101-01-01T00:00:00Z", "between the years 2000 and 2100"),
        ("2030-02-30T10:00:00Z", "not a real date"),
        ("2031-02-29T10:00:00Z", "not a real date"),
        ("2030-13-01T10:00:00Z", "not a real date"),
        ("2030-01-01T24:00:00Z", "not a real date"),
        ("2030-01-01T10:60:00Z", "not a real date"),
        ("2030-01-01T10:00:60Z", "not a real date"),
        ("2030-01-01T10:00:00+99:00", "-14:00 and +14:00"),
        ("2030-01-01T10:00:00+14:01", "-14:00 and +14:00"),
        ("2030-01-01T10:00:00-15:00", "-14:00 and +14:00"),
        ("2030-01-01T10:00:00+01:75", "-14:00 and +14:00"),
        ("2030-01-01T10:00:00", "Add a time zone offset"),
        ("2030-01-01", "time as well as a date"),
        ("", "Enter a date and time"),
        ("   ", "Enter a date and time"),
        ("now", "ISO 8601"),
        ("NaN", "ISO 8601"),
        ("-1", "ISO 8601"),
        ("1700000000", "ISO 8601"),
        ("01/03/2030 09:00", "ISO 8601"),
        ("2030-03-01T09:00:00Zjunk", "ISO 8601"),
        ("２０３０-03-01T09:00:00Z", "ISO 8601"),  # fullwidth digits
        ("٢٠٣٠-03-01T09:00:00Z", "ISO 8601"),  # Arabic-Indic digits
        ("2030-03-01T09:00:00Z" + "0" * 10_000, "ISO 8601"),
        ("2030-03-01T09:00:00\x00Z", "ISO 8601"),
    ],
)
def test_anything_else_is_a_domain_error_naming_the_field(text, words):
    with pytest.raises(DomainError) as refused:
        parse_instant(text, field="starts_at")
    assert refused.value.code == "invalid_datetime" and refused.value.status_code == 400
    assert words in refused.value.message
    assert refused.value.fields == {"starts_at": [refused.value.message]}


def test_a_value_without_offset_is_read_in_the_zone_the_caller_names():
    zurich = ZoneInfo("Europe/Zurich")
    assert parse_instant("2030-07-01T00:00", zone=zurich) == datetime(2030, 6, 30, 22, tzinfo=UTC)
    # an explicit offset wins over the zone
    assert parse_instant("2030-07-01T00:00Z", zone=zurich) == datetime(2030, 7, 1, tzinfo=UTC)


def test_a_bare_date_is_midnight_only_where_the_caller_allows_it():
    assert parse_instant("2030-03-01", date_only=True) == datetime(2030, 3, 1, tzinfo=UTC)
    assert parse_instant("2030-03-01", date_only=True, zone=ZoneInfo("Asia/Tokyo")) == datetime(
        2030, 2, 28, 15, tzinfo=UTC
    )


def test_days_are_bounded_too():
    assert parse_day("2030-03-01") == date(2030, 3, 1)
    for text in ("9999-12-31", "0001-01-01", "2030-02-30", "30-03-01", "", "x" * 5000):
        with pytest.raises(DomainError):
            parse_day(text)
    assert parse_day("1975-05-01", min_year=1950) == date(1975, 5, 1)


@given(
    st.datetimes(
        min_value=datetime(MIN_YEAR, 1, 1), max_value=datetime(MAX_YEAR, 12, 31, 23, 59, 59)
    ),
    st.integers(min_value=-14 * 60, max_value=14 * 60),
)
def test_every_instant_written_with_an_offset_reads_back_as_itself(moment, offset_minutes):
    aware = moment.replace(microsecond=0, tzinfo=timezone(timedelta(minutes=offset_minutes)))
    assert parse_instant(aware.isoformat()) == aware


@given(st.text(max_size=80))
def test_no_text_makes_the_parser_raise_anything_but_a_domain_error(text):
    try:
        parsed = parse_instant(text, date_only=True)
    except DomainError:
        return
    assert parsed.tzinfo is UTC and MIN_YEAR - 1 <= parsed.year <= MAX_YEAR + 1


# --- the fields --------------------------------------------------------------------------


class _TimeForm(forms.Form):
    at = InstantField(zone=UTC)
    day = BoundedDateField(required=False)


@pytest.mark.parametrize("text", ["9999-12-31T23:59:59Z", "2030-02-30T10:00:00Z", "x" * 10_000])
def test_the_form_field_gives_a_form_error(text):
    form = _TimeForm({"at": text})
    assert not form.is_valid()
    assert form.errors["at"]


def test_the_form_field_reads_a_naive_value_in_its_zone_and_a_date_field_is_bounded():
    form = _TimeForm({"at": "2030-03-01T09:00", "day": "2030-03-01"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["at"] == datetime(2030, 3, 1, 9, tzinfo=UTC)
    late = _TimeForm({"at": "2030-03-01T09:00Z", "day": "9999-12-31"})
    assert not late.is_valid() and "2000 and 2100" in late.errors["day"][0]


class _BookingInput(serializers.Serializer):
    starts_at = InstantInput()


@pytest.mark.parametrize(
    "value", ["9999-12-31T23:59:59Z", "2030-01-01T10:00:00+99:00", "2030-01-01T10:00:00", 5, None]
)
def test_the_api_field_refuses_with_a_validation_error(value):
    given_input = _BookingInput(data={"starts_at": value})
    assert not given_input.is_valid()
    assert "starts_at" in given_input.errors


def test_the_api_field_accepts_an_offset():
    given_input = _BookingInput(data={"starts_at": "2030-01-01T10:00:00+01:00"})
    assert given_input.is_valid(), given_input.errors
    assert given_input.validated_data["starts_at"] == datetime(2030, 1, 1, 9, tzinfo=UTC)


class _PriceForm(forms.Form):
    price = AmountField(min_amount=100)


@pytest.mark.parametrize(
    ("currency", "typed", "minor"),
    [("usd", "49.90", 4990), ("jpy", "5000", 5000), ("usd", "999999.99", MAX_CHARGE_AMOUNT)],
)
def test_an_amount_field_cleans_to_minor_units(currency, typed, minor):
    form = _PriceForm({"price": typed})
    form.fields["price"].currency = currency  # type: ignore[attr-defined]
    assert form.is_valid(), form.errors
    assert form.cleaned_data["price"] == minor


@pytest.mark.parametrize(
    "typed", ["1000000.00", "999999999", "1e30", "-5", "0.50", "NaN", "Infinity", "49.999", ""]
)
def test_an_amount_field_refuses_what_stripe_could_not_charge(typed):
    form = _PriceForm({"price": typed})
    assert not form.is_valid()
    assert form.errors["price"]
