"""Which charge and transfer design Stripe allows for a coach, from the platform's country,
the country of the coach's connected account and its service agreement.

The rules are Stripe's (docs/money.md, "Countries", has the table and the sources):

- A destination charge settles on the platform, so the coach's account must be in the
  platform's region (the European countries, EEA, UK and Switzerland, are one region);
  across regions the coach's account is named as the settlement merchant with
  ``on_behalf_of``, which needs an account under the ``full`` service agreement.
- A separate transfer (a package session's share) to an account in another region is a
  cross-border payout: only from a platform in the US, the UK, the EEA, Canada or
  Switzerland, only to an account in one of those, and only under the ``recipient``
  agreement. A ``recipient`` account cannot take card payments, so it is never named in
  ``on_behalf_of``; its bookings are destination charges settled on the platform, which
  Stripe allows for cross-border payouts.

These facts are written here for the product's decisions; the local Stripe keeps its own
copy (``payments/sandbox/regions.py``), so a mistake in one is caught by the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from payments.models import ConnectedAccount

# Stripe's Express onboarding serves these countries among others; the setup wizard offers
# them.
SUPPORTED_COUNTRIES: dict[str, str] = {
    "US": "United States",
    "CA": "Canada",
    "GB": "United Kingdom",
    "IE": "Ireland",
    "DE": "Germany",
    "FR": "France",
    "NL": "Netherlands",
    "CH": "Switzerland",
    "AU": "Australia",
}

FULL = "full"
RECIPIENT = "recipient"

_EEA = frozenset(
    {
        "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IS",
        "IE", "IT", "LV", "LI", "LT", "LU", "MT", "NL", "NO", "PL", "PT", "RO", "SK", "SI",
        "ES", "SE",
    }
)  # fmt: skip
_EUROPE = _EEA | {"GB", "CH"}
CROSS_BORDER_PAYOUT_COUNTRIES = _EEA | {"US", "GB", "CA", "CH"}


def region(country: str) -> str:
    country = country.upper()
    return "EU" if country in _EUROPE else country


@dataclass(frozen=True)
class Design:
    """How a coach is charged and paid."""

    # The service agreement the coach's Express account is created under.
    service_agreement: str
    # Bookings are destination charges; with this the coach's account settles them.
    booking_on_behalf_of: bool
    # A package is a charge on the platform whose session shares are transferred as the
    # sessions are completed; without it, a destination charge settled by the coach's account
    # (the coach is paid for the whole package at purchase).
    package_transfers: bool
    # What the coach's country allows, in plain words for the setup wizard.
    summary: str


def platform_country() -> str:
    return str(settings.PLATFORM_COUNTRY).upper()


def onboarding_agreement(*, coach_country: str) -> str:
    """The service agreement a new account in ``coach_country`` is created under."""
    coach_country = coach_country.upper()
    if region(coach_country) == region(platform_country()):
        return FULL
    if (
        platform_country() in CROSS_BORDER_PAYOUT_COUNTRIES
        and coach_country in CROSS_BORDER_PAYOUT_COUNTRIES
    ):
        return RECIPIENT
    return FULL


def payee_agreement(*, country: str) -> str | None:
    """The service agreement of a new account that only receives transfers (a payee who is
    not a coach, asking for ``transfers`` alone), or None when Stripe lets the platform send
    no transfers to ``country``.

    Stripe allows ``transfers`` without ``card_payments`` under the ``full`` agreement only
    in the platform's own country; elsewhere in its region, or across the border where
    cross-border payouts reach, the account takes the ``recipient`` agreement."""
    country = country.upper()
    if country == platform_country():
        return FULL
    if region(country) == region(platform_country()):
        return RECIPIENT
    if (
        platform_country() in CROSS_BORDER_PAYOUT_COUNTRIES
        and country in CROSS_BORDER_PAYOUT_COUNTRIES
    ):
        return RECIPIENT
    return None


def payee_summary(*, country: str) -> str:
    """What a payee in ``country`` should expect, in plain words for the setup wizard."""
    agreement = payee_agreement(country=country)
    if agreement is None:
        return (
            f"Stripe does not let Coach Connect, in {platform_country()}, send money to an "
            "account in this country: choose the country where you live and bank, or ask "
            "our staff."
        )
    if agreement == FULL:
        return (
            "Coach Connect sends what you are awarded to your Stripe account; Stripe pays it "
            "to your bank."
        )
    return (
        "Coach Connect sends what you are awarded across the border to your Stripe account "
        "(a day later than within a country); Stripe pays it to your bank in your currency."
    )


def accepts_transfers(account: ConnectedAccount) -> bool:
    """Whether Stripe lets the platform send separate transfers to the account, by its
    country and agreement as Stripe reported them (its capabilities are checked apart)."""
    country = (account.country or platform_country()).upper()
    if region(country) == region(platform_country()):
        return True
    return (
        account.service_agreement == RECIPIENT
        and platform_country() in CROSS_BORDER_PAYOUT_COUNTRIES
        and country in CROSS_BORDER_PAYOUT_COUNTRIES
    )


def design_for(*, coach_country: str, service_agreement: str = "") -> Design:
    """The design for an account in ``coach_country`` under ``service_agreement`` (as Stripe
    reports it; empty: the one a new account would get)."""
    coach_country = coach_country.upper()
    agreement = service_agreement or onboarding_agreement(coach_country=coach_country)
    if region(coach_country) == region(platform_country()):
        return Design(
            service_agreement=agreement,
            booking_on_behalf_of=False,
            package_transfers=True,
            summary=(
                "Clients can book single sessions and packages; Stripe pays you in your "
                "bank's currency."
            ),
        )
    if agreement == RECIPIENT:
        return Design(
            service_agreement=RECIPIENT,
            booking_on_behalf_of=False,
            package_transfers=True,
            summary=(
                "Clients can book single sessions and packages. Coach Connect takes the "
                f"payments in {platform_country()} and Stripe pays your share to your bank "
                "across the border (a day later than within a country)."
            ),
        )
    return Design(
        service_agreement=FULL,
        booking_on_behalf_of=True,
        package_transfers=False,
        summary=(
            "Clients can book single sessions and packages, charged in your name in your "
            f"country. Stripe does not let a platform in {platform_country()} send separate "
            "transfers to your country, so you are paid for a whole package when the client "
            "buys it, and unused sessions are refunded from it."
        ),
    )


def design_for_account(account: ConnectedAccount) -> Design:
    """The design of a coach's connected account, from its country and service agreement as
    Stripe reported them at the last refresh. An account not yet refreshed since the
    agreement was recorded counts as ``full``, the only kind made before."""
    return design_for(
        coach_country=account.country or platform_country(),
        service_agreement=account.service_agreement or (FULL if account.stripe_account_id else ""),
    )


# Time zones of the countries coaches can set up payouts in: the setup wizard's country is
# the browser's (or the coach's saved) time zone's country by default.
COUNTRY_TIME_ZONES: dict[str, tuple[str, ...]] = {
    "US": (
        "America/New_York", "America/Detroit", "America/Chicago", "America/Denver",
        "America/Phoenix", "America/Los_Angeles", "America/Anchorage", "America/Juneau",
        "America/Boise", "America/Indiana/Indianapolis", "America/Kentucky/Louisville",
        "America/Menominee", "America/Nome", "America/Sitka", "America/Adak",
        "Pacific/Honolulu", "US/Eastern", "US/Central", "US/Mountain", "US/Pacific",
        "US/Alaska", "US/Hawaii",
    ),
    "CA": (
        "America/Toronto", "America/Vancouver", "America/Edmonton", "America/Winnipeg",
        "America/Halifax", "America/St_Johns", "America/Regina", "America/Moncton",
        "America/Whitehorse", "America/Yellowknife", "America/Iqaluit", "Canada/Eastern",
        "Canada/Pacific", "Canada/Central", "Canada/Mountain", "Canada/Atlantic",
    ),
    "GB": ("Europe/London", "Europe/Belfast", "GB"),
    "IE": ("Europe/Dublin", "Eire"),
    "DE": ("Europe/Berlin", "Europe/Busingen"),
    "FR": ("Europe/Paris",),
    "NL": ("Europe/Amsterdam",),
    "CH": ("Europe/Zurich",),
    "AU": (
        "Australia/Sydney", "Australia/Melbourne", "Australia/Brisbane", "Australia/Perth",
        "Australia/Adelaide", "Australia/Hobart", "Australia/Darwin", "Australia/Canberra",
    ),
}  # fmt: skip


def country_for_time_zone(time_zone: str) -> str:
    """The supported country a time zone belongs to, or "" when none does."""
    for country, zones in COUNTRY_TIME_ZONES.items():
        if time_zone in zones:
            return country
    if time_zone.startswith("America/Indiana/") or time_zone.startswith("America/Kentucky/"):
        return "US"
    if time_zone.startswith("Australia/"):
        return "AU"
    return ""
