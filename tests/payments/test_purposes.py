"""Payment purposes: how payments tells the owner of a payment what happened to it."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from payments import purposes
from payments.models import Payment, PaymentKind


def test_bookings_registers_the_booking_and_package_purposes():
    assert set(purposes.PURPOSES) >= {PaymentKind.BOOKING, PaymentKind.PACKAGE}
    booking = purposes.PURPOSES[PaymentKind.BOOKING]
    # the booking's owner takes its locks first, confirms, expires, is told of refunds and
    # disputes; a package has no dispute handling of its own
    assert booking.lock_owner and booking.payment_succeeded and booking.checkout_expired
    assert booking.refund_updated and booking.dispute_opened
    package = purposes.PURPOSES[PaymentKind.PACKAGE]
    assert package.lock_owner and package.payment_succeeded and package.checkout_expired
    assert package.dispute_opened is None


def test_a_purpose_is_registered_once():
    told = []
    purpose = purposes.Purpose(kind="test_gift", payment_succeeded=told.append)
    purposes.register(purpose)
    try:
        purposes.register(purpose)  # the same registration again (a module imported twice)
        with pytest.raises(ImproperlyConfigured):
            purposes.register(purposes.Purpose(kind="test_gift"))
        # the owner is told; a handler it did not register means nothing to do
        payment = Payment(kind="test_gift")
        purposes.payment_succeeded(payment)
        purposes.dispute_opened(payment)
        assert told == [payment]
    finally:
        del purposes.PURPOSES["test_gift"]


def test_a_payment_whose_purpose_nobody_registered_is_a_configuration_error():
    with pytest.raises(ImproperlyConfigured, match="no app registered the payment purpose"):
        purposes.payment_succeeded(Payment(kind="unknown_purpose"))


def test_every_kind_of_payment_and_subscription_has_its_owner():
    """Payments tells an owner about every payment and subscription it records (an invoice's
    Payment is refunded and disputed like any other): none may be without one."""
    from payments.models import SubscriptionKind

    assert set(PaymentKind.values) <= set(purposes.PURPOSES)
    assert set(SubscriptionKind.values) <= set(purposes.SUBSCRIPTION_PURPOSES)
    # payments' e-mails about a subscription link where its payer manages it
    for kind in SubscriptionKind.values:
        assert purposes.SUBSCRIPTION_PURPOSES[kind].billing_path is not None
