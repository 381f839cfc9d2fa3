"""Money is integer minor units plus an ISO 4217 code, as Stripe keeps it.

This is the one module that knows zero-decimal currencies and how to format an amount (with
Babel, in the viewer's locale).
"""

from __future__ import annotations

import re
from copy import copy
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from babel import Locale, UnknownLocaleError, numbers
from django.conf import settings
from django.utils import translation

# Stripe's zero-decimal currencies: https://docs.stripe.com/currencies#zero-decimal
ZERO_DECIMAL_CURRENCIES = frozenset(
    {
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    }
)
# Stripe's three-decimal currencies.
THREE_DECIMAL_CURRENCIES = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})

# The most Stripe charges at once: "the amount value supports up to eight digits", i.e.
# 99,999,999 minor units ($999,999.99, ¥99,999,999) for every currency the product sells in;
# Stripe refuses more with ``amount_too_large``. Prices, packages and minimum payouts are held
# to it where they are typed, so every amount fits a 32-bit column with room to spare.
MAX_CHARGE_AMOUNT = 99_999_999

# The least Stripe charges at once, per settlement currency (Stripe's "Minimum and maximum
# charge amounts"), in minor units; a currency not listed takes the US dollar's 50.
MINIMUM_CHARGE_AMOUNTS = {
    "aed": 200,
    "aud": 50,
    "bgn": 100,
    "brl": 50,
    "cad": 50,
    "chf": 50,
    "czk": 1500,
    "dkk": 250,
    "eur": 50,
    "gbp": 30,
    "hkd": 400,
    "huf": 17500,
    "inr": 50,
    "jpy": 50,
    "mxn": 1000,
    "myr": 200,
    "nok": 300,
    "nzd": 50,
    "pln": 200,
    "ron": 200,
    "sek": 300,
    "sgd": 50,
    "thb": 1000,
    "usd": 50,
}


def minimum_charge(currency: str) -> int:
    """The least Stripe charges in ``currency``, in its minor units."""
    return MINIMUM_CHARGE_AMOUNTS.get(currency.lower(), 50)


def decimals(currency: str) -> int:
    currency = currency.lower()
    if currency in ZERO_DECIMAL_CURRENCIES:
        return 0
    if currency in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def to_major(amount: int, currency: str) -> Decimal:
    return Decimal(amount).scaleb(-decimals(currency))


def to_minor(value: Decimal | str | int, currency: str) -> int:
    """Turn a major-unit value typed by a person ("49.90") into minor units (4990)."""
    quantized = Decimal(value).scaleb(decimals(currency)).quantize(Decimal(1), ROUND_HALF_UP)
    return int(quantized)


def format_money(amount: int, currency: str, *, locale: str | None = None) -> str:
    """``amount`` minor units of ``currency`` as the viewer's locale writes money (Babel,
    CLDR): ``format_money(4990, "usd") == "$49.90"``, ``format_money(5000, "jpy") ==
    "¥5,000"``, ``format_money(9500, "eur", locale="de") == "95,00\xa0€"``.

    ``locale`` defaults to the active language (``LANGUAGE_CODE``, or the request's when
    ``LocaleMiddleware`` chooses one). The digits are Stripe's for the currency (this module's
    :func:`decimals`), not CLDR's, so what is shown is what is charged.
    """
    return _format_money(
        amount, currency.lower(), locale or translation.get_language() or settings.LANGUAGE_CODE
    )


# Babel builds the text anew on each call (a tenth of a millisecond; a page of plans and
# invoices shows dozens of amounts, most of them the same few prices): the text depends on
# the amount, the currency and the locale alone.
@lru_cache(maxsize=4096)
def _format_money(amount: int, currency: str, locale: str) -> str:
    cldr = babel_locale(locale)
    pattern = copy(cldr.currency_formats["standard"])
    places = decimals(currency)
    pattern.frac_prec = (places, places)
    text = pattern.apply(
        to_major(amount, currency), cldr, currency=currency.upper(), currency_digits=False
    )
    # CLDR's currency spacing, which Babel leaves out: a symbol of letters ("CHF", "KWD") is
    # kept apart from the number by a no-break space ("CHF 150.00", not "CHF150.00").
    return _LETTER_BESIDE_DIGIT.sub("\u00a0", text)


_LETTER_BESIDE_DIGIT = re.compile(r"(?<=[^\W\d_])(?=[-\d])|(?<=\d)(?=[^\W\d_])")


def format_percent(basis_points: int, *, locale: str | None = None) -> str:
    """``format_percent(1500) == "15%"``; ``format_percent(1250) == "12.5%"``."""
    cldr = babel_locale(locale)
    return numbers.format_percent(Decimal(basis_points) / 10000, "#,##0.##%", locale=cldr)


@lru_cache(maxsize=32)
def _parse_locale(name: str) -> Locale:
    try:
        return Locale.parse(name.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def babel_locale(locale: str | None) -> Locale:
    return _parse_locale(locale or translation.get_language() or settings.LANGUAGE_CODE)


def round_half_up_div(numerator: int, denominator: int) -> int:
    """Integer division rounding halves away from zero, for non-negative operands."""
    return (2 * numerator + denominator) // (2 * denominator)


def split_application_fee(*, total: int, fee_bps: int, minimum_fee: int = 0) -> tuple[int, int]:
    """Split ``total`` into ``(application_fee, coach_amount)``.

    ``application_fee = round_half_up(total * fee_bps / 10000)``, raised to ``minimum_fee``,
    never more than ``total``; ``coach_amount = total - application_fee``. Both are integers
    in the same currency's minor units, never negative, and add up to ``total``.
    """
    if total < 0:
        raise ValueError("total must not be negative")
    if not 0 <= fee_bps <= 10000:
        raise ValueError("fee_bps must be between 0 and 10000")
    fee = round_half_up_div(total * fee_bps, 10000)
    fee = min(max(fee, minimum_fee), total)
    return fee, total - fee
