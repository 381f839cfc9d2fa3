"""Payments' services, one module per action family (as Zulip's ``zerver/actions/``):

- ``accounts``: Connect accounts, onboarding, refreshing from Stripe, settings written to it;
- ``alerts``: staff alerts;
- ``charges``: the fee rule, payments and their Checkout Sessions, settling from Stripe;
- ``refunds``, ``disputes``, ``transfers``, ``payouts``;
- ``catalog``: Products and recurring Prices of what subscriptions are to;
- ``webhooks``: receiving and processing Stripe's events.

Import the module you need: ``from payments.services import refunds``.
"""
