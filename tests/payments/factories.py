from __future__ import annotations

import factory

from payments.models import AccountState, ConnectedAccount
from tests.factories import CoachUserFactory


class ConnectedAccountFactory(factory.django.DjangoModelFactory):
    """A local row only; tests that need the Stripe side create it through the services."""

    class Meta:
        model = ConnectedAccount

    coach = factory.SubFactory(CoachUserFactory)
    stripe_account_id = factory.Sequence(lambda n: f"acct_test{n:011d}")
    state = AccountState.ONBOARDING
    country = "US"
    default_currency = "usd"
