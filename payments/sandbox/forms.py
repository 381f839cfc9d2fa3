"""Forms of the hosted pages (onboarding, Checkout)."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any

from django import forms

OUTCOME_CHOICES = [
    ("complete", "Finish: submit everything (charges and payouts enabled)"),
    ("leave_due", "Leave a requirement due (identity document past due, account restricted)"),
    ("pending_verification", "Submit, verification pending (enabled later by the controls)"),
    ("reject", "Be rejected (disabled_reason rejected.fraud)"),
]


# SEPA's countries and the others whose banks Stripe reaches by IBAN.
IBAN_COUNTRIES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CH",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GI",
        "GR",
        "HR",
        "HU",
        "IE",
        "IS",
        "IT",
        "LI",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "NO",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    ]
)
# Stripe's test IBANs (docs.stripe.com/connect/testing#account-numbers); others get DE's.
TEST_IBANS = {
    "AT": "AT611904300234573201",
    "BE": "BE62510007547061",
    "CH": "CH9300762011623852957",
    "DE": "DE89370400440532013000",
    "ES": "ES0700120345030000067890",
    "FR": "FR1420041010050500013M02606",
    "IE": "IE29AIBK93115212345678",
    "IT": "IT60X0542811101000000123456",
    "NL": "NL39RABO0300065264",
    "PT": "PT50000201231234567890154",
}


@dataclass(frozen=True)
class CountryFields:
    """What Stripe's hosted onboarding asks an individual in one country (docs.stripe.com/
    connect/required-verification-information): the address's region and its name, a tax id,
    and the bank account's format."""

    bank: str  # "iban", "us", "gb", "ca", "au" or "local"
    region_label: str = ""  # "State", "Province"; "" where the address has none
    postal_label: str = "Postal code"
    tax_id: bool = False  # the last four digits of a US Social Security number
    city: str = "Berlin"
    region: str = ""
    postal_code: str = "10117"


COUNTRY_FIELDS = {
    "US": CountryFields(
        bank="us",
        region_label="State",
        postal_label="ZIP code",
        tax_id=True,
        city="Schenectady",
        region="NY",
        postal_code="12345",
    ),
    "GB": CountryFields(bank="gb", postal_label="Postcode", city="London", postal_code="EC1A 1BB"),
    "CA": CountryFields(
        bank="ca", region_label="Province", city="Toronto", region="ON", postal_code="M5H 2N2"
    ),
    "AU": CountryFields(
        bank="au", region_label="State", city="Sydney", region="NSW", postal_code="2000"
    ),
    "FR": CountryFields(bank="iban", city="Paris", postal_code="75001"),
    "CH": CountryFields(bank="iban", city="Zürich", postal_code="8001"),
    "DE": CountryFields(bank="iban"),
}


def country_fields(country: str) -> CountryFields:
    country = (country or "US").upper()
    if country in COUNTRY_FIELDS:
        return COUNTRY_FIELDS[country]
    if country in IBAN_COUNTRIES:
        return CountryFields(bank="iban", city="City", postal_code="1000")
    return CountryFields(bank="local", city="City", postal_code="1000")


def iban_is_valid(iban: str) -> bool:
    """ISO 13616: two letters, two check digits, the account; mod 97 of the rearranged
    number is 1."""
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", iban):
        return False
    digits = "".join(str(int(char, 36)) for char in iban[4:] + iban[:4])
    return int(digits) % 97 == 1


class OnboardingForm(forms.Form):
    """The hosted onboarding page's form, with the fields Stripe asks in the account's
    country: a German individual gives an IBAN and no state or Social Security number."""

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
    city = forms.CharField(max_length=100)
    postal_code = forms.CharField(max_length=20)
    outcome = forms.ChoiceField(
        choices=OUTCOME_CHOICES, initial="complete", widget=forms.RadioSelect
    )

    def __init__(self, *args: Any, country: str = "US", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.country = (country or "US").upper()
        rules = self.rules = country_fields(self.country)
        self.fields["city"].initial = rules.city
        self.fields["postal_code"].initial = rules.postal_code
        self.fields["postal_code"].label = rules.postal_label
        if rules.region_label:
            self.fields["state"] = forms.CharField(
                label=rules.region_label, max_length=100, initial=rules.region
            )
        if rules.tax_id:
            self.fields["ssn_last_4"] = forms.RegexField(
                label="Last 4 of SSN", regex=r"^\d{4}$", initial="0000", max_length=4
            )
        for name, field in self._bank_fields(rules.bank).items():
            self.fields[name] = field
        # the outcome last, after the bank account
        self.fields["outcome"] = self.fields.pop("outcome")

    def _bank_fields(self, bank: str) -> dict[str, forms.Field]:
        account = forms.RegexField(
            regex=r"^\d{4,17}$",
            initial="000123456789",
            help_text="000123456789 pays out; 000111111116 makes payouts fail (no_account).",
        )
        if bank == "iban":
            return {
                "iban": forms.CharField(
                    label="IBAN",
                    max_length=42,
                    initial=TEST_IBANS.get(self.country, TEST_IBANS["DE"]),
                    help_text="Stripe's test IBAN for the country pays out.",
                )
            }
        if bank == "us":
            return {
                "routing_number": forms.RegexField(
                    regex=r"^\d{9}$",
                    initial="110000000",
                    help_text="Stripe's test routing number: 110000000.",
                ),
                "account_number": account,
            }
        if bank == "gb":
            account.initial = "00012345"
            account.help_text = "Stripe's test account number 00012345 pays out."
            return {
                "sort_code": forms.RegexField(
                    regex=r"^\d{2}-?\d{2}-?\d{2}$", initial="10-88-00", label="Sort code"
                ),
                "account_number": account,
            }
        if bank == "ca":
            return {
                "transit_number": forms.RegexField(
                    regex=r"^\d{5}$", initial="11000", label="Transit number"
                ),
                "institution_number": forms.RegexField(
                    regex=r"^\d{3}$", initial="000", label="Institution number"
                ),
                "account_number": account,
            }
        if bank == "au":
            account.initial = "000123456"
            return {
                "bsb": forms.RegexField(regex=r"^\d{3}-?\d{3}$", initial="110000", label="BSB"),
                "account_number": account,
            }
        return {
            "routing_number": forms.CharField(label="Bank code", max_length=20, initial="1100000"),
            "account_number": account,
        }

    def clean_iban(self) -> str:
        iban = "".join(self.cleaned_data["iban"].split()).upper()
        if not iban_is_valid(iban):
            raise forms.ValidationError("The IBAN you entered is invalid.")
        return iban

    def clean_date_of_birth(self) -> datetime.date:
        value = self.cleaned_data["date_of_birth"]
        if value >= datetime.date.today():
            raise forms.ValidationError("The date of birth must be in the past.")
        return value

    def bank_account(self) -> dict[str, Any]:
        """The external account's numbers as the Stripe API takes them."""
        data = self.cleaned_data
        if "iban" in data:
            return {"account_number": data["iban"], "routing_number": None}
        if "sort_code" in data:
            routing = data["sort_code"].replace("-", "")
        elif "transit_number" in data:
            routing = f"{data['transit_number']}-{data['institution_number']}"
        elif "bsb" in data:
            routing = data["bsb"].replace("-", "")
        else:
            routing = data["routing_number"]
        return {"account_number": data["account_number"], "routing_number": routing}

    def address(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "line1": data["address_line1"],
            "city": data["city"],
            "state": data.get("state") or None,
            "postal_code": data["postal_code"],
        }

    def address_fields(self) -> list[forms.BoundField]:
        names = ["address_line1", "city", "state", "postal_code"]
        return [self[name] for name in names if name in self.fields]

    def about_fields(self) -> list[forms.BoundField]:
        names = ["first_name", "last_name", "date_of_birth", "email", "phone", "ssn_last_4"]
        return [self[name] for name in names if name in self.fields]

    def bank_fields(self) -> list[forms.BoundField]:
        names = [
            "iban",
            "sort_code",
            "transit_number",
            "institution_number",
            "bsb",
            "routing_number",
            "account_number",
        ]
        return [self[name] for name in names if name in self.fields]


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
    save_card = forms.BooleanField(
        label="Save my card for future payments with this business", required=False
    )

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
    latency_p50_ms = forms.IntegerField(
        label="Network latency of each API answer, median (ms; 0: none; empty: the setting)",
        min_value=0,
        max_value=60_000,
        required=False,
    )
    latency_p95_ms = forms.IntegerField(
        label="Network latency, 95th percentile (ms; log-normal)",
        min_value=0,
        max_value=60_000,
        required=False,
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        p50, p95 = data.get("latency_p50_ms"), data.get("latency_p95_ms")
        if p50 is not None and p95 and p95 < p50:
            self.add_error("latency_p95_ms", "The 95th percentile is at least the median.")
        return data
