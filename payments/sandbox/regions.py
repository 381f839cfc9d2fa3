"""Where money may go: the platform's country, settlement regions and cross-border payouts.

Stripe's rules, as its documentation states them:

- Destination charges settle on the platform, so the connected account must be in the
  platform's region; across regions the charge names the connected account as the
  settlement merchant with ``on_behalf_of``
  (https://docs.stripe.com/connect/destination-charges#settlement-merchant). The European
  countries (EEA, the UK and Switzerland) form one region.
- Separate transfers go to accounts in the platform's region. Across regions they are
  cross-border payouts: only platforms in the US, the UK, the EEA, Canada or Switzerland may
  send them, only to accounts in those regions, and only to accounts under the
  ``recipient`` service agreement; with ``on_behalf_of`` (a charge settled by the account)
  they are not supported (https://docs.stripe.com/connect/cross-border-payouts,
  https://docs.stripe.com/connect/service-agreement-types).
- A ``recipient`` account cannot request ``card_payments``, so it cannot be the settlement
  merchant of a charge; transfers to it become available 24 hours later than to a ``full``
  account.
- An account that receives transfers but takes no payments asks for ``transfers`` alone.
  Under the ``full`` agreement Stripe allows that only for an account in the platform's own
  country; elsewhere it answers "You cannot request the `transfers` capability without the
  `card_payments` capability for accounts in US." (a non-US platform, quoted in a public
  issue thread) and the account must take the ``recipient`` agreement. Such an account
  never has ``charges_enabled``: it cannot take a charge; it is usable when ``transfers`` is
  active and ``payouts_enabled``.
"""

from __future__ import annotations

from django.conf import settings

EEA = frozenset(
    {
        "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IS",
        "IE", "IT", "LV", "LI", "LT", "LU", "MT", "NL", "NO", "PL", "PT", "RO", "SK", "SI",
        "ES", "SE",
    }
)  # fmt: skip
EUROPE = EEA | {"GB", "CH"}

# Platforms in these countries may pay out to accounts in these countries across borders.
CROSS_BORDER_PAYOUT_COUNTRIES = EEA | {"US", "GB", "CA", "CH"}

# Countries where the local Stripe creates Express accounts (Stripe's Connect countries).
EXPRESS_COUNTRIES = EUROPE | {
    "US", "CA", "AU", "NZ", "JP", "SG", "HK", "MX", "BR", "MY", "TH", "AE",
}  # fmt: skip

# An account's default currency, as Stripe sets it from the country.
_COUNTRY_CURRENCY = {
    "US": "usd", "CA": "cad", "GB": "gbp", "CH": "chf", "LI": "chf", "AU": "aud",
    "NZ": "nzd", "JP": "jpy", "SG": "sgd", "HK": "hkd", "MX": "mxn", "BR": "brl",
    "MY": "myr", "TH": "thb", "AE": "aed", "DK": "dkk", "SE": "sek", "NO": "nok",
    "PL": "pln", "CZ": "czk", "HU": "huf", "RO": "ron", "BG": "bgn", "IS": "isk",
}  # fmt: skip


def default_currency(country: str) -> str:
    """The currency Stripe gives a new account in ``country`` (the euro in the euro area)."""
    return _COUNTRY_CURRENCY.get(country.upper(), "eur" if country.upper() in EEA else "usd")


# Extra time before a transfer to a ``recipient`` account is available there.
RECIPIENT_AVAILABILITY_DELAY_SECONDS = 24 * 3600


def platform_country() -> str:
    """The platform account's country (``STRIPE_SANDBOX_PLATFORM_COUNTRY``)."""
    return str(settings.STRIPE_SANDBOX_PLATFORM_COUNTRY).upper()


def region(country: str) -> str:
    """The settlement region of a country: ``EU`` for Europe, else the country itself."""
    country = country.upper()
    return "EU" if country in EUROPE else country


def same_region(country: str, other: str) -> bool:
    return region(country) == region(other)


def cross_border_payout_allowed(*, destination_country: str) -> bool:
    """Whether the platform may pay out to an account in ``destination_country`` in another
    region (the account must also be under the ``recipient`` agreement)."""
    return (
        platform_country() in CROSS_BORDER_PAYOUT_COUNTRIES
        and destination_country.upper() in CROSS_BORDER_PAYOUT_COUNTRIES
    )
