"""Every form and input serializer field is bounded to the column it fills.

The test walks the forms modules and the API modules of every app, finds each form and each
input serializer, and for every field:

- bound to a model column (``COLUMNS`` below, or a ModelForm's own model field): a text field
  has a ``max_length`` no longer than the column's; an integer field (or an amount) has a
  minimum and a maximum inside the column's range (a 32-bit ``PositiveIntegerField`` holds
  0 to 2^31-1, a ``BigIntegerField`` up to 2^63-1) and the model's own validators; each
  choice fits; a date-time goes through the one parser (``marketplace.fields.InstantField``
  or ``InstantInput``); a date has bounded years;
- not stored (``NOT_STORED``): it is bounded all the same (a text field has a
  ``max_length``, an integer field a range), so a 10,000-character string or a 30-digit
  number is a form error before anything reads it.

A new form or serializer field that is in neither table fails the test: say what it fills.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterator
from typing import Any

import pytest
from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import connection, models
from rest_framework import serializers

from bookings.models import (
    Booking,
    CancellationPolicy,
    CoachingPlan,
    PackagePurchase,
    PlanSubscription,
    SessionNote,
)
from coaches.models import (
    CoachApplication,
    CoachProfile,
    ExtraHours,
    MembershipPlan,
    Review,
    SessionType,
    TimeOff,
)
from marketplace.fields import AmountField, BoundedDateField, InstantField, InstantInput
from marketplace.models import EmailKind, EmailPreference, User
from messaging.models import Message, ReadState, Report
from payments.models import ConnectedAccount, PayoutRequest, Refund

FORM_MODULES = [
    "coaches.forms",
    "bookings.forms",
    "payments.forms",
    "messaging.forms",
    "marketplace.forms",
]
API_MODULES = ["coaches.api", "bookings.api", "payments.api", "messaging.api"]
INPUT_SUFFIXES = ("In", "Input", "InputSerializer", "QuerySerializer")
OUTPUT_SUFFIXES = ("Out", "Output", "OutputSerializer", "Serializer")
# A TextField without max_length still gets one where it is typed.
TEXT_LIMIT = 10_000


def column(model: type[models.Model], name: str) -> models.Field:
    return model._meta.get_field(name)  # type: ignore[return-value]


# (form or serializer class name, field name) -> the column it fills.
COLUMNS: dict[tuple[str, str], models.Field] = {
    # coaches.forms
    ("PersonalForm", "full_name"): column(CoachApplication, "full_name"),
    ("PersonalForm", "phone"): column(CoachApplication, "phone"),
    ("PersonalForm", "location"): column(CoachProfile, "location"),
    ("PersonalForm", "time_zone"): column(CoachProfile, "time_zone"),
    ("CertificationForm", "certificate_number"): column(CoachApplication, "certificate_number"),
    ("CertificationForm", "certification_level"): column(CoachApplication, "certification_level"),
    ("CertificationForm", "certified_on"): column(CoachApplication, "certified_on"),
    ("ExperienceForm", "years_experience"): column(CoachApplication, "years_experience"),
    ("ExperienceForm", "other_certifications"): column(CoachApplication, "other_certifications"),
    ("BusinessForm", "headline"): column(CoachProfile, "headline"),
    ("BusinessForm", "bio"): column(CoachProfile, "bio"),
    ("BusinessForm", "services"): column(CoachApplication, "services"),
    ("BusinessForm", "currency"): column(CoachProfile, "currency"),
    ("BusinessForm", "languages"): CoachProfile._meta.get_field("languages").base_field,  # type: ignore[attr-defined]
    ("SessionTypeForm", "name"): column(SessionType, "name"),
    ("SessionTypeForm", "duration_minutes"): column(SessionType, "duration_minutes"),
    ("SessionTypeForm", "price"): column(SessionType, "price"),
    ("AvailabilitySettingsForm", "buffer_before_minutes"): column(
        CoachProfile, "buffer_before_minutes"
    ),
    ("AvailabilitySettingsForm", "buffer_after_minutes"): column(
        CoachProfile, "buffer_after_minutes"
    ),
    ("AvailabilitySettingsForm", "minimum_notice_minutes"): column(
        CoachProfile, "minimum_notice_minutes"
    ),
    ("AvailabilitySettingsForm", "booking_horizon_days"): column(
        CoachProfile, "booking_horizon_days"
    ),
    ("AvailabilitySettingsForm", "max_sessions_per_day"): column(
        CoachProfile, "max_sessions_per_day"
    ),
    ("TimeOffForm", "starts_at"): column(TimeOff, "starts_at"),
    ("TimeOffForm", "ends_at"): column(TimeOff, "ends_at"),
    ("TimeOffForm", "note"): column(TimeOff, "note"),
    ("ExtraHoursForm", "date"): column(ExtraHours, "date"),
    ("ExtraHoursForm", "start_time"): column(ExtraHours, "start_time"),
    ("ExtraHoursForm", "end_time"): column(ExtraHours, "end_time"),
    ("ReviewForm", "rating"): column(Review, "rating"),
    ("ReviewForm", "text"): column(Review, "text"),
    ("ReviewReplyForm", "text"): column(Review, "coach_reply"),
    # bookings.forms
    ("TopicForm", "topic"): column(Booking, "topic"),
    ("TopicForm", "client_time_zone"): column(Booking, "client_time_zone"),
    ("CancelForm", "reason"): column(Booking, "cancellation_reason"),
    ("SessionNoteForm", "text"): column(SessionNote, "text"),
    ("RescheduleForm", "starts_at"): column(Booking, "starts_at"),
    ("IssueForm", "description"): column(Booking, "issue_description"),
    **{
        (form, name): column(CoachingPlan, name)
        for form in ("CoachingPlanForm", "CoachingPlanInput")
        for name in (
            "name",
            "sessions_per_period",
            "interval",
            "price",
            "rollover",
            "rollover_cap",
            "minimum_periods",
        )
    },
    ("CoachingPlanForm", "session_type"): column(CoachingPlan, "session_type"),
    ("CoachingPlanInput", "session_type"): column(SessionType, "id"),
    ("PlanChangeInput", "plan"): column(CoachingPlan, "id"),
    ("MembershipStartForm", "plan"): column(MembershipPlan, "id"),
    # payments.forms
    ("ConnectStartForm", "country"): column(ConnectedAccount, "country"),
    ("PayoutScheduleForm", "interval"): column(ConnectedAccount, "payout_interval"),
    ("PayoutScheduleForm", "weekly_anchor"): column(ConnectedAccount, "payout_weekly_anchor"),
    ("PayoutScheduleForm", "monthly_anchor"): column(ConnectedAccount, "payout_monthly_anchor"),
    ("PayoutScheduleForm", "minimum_amount"): column(ConnectedAccount, "payout_minimum_amount"),
    ("BusinessProfileForm", "url"): column(ConnectedAccount, "business_url"),
    ("BusinessProfileForm", "product_description"): column(
        ConnectedAccount, "business_product_description"
    ),
    # messaging.forms
    ("StartThreadForm", "coach"): column(User, "id"),
    ("StartThreadForm", "booking"): column(Booking, "id"),
    ("MessageForm", "body"): column(Message, "body"),
    ("ReportForm", "reason"): column(Report, "reason"),
    # marketplace.forms
    ("ProfileForm", "first_name"): column(User, "first_name"),
    ("ProfileForm", "last_name"): column(User, "last_name"),
    ("ProfileForm", "time_zone"): column(User, "time_zone"),
    **{
        ("EmailPreferencesForm", kind.value): column(EmailPreference, "enabled")
        for kind in EmailKind
    },
    ("SignupForm", "first_name"): column(User, "first_name"),
    ("SignupForm", "last_name"): column(User, "last_name"),
    ("SignupForm", "email"): column(User, "email"),
    ("SignupForm", "role"): column(User, "role"),
    # bookings.api
    ("BookingCreateInput", "session_type"): column(SessionType, "id"),
    ("BookingCreateInput", "starts_at"): column(Booking, "starts_at"),
    ("BookingCreateInput", "topic"): column(Booking, "topic"),
    ("BookingCreateInput", "client_time_zone"): column(Booking, "client_time_zone"),
    ("BookingCreateInput", "package_purchase"): column(PackagePurchase, "id"),
    ("BookingCreateInput", "plan_subscription"): column(PlanSubscription, "id"),
    ("CancelInput", "reason"): column(Booking, "cancellation_reason"),
    ("RescheduleInput", "starts_at"): column(Booking, "starts_at"),
    # payments.api
    ("AccountCreateIn", "country"): column(ConnectedAccount, "country"),
    ("AccountUpdateIn", "url"): column(ConnectedAccount, "business_url"),
    ("AccountUpdateIn", "product_description"): column(
        ConnectedAccount, "business_product_description"
    ),
    ("PayoutScheduleIn", "interval"): column(ConnectedAccount, "payout_interval"),
    ("PayoutScheduleIn", "weekly_anchor"): column(ConnectedAccount, "payout_weekly_anchor"),
    ("PayoutScheduleIn", "monthly_anchor"): column(ConnectedAccount, "payout_monthly_anchor"),
    ("PayoutScheduleIn", "minimum_amount"): column(ConnectedAccount, "payout_minimum_amount"),
    ("RefundInput", "amount"): column(Refund, "amount"),
    ("PayoutRequestIn", "recipient"): column(User, "id"),
    ("PayoutRequestIn", "amount"): column(PayoutRequest, "amount"),
    ("PayoutRequestIn", "currency"): column(PayoutRequest, "currency"),
    ("PayoutRequestIn", "reason"): column(PayoutRequest, "reason"),
    ("PayoutRequestIn", "note"): column(PayoutRequest, "note"),
    ("PayoutReverseIn", "amount"): column(PayoutRequest, "reversal_amount"),
    ("PayoutReverseIn", "reason"): column(PayoutRequest, "reversal_reason"),
    # messaging.api
    ("ThreadOpenInputSerializer", "coach"): column(User, "id"),
    ("ThreadOpenInputSerializer", "booking"): column(Booking, "id"),
    ("ThreadOpenInputSerializer", "body"): column(Message, "body"),
    ("ThreadPageQuerySerializer", "before"): column(Message, "seq"),
    ("ThreadPageQuerySerializer", "after"): column(Message, "seq"),
    ("MessageCreateInputSerializer", "body"): column(Message, "body"),
    ("MessageTextInputSerializer", "body"): column(Message, "body"),
    ("ThreadReadInputSerializer", "up_to_seq"): column(ReadState, "last_read_seq"),
}

# Fields that fill no column: filters, uploads (checked by their own size and type limits),
# passwords (hashed), choices of rows.
NOT_STORED: dict[tuple[str, str], str] = {
    ("CertificationForm", "certifying_body"): "a row chosen from a list",
    ("CertificationForm", "certificate_file"): "an upload (size and type checked)",
    ("ExperienceForm", "specializations"): "rows chosen from a list",
    ("BusinessForm", "photo"): "an upload (size and type checked)",
    ("PhotoForm", "photo"): "an upload (size and type checked)",
    ("MessageForm", "attachment"): "an upload (size and type checked)",
    ("MessageCreateInputSerializer", "attachment"): "an upload (size and type checked)",
    ("SignupForm", "password1"): "hashed",
    ("SignupForm", "password2"): "hashed",
    ("BookingCreateInput", "success_url"): "sent to Stripe with the Checkout Session",
    ("BookingCreateInput", "cancel_url"): "sent to Stripe with the Checkout Session",
    ("CheckoutUrlsInput", "success_url"): "sent to Stripe with the Checkout Session",
    ("CheckoutUrlsInput", "cancel_url"): "sent to Stripe with the Checkout Session",
    ("PaymentMethodRemoveQuerySerializer", "confirm_renewal_may_fail"): "a confirmation",
    ("InvoicesQuerySerializer", "role"): "a list filter",
    ("ThreadPageQuerySerializer", "limit"): "a page size",
    **{("WeeklyGridForm", f"day_{day}"): "parsed into time intervals" for day in range(7)},
    **{
        ("SearchForm", name): "a search filter"
        for name in (
            "q",
            "specialization",
            "currency",
            "min_price",
            "max_price",
            "language",
            "min_rating",
            "free_within_days",
            "day",
            "from_time",
            "to_time",
            "tz",
            "sort",
        )
    },
}


# --- walking the code ---------------------------------------------------------------------


def _classes(module_name: str) -> Iterator[type]:
    module = importlib.import_module(module_name)
    for _name, value in vars(module).items():
        if inspect.isclass(value) and value.__module__ == module_name:
            yield value
            for _nested, inner in vars(value).items():
                if inspect.isclass(inner) and inner.__module__ == module_name:
                    yield inner


def _forms() -> list[type[forms.BaseForm]]:
    return [
        cls
        for module in FORM_MODULES
        for cls in _classes(module)
        if issubclass(cls, forms.BaseForm) and not inspect.isabstract(cls)
    ]


def _serializers() -> list[type[serializers.Serializer]]:
    return [
        cls
        for module in API_MODULES
        for cls in _classes(module)
        if issubclass(cls, serializers.BaseSerializer)
    ]


def _input_serializers() -> list[type[serializers.Serializer]]:
    return [cls for cls in _serializers() if cls.__name__.endswith(INPUT_SUFFIXES)]


def _field_items() -> Iterator[tuple[str, str, Any, type]]:
    for form_class in _forms():
        for name, field in form_class().fields.items():  # type: ignore[call-arg]
            yield form_class.__name__, name, field, form_class
    for serializer_class in _input_serializers():
        for name, field in serializer_class().fields.items():
            if not field.read_only:
                yield serializer_class.__name__, name, field, serializer_class


# --- the bounds of a column ----------------------------------------------------------------


def _integer_range(target: models.Field) -> tuple[int, int]:
    low, high = connection.ops.integer_field_range(target.get_internal_type())
    if target.primary_key:
        low = 1
    for validator in target.validators:
        if isinstance(validator, MinValueValidator):
            low = max(low, validator.limit_value)  # type: ignore[type-var]
        if isinstance(validator, MaxValueValidator):
            high = min(high, validator.limit_value)  # type: ignore[type-var]
    return low, high


def _choice_values(field: Any) -> list[Any]:
    choices = field.choices
    values = []
    for value, label in choices.items() if isinstance(choices, dict) else choices:
        if isinstance(label, list | tuple):  # an optgroup
            values.extend(inner for inner, _ in label)
        else:
            values.append(value)
    return [value for value in values if value not in ("", None)]


def _bounds_problems(field: Any, target: models.Field | None) -> list[str]:
    """What is wrong with ``field`` filling ``target`` (``None``: fills no column)."""
    problems: list[str] = []
    is_choice = isinstance(
        field, forms.ChoiceField | forms.ModelChoiceField | serializers.ChoiceField
    )
    if isinstance(field, forms.FileField | serializers.FileField | forms.ModelChoiceField):
        return problems
    if isinstance(field, InstantField | InstantInput):
        return problems
    if isinstance(field, forms.DateTimeField | serializers.DateTimeField):
        return ["a date-time that does not go through marketplace.timeparse"]
    if isinstance(field, forms.DateField):
        if not isinstance(field, BoundedDateField):
            problems.append("a date without bounded years (BoundedDateField)")
        return problems
    if isinstance(field, forms.TimeField | forms.BooleanField | serializers.BooleanField):
        return problems
    if is_choice:
        values = _choice_values(field)
        if target is not None and isinstance(target, models.CharField):
            too_long = [v for v in values if len(str(v)) > (target.max_length or 0)]
            if too_long:
                problems.append(f"choices longer than the column: {too_long[:3]}")
        if target is not None and isinstance(target, models.IntegerField):
            low, high = _integer_range(target)
            outside = [v for v in values if not low <= int(v) <= high]
            if outside:
                problems.append(f"choices outside {low}..{high}: {outside[:3]}")
        return problems
    if isinstance(field, AmountField):
        if target is not None:
            low, high = _integer_range(target)
            if not (low <= field.min_amount and field.max_amount <= high):
                problems.append(
                    f"amount {field.min_amount}..{field.max_amount} outside the column's "
                    f"{low}..{high}"
                )
        return problems
    if isinstance(field, forms.DecimalField):
        if field.max_digits is None:
            problems.append("a decimal without max_digits")
        return problems
    if isinstance(field, forms.IntegerField | serializers.IntegerField):
        low_given, high_given = field.min_value, field.max_value
        if low_given is None or high_given is None:
            return [f"an integer without a minimum and a maximum ({low_given}, {high_given})"]
        if target is not None:
            low, high = _integer_range(target)
            if not (low <= low_given and high_given <= high):
                problems.append(
                    f"integer {low_given}..{high_given} outside the column's {low}..{high}"
                )
        return problems
    if isinstance(field, forms.CharField | serializers.CharField):
        if field.max_length is None:
            return ["a text field without max_length"]
        limit = getattr(target, "max_length", None) or TEXT_LIMIT
        if field.max_length > limit:
            problems.append(f"max_length {field.max_length} > the column's {limit}")
        return problems
    return [f"a {type(field).__name__} the test does not know how to bound"]


# --- the tests -----------------------------------------------------------------------------


def test_every_serializer_is_named_as_input_or_output():
    unnamed = [
        cls.__qualname__
        for cls in _serializers()
        if not cls.__name__.endswith(INPUT_SUFFIXES + OUTPUT_SUFFIXES)
    ]
    assert unnamed == []


def test_the_walk_finds_the_forms_and_serializers_that_take_input():
    names = {cls.__name__ for cls in _forms()} | {cls.__name__ for cls in _input_serializers()}
    assert {
        "SessionTypeForm",
        "TimeOffForm",
        "PayoutScheduleForm",
        "SignupForm",
        "PolicyForm",
        "BookingCreateInput",
        "PayoutScheduleIn",
        "ThreadReadInputSerializer",
    } <= names


@pytest.mark.django_db
def test_every_input_field_says_what_it_fills():
    unknown = []
    for owner, name, _field, cls in _field_items():
        model_form = issubclass(cls, forms.ModelForm)
        if model_form or (owner, name) in COLUMNS or (owner, name) in NOT_STORED:
            continue
        unknown.append(f"{owner}.{name}")
    assert unknown == [], "add each to COLUMNS (what it fills) or NOT_STORED (why nothing): " + (
        ", ".join(unknown)
    )


@pytest.mark.django_db
def test_every_input_field_is_bounded_by_the_column_it_fills():
    problems = []
    for owner, name, field, cls in _field_items():
        if issubclass(cls, forms.ModelForm):
            target = cls._meta.model._meta.get_field(name)
            if isinstance(field, forms.IntegerField) and isinstance(target, models.IntegerField):
                # A ModelForm runs the model field's validators, the column's range among them.
                low, high = _integer_range(target)
                field_low = field.min_value if field.min_value is not None else low
                field_high = field.max_value if field.max_value is not None else high
                if not (low <= max(field_low, low) and min(field_high, high) <= high):
                    problems.append(f"{owner}.{name}: outside {low}..{high}")
                continue
        else:
            target = COLUMNS.get((owner, name))
        problems.extend(f"{owner}.{name}: {problem}" for problem in _bounds_problems(field, target))
    assert problems == [], "\n".join(problems)


@pytest.mark.django_db
def test_model_forms_validate_with_the_models_validators():
    # PolicyForm relies on the model's validators (the column's range, the percent constraint).
    from bookings.forms import PolicyForm

    coach = CoachProfile(pk=1)
    form = PolicyForm(
        {
            "free_cancellation_hours": 2**31,
            "late_cancellation_refund_percent": 101,
            "after_start_refund_percent": 0,
            "no_show_refund_percent": 0,
            "free_reschedule_hours": 24,
            "max_reschedules": 2**15,
        },
        instance=CancellationPolicy(coach=coach),
    )
    assert not form.is_valid()
    assert {"free_cancellation_hours", "max_reschedules"} <= set(form.errors)


def test_the_price_columns_stay_32_bit_because_prices_stop_at_stripes_maximum():
    from bookings.models import Package
    from marketplace.money import MAX_CHARGE_AMOUNT

    # 99,999,999 minor units fit a 32-bit column: no price needs a 64-bit one
    assert MAX_CHARGE_AMOUNT < 2**31 - 1
    for target in (column(SessionType, "price"), column(Package, "price")):
        assert _integer_range(target) == (0, MAX_CHARGE_AMOUNT)
