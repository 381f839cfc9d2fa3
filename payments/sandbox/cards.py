"""Stripe's test cards and what each does when charged."""

from __future__ import annotations

from typing import Any

# Stripe's test cards: number -> what happens. Any other number is refused as Stripe's test
# mode refuses real cards.
TEST_CARDS: dict[str, dict[str, Any]] = {
    "4242424242424242": {"outcome": "succeed"},
    "5555555555554444": {"outcome": "succeed"},
    "4000000000000077": {"outcome": "succeed", "available_immediately": True},
    "4000000000000002": {
        "outcome": "decline",
        "code": "card_declined",
        "decline_code": "generic_decline",
        "message": "Your card was declined.",
    },
    # attaching (and setting it up) succeeds; every charge fails (docs.stripe.com/testing:
    # 4000 0000 0000 0341)
    "4000000000000341": {
        "outcome": "decline",
        "setup": "succeed",
        "code": "card_declined",
        "decline_code": "generic_decline",
        "message": "Your card was declined.",
    },
    "4000000000009995": {
        "outcome": "decline",
        "code": "card_declined",
        "decline_code": "insufficient_funds",
        "message": "Your card has insufficient funds.",
    },
    "4000000000000069": {
        "outcome": "decline",
        "code": "expired_card",
        "decline_code": "expired_card",
        "message": "Your card has expired.",
    },
    "4000000000000127": {
        "outcome": "decline",
        "code": "incorrect_cvc",
        "decline_code": "incorrect_cvc",
        "message": "Your card's security code is incorrect.",
    },
    # 3-D Secure (docs.stripe.com/testing#regulatory-cards): 3155 asks for it on a payment the
    # customer makes and when it is set up, and once set up (a SetupIntent) its later
    # off-session payments need none; 3184 and 3220 ask for it every time.
    "4000002500003155": {"outcome": "authenticate", "off_session_once_set_up": True},
    "4000002760003184": {"outcome": "authenticate"},
    "4000000000003220": {"outcome": "authenticate"},
    "4000000000000259": {"outcome": "succeed", "dispute": True},
    # Refunds of these charges reach their outcome later (docs.stripe.com/testing#refunds).
    "4000000000007726": {"outcome": "succeed", "refund_outcome": "pending_succeeds"},
    "4000000000005126": {"outcome": "succeed", "refund_outcome": "fails_later"},
}
