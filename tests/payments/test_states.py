"""The onboarding state is derived from Stripe's fields by one function: every case that
matters, and the invariants over every combination."""

from __future__ import annotations

import itertools

import pytest

from payments.models import AccountState
from payments.states import (
    AccountFacts,
    can_transition,
    derive_state,
    requirement_label,
    requirement_labels,
)

DUE = ("individual.verification.document",)


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        # nothing at Stripe yet
        (AccountFacts(has_stripe_account=False), AccountState.CREATED),
        # a fresh Express account: Stripe marks everything past due at once
        (
            AccountFacts(past_due=DUE, currently_due=DUE, disabled_reason="requirements.past_due"),
            AccountState.CREATED,
        ),
        (
            AccountFacts(
                past_due=DUE,
                currently_due=DUE,
                disabled_reason="requirements.past_due",
                onboarding_started=True,
            ),
            AccountState.ONBOARDING,
        ),
        # submitted, Stripe verifying
        (
            AccountFacts(
                details_submitted=True,
                disabled_reason="requirements.pending_verification",
                onboarding_started=True,
            ),
            AccountState.PENDING_VERIFICATION,
        ),
        (
            AccountFacts(details_submitted=True, disabled_reason="under_review"),
            AccountState.PENDING_VERIFICATION,
        ),
        (
            AccountFacts(details_submitted=True, charges_enabled=True, payouts_enabled=False),
            AccountState.PENDING_VERIFICATION,
        ),
        # all enabled
        (
            AccountFacts(details_submitted=True, charges_enabled=True, payouts_enabled=True),
            AccountState.ACTIVE,
        ),
        # active with something due later (deadline in the future): still active
        (
            AccountFacts(
                details_submitted=True,
                charges_enabled=True,
                payouts_enabled=True,
                currently_due=DUE,
            ),
            AccountState.ACTIVE,
        ),
        # left requirements due during the first setup: still onboarding, not restricted
        (
            AccountFacts(
                details_submitted=True,
                currently_due=DUE,
                past_due=DUE,
                disabled_reason="requirements.past_due",
                onboarding_started=True,
            ),
            AccountState.ONBOARDING,
        ),
        (
            AccountFacts(details_submitted=True, currently_due=DUE, onboarding_started=True),
            AccountState.ONBOARDING,
        ),
        # was active, now past due: restricted
        (
            AccountFacts(
                details_submitted=True,
                currently_due=DUE,
                past_due=DUE,
                disabled_reason="requirements.past_due",
                onboarding_started=True,
                ever_active=True,
            ),
            AccountState.RESTRICTED,
        ),
        # was active, Stripe paused it with charges still on: restricted
        (
            AccountFacts(
                details_submitted=True,
                charges_enabled=True,
                payouts_enabled=True,
                disabled_reason="platform_paused",
                ever_active=True,
            ),
            AccountState.RESTRICTED,
        ),
        # rejected wins over everything but deauthorization
        (
            AccountFacts(details_submitted=True, disabled_reason="rejected.fraud"),
            AccountState.REJECTED,
        ),
        (
            AccountFacts(disabled_reason="rejected.terms_of_service", ever_active=True),
            AccountState.REJECTED,
        ),
        (
            AccountFacts(
                details_submitted=True,
                charges_enabled=True,
                payouts_enabled=True,
                deauthorized=True,
            ),
            AccountState.DEAUTHORIZED,
        ),
        (
            AccountFacts(disabled_reason="rejected.fraud", deauthorized=True),
            AccountState.DEAUTHORIZED,
        ),
    ],
)
def test_derive_state(facts, expected):
    assert derive_state(facts) == expected


def test_every_combination_is_consistent():
    # given every combination of the fields that matter
    flags = [False, True]
    reasons = ["", "requirements.past_due", "requirements.pending_verification", "rejected.fraud"]
    for combo in itertools.product(flags, flags, flags, flags, flags, reasons, flags, flags, flags):
        (has, submitted, charges, payouts, past, reason, deauth, started, ever) = combo
        facts = AccountFacts(
            has_stripe_account=has,
            details_submitted=submitted,
            charges_enabled=charges,
            payouts_enabled=payouts,
            past_due=DUE if past else (),
            currently_due=DUE if past else (),
            disabled_reason=reason,
            deauthorized=deauth,
            onboarding_started=started,
            ever_active=ever,
        )
        state = derive_state(facts)
        # then: active exactly when Stripe lets the account charge and pay out, cleanly
        is_active = has and charges and payouts and not past and not reason and not deauth
        assert (state == AccountState.ACTIVE) == is_active, combo
        # deauthorization and rejection always show
        if deauth:
            assert state == AccountState.DEAUTHORIZED
        elif reason.startswith("rejected."):
            assert state == AccountState.REJECTED
        # restricted only for an account that was active once
        if state == AccountState.RESTRICTED:
            assert ever and submitted
        # created only before the coach went to Stripe
        if state == AccountState.CREATED:
            assert not has or not started


def test_an_account_with_transfers_alone_is_active_on_its_transfers_capability():
    # given: an account that never takes charges (a payee, a recipient-agreement coach)
    onboarded = AccountFacts(
        details_submitted=True,
        charges_enabled=False,
        payouts_enabled=True,
        takes_card_payments=False,
        transfers_active=True,
    )
    # then: active while its transfers capability is, whatever charges_enabled says
    assert derive_state(onboarded) == AccountState.ACTIVE
    restricted = AccountFacts(
        details_submitted=True,
        payouts_enabled=True,
        takes_card_payments=False,
        transfers_active=False,
        past_due=DUE,
        currently_due=DUE,
        disabled_reason="requirements.past_due",
        ever_active=True,
    )
    assert derive_state(restricted) == AccountState.RESTRICTED
    # and an account that takes card payments still needs charges enabled
    assert derive_state(AccountFacts(**{**onboarded.__dict__, "takes_card_payments": True})) == (
        AccountState.PENDING_VERIFICATION
    )


def test_deauthorized_is_final():
    for state in AccountState:
        assert can_transition(state, AccountState.DEAUTHORIZED)
        assert can_transition(AccountState.DEAUTHORIZED, state) == (
            state == AccountState.DEAUTHORIZED
        )
    assert can_transition(AccountState.ACTIVE, AccountState.RESTRICTED)
    assert can_transition(AccountState.RESTRICTED, AccountState.ACTIVE)


def test_requirements_in_plain_words():
    assert requirement_label("external_account") == "A bank account for payouts"
    assert requirement_label("company.tax_id") == "Company tax id"
    # the three date-of-birth parts are one thing to do
    assert requirement_labels(
        ["individual.dob.day", "individual.dob.month", "individual.dob.year"]
    ) == ["Your date of birth"]
