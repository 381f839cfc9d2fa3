"""The connected account's onboarding state, derived from Stripe's fields by one function.

Stripe is the source of truth; we never set a coach's account state by hand. The rules, in
order (the first that matches wins):

1. the platform's access was revoked (``account.application.deauthorized``) -> ``deauthorized``
2. ``requirements.disabled_reason`` starts with ``rejected.`` -> ``rejected``
3. no Stripe account yet -> ``created``
4. charges and payouts enabled, nothing past due, no disabled reason -> ``active``
   (requirements due later, with a deadline, are shown to the coach but do not stop charges);
   an account with ``transfers`` alone (no ``card_payments``: a ``recipient`` account, a
   payee who is not a coach) never has charges enabled, so for it the ``transfers``
   capability being active stands in for them
5. details not submitted -> ``onboarding`` once the coach was sent to Stripe, else ``created``
6. something past due, or a disabled reason other than Stripe verifying -> ``restricted`` for
   an account that was active before; ``onboarding`` for one that never was (a coach who
   left requirements due during setup is still setting up, not restricted)
7. something currently due (the coach must still act) -> ``onboarding``
8. otherwise (Stripe is verifying what was submitted) -> ``pending_verification``
"""

from __future__ import annotations

from dataclasses import dataclass, field

from payments.models import ACCOUNT_TRANSITIONS, AccountState

# Disabled reasons that mean "Stripe is checking", not "the coach must fix something".
VERIFYING_REASONS = frozenset({"requirements.pending_verification", "under_review"})


@dataclass(frozen=True)
class AccountFacts:
    """The Stripe fields the state depends on, plus two facts only we know."""

    has_stripe_account: bool = True
    details_submitted: bool = False
    charges_enabled: bool = False
    payouts_enabled: bool = False
    currently_due: tuple[str, ...] = field(default_factory=tuple)
    past_due: tuple[str, ...] = field(default_factory=tuple)
    disabled_reason: str = ""
    deauthorized: bool = False
    onboarding_started: bool = False
    ever_active: bool = False
    # The account asked for ``card_payments``; without it (``transfers`` alone) Stripe keeps
    # ``charges_enabled`` false and ``transfers_active`` says whether money can reach it.
    takes_card_payments: bool = True
    transfers_active: bool = False


def derive_state(facts: AccountFacts) -> AccountState:
    if facts.deauthorized:
        return AccountState.DEAUTHORIZED
    if facts.disabled_reason.startswith("rejected."):
        return AccountState.REJECTED
    if not facts.has_stripe_account:
        return AccountState.CREATED
    usable = facts.charges_enabled if facts.takes_card_payments else facts.transfers_active
    if usable and facts.payouts_enabled and not facts.past_due and not facts.disabled_reason:
        return AccountState.ACTIVE
    if not facts.details_submitted:
        return AccountState.ONBOARDING if facts.onboarding_started else AccountState.CREATED
    if facts.past_due or (facts.disabled_reason and facts.disabled_reason not in VERIFYING_REASONS):
        return AccountState.RESTRICTED if facts.ever_active else AccountState.ONBOARDING
    if facts.currently_due:
        return AccountState.ONBOARDING
    return AccountState.PENDING_VERIFICATION


def can_transition(from_state: str, to_state: str) -> bool:
    return to_state == from_state or to_state in ACCOUNT_TRANSITIONS[AccountState(from_state)]


# Plain words for Stripe's requirement names, shown to coaches. Anything not listed is turned
# into words from its dotted name ("individual.address.city" -> "Individual address city").
REQUIREMENT_LABELS: dict[str, str] = {
    "business_profile.url": "Your business website or profile URL",
    "business_profile.mcc": "Your business category",
    "business_profile.product_description": "A description of what you sell",
    "business_type": "Whether you are an individual or a company",
    "external_account": "A bank account for payouts",
    "tos_acceptance.date": "Accepting Stripe's terms of service",
    "tos_acceptance.ip": "Accepting Stripe's terms of service",
    "individual.first_name": "Your first name",
    "individual.last_name": "Your last name",
    "individual.dob.day": "Your date of birth",
    "individual.dob.month": "Your date of birth",
    "individual.dob.year": "Your date of birth",
    "individual.email": "Your e-mail address",
    "individual.phone": "Your phone number",
    "individual.address.line1": "Your street address",
    "individual.address.city": "Your city",
    "individual.address.postal_code": "Your postal code",
    "individual.address.state": "Your state or region",
    "individual.ssn_last_4": "The last 4 digits of your Social Security number",
    "individual.id_number": "Your government ID number",
    "individual.verification.document": "A photo of your ID document",
    "individual.verification.additional_document": "A document proving your address",
}


def requirement_label(requirement: str) -> str:
    if requirement in REQUIREMENT_LABELS:
        return REQUIREMENT_LABELS[requirement]
    words = requirement.replace(".", " ").replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def requirement_labels(requirements: list[str]) -> list[str]:
    """Plain words for a list of requirements, each said once, in Stripe's order."""
    labels: dict[str, None] = {}
    for requirement in requirements:
        labels.setdefault(requirement_label(requirement), None)
    return list(labels)
