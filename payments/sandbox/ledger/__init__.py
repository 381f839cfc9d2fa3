"""Money on the local Stripe, one module per resource family.

``balances`` (balance transactions and balances) · ``charges`` (the charge object) ·
``settlement`` (what a succeeded charge books) · ``application_fees`` · ``transfers`` (and
their reversals) · ``refunds`` · ``disputes`` · ``payouts``.

Every movement is a balance transaction on the account whose balance it changes (the platform
is account ""), written under that balance's row lock, so balances always equal the sum of
their balance transactions. Stripe's processing fee is simulated as 2.9% + 30 minor units
(see docs/stripe-sandbox.md).
"""
