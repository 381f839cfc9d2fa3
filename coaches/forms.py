"""Coaches forms: the application steps, availability, search, reviews."""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any, cast

import filetype
from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.html import escape
from django.utils.safestring import mark_safe

from coaches.models import (
    LANGUAGE_NAMES,
    CertificationLevel,
    CertifyingBody,
    MembershipPlan,
    Specialization,
    Weekday,
)
from coaches.selectors import CoachSearch, SearchSort
from marketplace.fields import AmountField, BoundedDateField, InstantField
from marketplace.money import to_minor

MAX_CERTIFICATE_BYTES = 10 * 1024 * 1024
MAX_PHOTO_BYTES = 5 * 1024 * 1024
CERTIFICATE_TYPES = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}
PHOTO_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
TIME_ZONES = sorted(zoneinfo.available_timezones() - {"localtime", "Factory"})
TIME_ZONE_NAMES = frozenset(TIME_ZONES)
TIME_ZONE_CHOICES = [(zone, zone.replace("_", " ")) for zone in TIME_ZONES]
# Rendered once per process; pages pair it with <input list="time-zones">.
TIME_ZONE_DATALIST = mark_safe(  # noqa: S308 - zone names come from zoneinfo, escaped anyway
    '<datalist id="time-zones">'
    + "".join(f'<option value="{escape(zone)}"></option>' for zone in TIME_ZONES)
    + "</datalist>"
)
CURRENCY_CHOICES = [
    ("usd", "US dollar (USD)"),
    ("eur", "Euro (EUR)"),
    ("gbp", "Pound sterling (GBP)"),
    ("chf", "Swiss franc (CHF)"),
    ("jpy", "Japanese yen (JPY)"),
    ("cad", "Canadian dollar (CAD)"),
    ("aud", "Australian dollar (AUD)"),
]
LANGUAGE_CHOICES = list(LANGUAGE_NAMES.items())


def detect_upload_type(upload: UploadedFile, allowed: dict[str, str], *, max_bytes: int) -> str:
    """The upload's type, read from its content; a clear ``ValidationError`` when it is
    empty, too large or not one of ``allowed``."""
    size = upload.size or 0
    if size == 0:
        raise forms.ValidationError("The file is empty.", code="empty")
    if size > max_bytes:
        raise forms.ValidationError(
            f"The file is {size / 1024 / 1024:.1f} MB; the limit is "
            f"{max_bytes // 1024 // 1024} MB.",
            code="too_large",
        )
    upload.seek(0)
    head = upload.read(8192)
    upload.seek(0)
    kind = filetype.guess(head)
    if kind is None or kind.mime not in allowed:
        names = ", ".join(extension.upper() for extension in dict.fromkeys(allowed.values()))
        raise forms.ValidationError(
            f"The file's content is not a {names} file (we check the content, not the name).",
            code="wrong_type",
        )
    return kind.mime


class TimeZoneField(forms.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        # The empty choice lets static/js/app.js preselect the browser's zone.
        kwargs.setdefault("choices", [("", "Choose your time zone"), *TIME_ZONE_CHOICES])
        kwargs.setdefault("label", "Time zone")
        super().__init__(**kwargs)
        self.widget.attrs["data-detect-timezone"] = ""


# --- application steps ---------------------------------------------------------------------


class PersonalForm(forms.Form):
    full_name = forms.CharField(max_length=150, label="Full name")
    phone = forms.RegexField(
        regex=r"^\+?[0-9 ()./-]{6,30}$",
        max_length=32,
        label="Phone",
        error_messages={"invalid": "Enter a phone number, e.g. +41 44 123 45 67."},
    )
    location = forms.CharField(max_length=120, label="Location (city, country)")
    time_zone = TimeZoneField()


class CertificationForm(forms.Form):
    certifying_body = forms.ModelChoiceField(
        queryset=CertifyingBody.objects.filter(is_active=True), label="Certifying body"
    )
    certificate_number = forms.CharField(max_length=64, label="Certificate number")
    certification_level = forms.ChoiceField(choices=CertificationLevel.choices, label="Level")
    certified_on = BoundedDateField(
        min_year=1950,
        label="Date of certification",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    certificate_file = forms.FileField(
        label="Certificate (PDF, JPEG or PNG, at most 10 MB)",
        required=False,
        allow_empty_file=True,  # the empty check below gives the clearer message
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"}),
    )

    def __init__(self, *args: Any, has_certificate: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.has_certificate = has_certificate
        self.certificate_type: str | None = None
        if has_certificate:
            self.fields["certificate_file"].help_text = "Leave empty to keep the file you sent."

    def clean_certified_on(self) -> date:
        certified_on = self.cleaned_data["certified_on"]
        if certified_on > date.today():
            raise forms.ValidationError("The date cannot be in the future.")
        return certified_on

    def clean_certificate_file(self) -> UploadedFile | None:
        upload: UploadedFile | None = self.cleaned_data.get("certificate_file") or None
        if upload is None:
            # An <input type=file> left empty sends nothing; a zero-byte file arrives as an
            # upload with size 0 and is caught below.
            if self.files.get(self.add_prefix("certificate_file")) is not None:
                raise forms.ValidationError("The file is empty.", code="empty")
            if not self.has_certificate:
                raise forms.ValidationError("Please attach your certificate.", code="required")
            return None
        self.certificate_type = detect_upload_type(
            upload, CERTIFICATE_TYPES, max_bytes=MAX_CERTIFICATE_BYTES
        )
        # Store it under the extension of what it is, not what it was called.
        name = upload.name or "certificate"
        stem = name.rsplit(".", 1)[0] if "." in name else name
        upload.name = f"{stem[:80]}.{CERTIFICATE_TYPES[self.certificate_type]}"
        return upload


class ExperienceForm(forms.Form):
    years_experience = forms.IntegerField(min_value=0, max_value=70, label="Years of coaching")
    specializations = forms.ModelMultipleChoiceField(
        queryset=Specialization.objects.all(),
        widget=forms.CheckboxSelectMultiple,
        label="Specialisations",
    )
    other_certifications = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=2000,
        label="Other certifications",
    )


class BusinessForm(forms.Form):
    headline = forms.CharField(max_length=160, label="Headline")
    bio = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=2000,
        min_length=50,
        label="Short bio",
        help_text="50 to 2000 characters; clients read this first.",
    )
    services = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), label="Services you offer", max_length=2000
    )
    languages = forms.MultipleChoiceField(
        choices=LANGUAGE_CHOICES, widget=forms.CheckboxSelectMultiple, label="Languages"
    )
    currency = forms.ChoiceField(choices=CURRENCY_CHOICES, label="Currency of your prices")
    photo = forms.FileField(
        label="Photo (JPEG, PNG or WebP, at most 5 MB)",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )

    def clean_photo(self) -> UploadedFile | None:
        upload: UploadedFile | None = self.cleaned_data.get("photo") or None
        if upload is None:
            return None
        kind = detect_upload_type(upload, PHOTO_TYPES, max_bytes=MAX_PHOTO_BYTES)
        upload.name = f"photo.{PHOTO_TYPES[kind]}"
        return upload


class SessionTypeForm(forms.Form):
    name = forms.CharField(max_length=120, label="Session name")
    duration_minutes = forms.TypedChoiceField(
        coerce=int,
        choices=[(minutes, f"{minutes} minutes") for minutes in (15, 30, 45, 60, 75, 90, 120)],
        initial=60,
        label="Duration",
    )
    # At least one major unit; at most what Stripe charges at once (cleaned to minor units).
    price = AmountField(label="Price")

    def __init__(self, *args: Any, currency: str = "usd", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.currency = currency
        price = cast(AmountField, self.fields["price"])
        price.min_amount = to_minor(1, currency)
        price.currency = currency
        price.label = f"Price ({currency.upper()})"


# --- availability --------------------------------------------------------------------------

INTERVAL = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-\u2013]\s*(\d{1,2}):(\d{2})\s*$")


def parse_intervals(text: str) -> list[tuple[time, time]]:
    """``"09:00-12:00, 13:30-17:00"`` -> wall-clock intervals; ``ValidationError`` if bad."""
    intervals = []
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        match = INTERVAL.match(part)
        if not match:
            raise forms.ValidationError(f"“{part}” is not like 09:00-12:00.")
        start_hour, start_minute, end_hour, end_minute = (int(group) for group in match.groups())
        try:
            start, end = time(start_hour, start_minute), time(end_hour, end_minute)
        except ValueError as error:
            raise forms.ValidationError(f"“{part}” is not a time of day.") from error
        if end <= start:
            raise forms.ValidationError(f"“{part}” must end after it starts.")
        intervals.append((start, end))
    ordered = sorted(intervals)
    for (start, end), (next_start, _) in pairwise(ordered):
        if next_start < end:
            raise forms.ValidationError(f"{start:%H:%M}-{end:%H:%M} overlaps the next interval.")
    return ordered


def format_intervals(intervals: list[tuple[time, time]]) -> str:
    return ", ".join(f"{start:%H:%M}-{end:%H:%M}" for start, end in intervals)


class WeeklyGridForm(forms.Form):
    """One text field per weekday: ``09:00-12:00, 13:00-17:00``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for weekday in Weekday:
            self.fields[f"day_{weekday.value}"] = forms.CharField(
                required=False,
                max_length=200,
                label=weekday.label,
                help_text="e.g. 09:00-12:00, 13:00-17:00; empty for a day off",
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self.weekly: dict[int, list[tuple[time, time]]] = {}
        for weekday in Weekday:
            name = f"day_{weekday.value}"
            try:
                self.weekly[weekday.value] = parse_intervals(cleaned.get(name, "") or "")
            except forms.ValidationError as error:
                self.add_error(name, error)
        return cleaned


class AvailabilitySettingsForm(forms.Form):
    buffer_before_minutes = forms.IntegerField(min_value=0, max_value=240, label="Buffer before")
    buffer_after_minutes = forms.IntegerField(min_value=0, max_value=240, label="Buffer after")
    minimum_notice_minutes = forms.IntegerField(
        min_value=0, max_value=60 * 24 * 30, label="Minimum notice (minutes)"
    )
    booking_horizon_days = forms.IntegerField(
        min_value=1, max_value=365, label="Bookable up to (days ahead)"
    )
    max_sessions_per_day = forms.IntegerField(
        min_value=1, max_value=24, required=False, label="Sessions per day at most"
    )


class TimeOffForm(forms.Form):
    starts_at = InstantField(
        label="From", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    ends_at = InstantField(
        label="Until", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    note = forms.CharField(max_length=160, required=False, label="Note (only you see it)")

    def __init__(self, *args: Any, time_zone: str = "UTC", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The coach types wall-clock times in their own zone (a datetime-local input).
        self.zone = zoneinfo.ZoneInfo(time_zone)
        for name in ("starts_at", "ends_at"):
            cast(InstantField, self.fields[name]).zone = self.zone

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        starts_at, ends_at = cleaned.get("starts_at"), cleaned.get("ends_at")
        if starts_at and ends_at and ends_at <= starts_at:
            self.add_error("ends_at", "Time off must end after it starts.")
        return cleaned


class ExtraHoursForm(forms.Form):
    date = BoundedDateField(label="Date", widget=forms.DateInput(attrs={"type": "date"}))
    start_time = forms.TimeField(label="From", widget=forms.TimeInput(attrs={"type": "time"}))
    end_time = forms.TimeField(label="Until", widget=forms.TimeInput(attrs={"type": "time"}))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("start_time"), cleaned.get("end_time")
        if start and end and end <= start:
            self.add_error("end_time", "Extra hours must end after they start.")
        return cleaned


# --- discovery -----------------------------------------------------------------------------


class SearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    specialization = forms.ChoiceField(required=False, label="Specialisation")
    currency = forms.ChoiceField(
        required=False, choices=CURRENCY_CHOICES, initial="usd", label="Currency"
    )
    min_price = forms.DecimalField(required=False, min_value=0, max_digits=10, label="Price from")
    max_price = forms.DecimalField(required=False, min_value=0, max_digits=10, label="Price to")
    language = forms.ChoiceField(
        required=False, choices=[("", "Any language"), *LANGUAGE_CHOICES], label="Language"
    )
    min_rating = forms.TypedChoiceField(
        required=False,
        coerce=Decimal,
        empty_value=None,
        choices=[("", "Any rating"), ("3", "3+ stars"), ("4", "4+ stars"), ("4.5", "4.5+ stars")],
        label="Rating",
    )
    free_within_days = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        choices=[
            ("", "Any time"),
            ("1", "Within a day"),
            ("3", "Within 3 days"),
            ("7", "Within a week"),
            ("14", "Within 2 weeks"),
            ("30", "Within 30 days"),
        ],
        label="Free",
    )
    day = BoundedDateField(
        required=False, label="Free on", widget=forms.DateInput(attrs={"type": "date"})
    )
    from_time = forms.TimeField(
        required=False, label="between", widget=forms.TimeInput(attrs={"type": "time"})
    )
    to_time = forms.TimeField(
        required=False, label="and", widget=forms.TimeInput(attrs={"type": "time"})
    )
    # A text input with a shared <datalist>: a <select> of ~600 zones costs more to render
    # than the whole search.
    tz = forms.CharField(
        required=False,
        max_length=64,
        label="Your time zone",
        widget=forms.TextInput(attrs={"list": "time-zones", "data-detect-timezone": ""}),
    )
    sort = forms.ChoiceField(required=False, choices=SearchSort.choices, label="Sort by")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        specialization = cast(forms.ChoiceField, self.fields["specialization"])
        specialization.choices = [
            ("", "Any specialisation"),
            *Specialization.objects.values_list("slug", "name"),
        ]

    def clean_tz(self) -> str:
        zone = self.cleaned_data.get("tz") or ""
        if zone and zone not in TIME_ZONE_NAMES:
            raise forms.ValidationError("Choose a time zone such as Europe/Zurich.")
        return zone

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        low, high = cleaned.get("min_price"), cleaned.get("max_price")
        if low is not None and high is not None and low > high:
            self.add_error("max_price", "The highest price must not be below the lowest.")
        has_window = any(cleaned.get(name) for name in ("day", "from_time", "to_time"))
        if has_window and not cleaned.get("day"):
            self.add_error("day", "Choose a day for the time window.")
        start, end = cleaned.get("from_time"), cleaned.get("to_time")
        if start and end and end <= start:
            self.add_error("to_time", "The window must end after it starts.")
        return cleaned

    def to_search(self) -> CoachSearch:
        data = self.cleaned_data
        currency = data.get("currency") or "usd"
        window_start = window_end = None
        if data.get("day"):
            zone = zoneinfo.ZoneInfo(data.get("tz") or "UTC")
            start = data.get("from_time") or time(0)
            window_start = datetime.combine(data["day"], start, tzinfo=zone).astimezone(UTC)
            if data.get("to_time"):
                window_end = datetime.combine(data["day"], data["to_time"], tzinfo=zone)
            else:
                window_end = datetime.combine(data["day"] + timedelta(days=1), time(0), tzinfo=zone)
            window_end = window_end.astimezone(UTC)
        return CoachSearch(
            text=data.get("q") or "",
            specialization=data.get("specialization") or "",
            currency=currency,
            min_price=to_minor(data["min_price"], currency)
            if data.get("min_price") is not None
            else None,
            max_price=to_minor(data["max_price"], currency)
            if data.get("max_price") is not None
            else None,
            language=data.get("language") or "",
            min_rating=data.get("min_rating"),
            free_within_days=data.get("free_within_days"),
            window_start=window_start,
            window_end=window_end,
            sort=data.get("sort") or SearchSort.RELEVANCE,
        )


# --- reviews -------------------------------------------------------------------------------


class ReviewForm(forms.Form):
    rating = forms.TypedChoiceField(
        coerce=int,
        choices=[(stars, f"{stars} star{'s' if stars > 1 else ''}") for stars in range(5, 0, -1)],
        widget=forms.RadioSelect,
        label="Rating",
    )
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), max_length=2000, required=False, label="Review"
    )


class ReviewReplyForm(forms.Form):
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, label="Your answer"
    )


class PhotoForm(forms.Form):
    """The coach's photo alone, from the account settings page."""

    photo = forms.FileField(
        label="Photo (JPEG, PNG or WebP, at most 5 MB)",
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )

    def clean_photo(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["photo"]
        kind = detect_upload_type(upload, PHOTO_TYPES, max_bytes=MAX_PHOTO_BYTES)
        upload.name = f"photo.{PHOTO_TYPES[kind]}"
        return upload


class MembershipStartForm(forms.Form):
    """The membership a coach subscribes to: one of the plans staff offer now."""

    plan = forms.ModelChoiceField(
        queryset=MembershipPlan.objects.filter(is_active=True),
        widget=forms.HiddenInput,
        error_messages={
            "required": "Choose a membership.",
            "invalid_choice": "That membership is not offered; choose one of those below.",
        },
    )
