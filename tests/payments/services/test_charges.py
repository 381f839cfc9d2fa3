"""The fee rule as the bookings use it: platform default or the coach's override, an optional
minimum, package shares; invariants under hypothesis for every currency."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from bookings.models import PackagePurchase
from coaches.models import CoachProfile
from coaches.selectors import coach_fee_split
from payments.services.refunds import refund_percent

CURRENCIES = st.sampled_from(["usd", "eur", "jpy", "krw", "kwd", "chf", "clp", "bhd"])


@settings(max_examples=400, deadline=None)
@given(
    total=st.integers(min_value=0, max_value=10**11),
    platform_bps=st.integers(min_value=0, max_value=10000),
    platform_minimum=st.integers(min_value=0, max_value=10**5),
    override_bps=st.one_of(st.none(), st.integers(min_value=0, max_value=10000)),
    override_minimum=st.one_of(st.none(), st.integers(min_value=0, max_value=10**5)),
    currency=CURRENCIES,
)
def test_fee_plus_coach_amount_is_the_total_for_every_coach_and_currency(
    total, platform_bps, platform_minimum, override_bps, override_minimum, currency
):
    from django.test import override_settings

    coach = CoachProfile(
        fee_bps_override=override_bps, minimum_fee_override=override_minimum, currency=currency
    )
    with override_settings(PLATFORM_FEE_BPS=platform_bps, PLATFORM_MINIMUM_FEE=platform_minimum):
        fee, coach_amount = coach_fee_split(coach=coach, total=total)
    bps = platform_bps if override_bps is None else override_bps
    minimum = platform_minimum if override_minimum is None else override_minimum
    # the rule, computed independently with Decimal
    expected = int((Decimal(total) * bps / 10000).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    expected = min(max(expected, minimum), total)
    assert (fee, coach_amount) == (expected, total - expected)
    assert fee + coach_amount == total
    assert fee >= 0 and coach_amount >= 0
    assert type(fee) is int and type(coach_amount) is int


@settings(max_examples=300, deadline=None)
@given(
    coach_amount=st.integers(min_value=0, max_value=10**9),
    session_count=st.integers(min_value=2, max_value=50),
)
def test_package_shares_add_up_to_the_coach_amount(coach_amount, session_count):
    purchase = PackagePurchase(coach_amount=coach_amount, session_count=session_count)
    shares = [purchase.session_share(n) for n in range(1, session_count + 1)]
    assert sum(shares) == coach_amount
    assert all(share >= 0 for share in shares)
    # equal parts, the remainder only on the last session
    assert len(set(shares[:-1])) <= 1
    assert 0 <= shares[-1] - shares[0] < session_count


@given(amount=st.integers(min_value=0, max_value=10**11), percent=st.integers(0, 100))
def test_refund_percentages_never_exceed_the_amount(amount, percent):
    refund = refund_percent(amount, percent)
    assert 0 <= refund <= amount
    assert refund_percent(amount, 100) == amount and refund_percent(amount, 0) == 0
