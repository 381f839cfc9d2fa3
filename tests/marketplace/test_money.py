from hypothesis import given
from hypothesis import strategies as st

from marketplace.money import (
    ZERO_DECIMAL_CURRENCIES,
    decimals,
    format_money,
    split_application_fee,
    to_minor,
)

CURRENCIES = st.sampled_from(["usd", "eur", "gbp", "chf", "jpy", "krw", "kwd", "cad"])


@given(
    total=st.integers(min_value=0, max_value=10**12),
    fee_bps=st.integers(min_value=0, max_value=10000),
    minimum_fee=st.integers(min_value=0, max_value=10**6),
    currency=CURRENCIES,
)
def test_fee_and_coach_amount_add_up_and_are_never_negative(total, fee_bps, minimum_fee, currency):
    fee, coach_amount = split_application_fee(total=total, fee_bps=fee_bps, minimum_fee=minimum_fee)
    assert fee + coach_amount == total
    assert fee >= 0
    assert coach_amount >= 0
    assert isinstance(fee, int)
    assert isinstance(coach_amount, int)


def test_fee_rounds_half_up():
    # 15% of 1,003 is 150.45 -> 150; 15% of 1,010 is 151.5 -> 152
    assert split_application_fee(total=1003, fee_bps=1500) == (150, 853)
    assert split_application_fee(total=1010, fee_bps=1500) == (152, 858)
    assert split_application_fee(total=100, fee_bps=1000, minimum_fee=50) == (50, 50)
    assert split_application_fee(total=30, fee_bps=1000, minimum_fee=50) == (30, 0)


def test_zero_decimal_currencies_format_without_cents():
    assert "jpy" in ZERO_DECIMAL_CURRENCIES
    assert decimals("JPY") == 0
    assert format_money(5000, "jpy") == "¥5,000"
    assert format_money(4990, "usd") == "$49.90"
    assert format_money(1234, "kwd") == "KWD\u00a01.234"
    assert to_minor("49.90", "usd") == 4990
    assert to_minor("5000", "jpy") == 5000
