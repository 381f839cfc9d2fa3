"""Forms of the hosted pages (onboarding, Checkout)."""

from __future__ import annotations

import datetime

from django import forms

OUTCOME_CHOICES = [
    ("complete", "Finish: submit everything (charges and payouts enabled)"),
    ("leave_due", "Leave a requirement due (identity document past due, account restricted)"),
    ("pending_verification", "Submit, verification pending (enabled later by the controls)"),
    ("reject", "Be rejected (disabled_reason rejected.fraud)"),
]


class OnboardingForm(forms.Form):
    session = forms.CharField(widget=forms.HiddenInput)
    first_name = forms.CharField(max_length=100, initial="Jenny")
    last_name = forms.CharField(max_length=100, initial="Rosen")
    date_of_birth = forms.DateField(
        initial=datetime.date(1990, 1, 1),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Any past date works in test mode.",
    )
    email = forms.EmailField(required=False)
    phone = forms.CharField(max_length=30, initial="000 000 0000")
    address_line1 = forms.CharField(label="Address", max_length=200, initial="address_full_match")
    city = forms.CharField(max_length=100, initial="Schenectady")
    state = forms.CharField(max_length=100, initial="NY")
    postal_code = forms.CharField(max_length=20, initial="12345")
    ssn_last_4 = forms.RegexField(
        label="Last 4 of SSN", regex=r"^\d{4}$", initial="0000", max_length=4
    )
    routing_number = forms.RegexField(
        regex=r"^\d{9}$", initial="110000000", help_text="Stripe's test routing number: 110000000."
    )
    account_number = forms.RegexField(
        regex=r"^\d{4,17}$",
        initial="000123456789",
        help_text="000123456789 pays out; 000111111116 makes payouts fail (no_account).",
    )
    outcome = forms.ChoiceField(
        choices=OUTCOME_CHOICES, initial="complete", widget=forms.RadioSelect
    )

    def clean_date_of_birth(self) -> datetime.date:
        value = self.cleaned_data["date_of_birth"]
        if value >= datetime.date.today():
            raise forms.ValidationError("The date of birth must be in the past.")
        return value


class CardForm(forms.Form):
    email = forms.EmailField(required=False)
    card_number = forms.CharField(
        max_length=23,
        initial="",
        widget=forms.TextInput(attrs={"autocomplete": "cc-number", "inputmode": "numeric"}),
    )
    expiry = forms.RegexField(
        label="Expiry (MM / YY)",
        regex=r"^\s*(0[1-9]|1[0-2])\s*/\s*(\d{2})\s*$",
        initial="12 / 34",
        error_messages={"invalid": "Your card's expiration date is incomplete."},
    )
    cvc = forms.RegexField(
        label="CVC",
        regex=r"^\d{3,4}$",
        initial="123",
        error_messages={"invalid": "Your card's security code is incomplete."},
    )
    name = forms.CharField(label="Name on card", max_length=100, required=False)

    def clean_card_number(self) -> str:
        number = "".join(self.cleaned_data["card_number"].split())
        if not number.isdigit() or not 12 <= len(number) <= 19 or not _luhn(number):
            raise forms.ValidationError("Your card number is invalid.")
        return number

    def clean_expiry(self) -> str:
        value = self.cleaned_data["expiry"]
        month, year = (int(part) for part in value.replace(" ", "").split("/"))
        today = datetime.date.today()
        if (2000 + year, month) < (today.year, today.month):
            raise forms.ValidationError("Your card's expiration year is in the past.")
        return f"{month:02d}/{year:02d}"


def _luhn(number: str) -> bool:
    total = 0
    for index, digit in enumerate(reversed(number)):
        value = int(digit)
        if index % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


class OutcomesForm(forms.Form):
    """The developer page's choice of Stripe's other outcomes (``controls``)."""

    refund_outcome = forms.ChoiceField(
        label="New refunds",
        choices=[
            ("succeeded", "Succeed at once"),
            ("pending_succeeds", "Stay pending, then succeed"),
            ("pending_fails", "Stay pending, then fail"),
            ("fails_later", "Succeed, then fail (as card 4000 0000 0000 5126)"),
        ],
    )
    deliveries_shuffled = forms.BooleanField(
        label="Hold deliveries back and send them in a random order", required=False
    )
    duplicate_percent = forms.IntegerField(
        label="Deliveries sent twice (%)", min_value=0, max_value=100, initial=0
    )
    lost_answer_percent = forms.IntegerField(
        label="API answers lost after the work is done (%)", min_value=0, max_value=100, initial=0
    )
    chaos_seed = forms.IntegerField(
        label="Random seed", min_value=0, max_value=2**31 - 1, initial=0
    )
