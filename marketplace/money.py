"""Money is integer minor units plus an ISO 4217 code, as Stripe keeps it.

This is the one module that knows zero-decimal currencies and how to format an amount.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

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

CURRENCY_SYMBOLS = {
    "usd": "$",
    "eur": "€",
    "gbp": "£",
    "chf": "CHF ",
    "jpy": "¥",
    "cad": "CA$",
    "aud": "A$",
}


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


def format_money(amount: int, currency: str) -> str:
    """``format_money(4990, "usd") == "$49.90"``; ``format_money(5000, "jpy") == "¥5,000"``."""
    places = decimals(currency)
    major = to_major(amount, currency)
    number = f"{abs(major):,.{places}f}"
    sign = "-" if amount < 0 else ""
    symbol = CURRENCY_SYMBOLS.get(currency.lower())
    if symbol:
        return f"{sign}{symbol}{number}"
    return f"{sign}{number} {currency.upper()}"


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
