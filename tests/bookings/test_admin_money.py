"""Money rows in the admin: amounts with their currency, read-only with no add or delete, a
staff refund action that asks for the amount and reason and calls the refund service, and
disputes that link to their payment."""

from __future__ import annotations

import pytest
from django.urls import reverse

from payments.models import Dispute, Payment, Refund
from tests.bookings.services.test_cancellation import confirmed  # noqa: F401 - a fixture
from tests.factories import UserFactory
from tests.mfa import sign_in_with_totp


@pytest.fixture
def staff(client):
    user = UserFactory(is_staff=True, is_superuser=True)
    sign_in_with_totp(client, user)
    return user


def test_a_payment_reads_in_its_currency_and_cannot_be_edited_or_deleted(
    confirmed,  # noqa: F811
    client,
    staff,
):
    _booking, payment = confirmed
    listing = client.get(reverse("admin:payments_payment_changelist")).content.decode()
    assert "$120.00" in listing and "$18.00" in listing
    assert 'value="delete_selected"' not in listing
    page = client.get(reverse("admin:payments_payment_change", args=[payment.pk]))
    text = page.content.decode()
    assert "$120.00" in text and "$102.00" in text
    assert ">12000<" not in text
    assert 'name="amount"' not in text and 'name="status"' not in text
    assert reverse("admin:payments_payment_delete", args=[payment.pk]) not in text
    assert client.get(reverse("admin:payments_payment_add")).status_code == 403
    assert (
        client.get(reverse("admin:payments_payment_delete", args=[payment.pk])).status_code == 403
    )


def test_staff_refund_asks_amount_and_reason_and_calls_the_service(
    confirmed,  # noqa: F811
    client,
    staff,
    django_capture_on_commit_callbacks,
):
    _booking, payment = confirmed
    url = reverse("admin:payments_payment_changelist")
    form = client.post(url, {"action": "refund", "_selected_action": [payment.pk]})
    text = form.content.decode()
    assert form.status_code == 200 and 'name="amount"' in text and 'name="reason"' in text
    assert "at most $120.00 is left to refund" in text
    # too much is a form error, nothing is refunded
    too_much = client.post(
        url,
        {"action": "refund", "_selected_action": [payment.pk], "amount": "500", "reason": "staff"},
    )
    assert "Between $0.01 and $120.00." in too_much.content.decode()
    assert not Refund.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            url,
            {
                "action": "refund",
                "_selected_action": [payment.pk],
                "amount": "20.00",
                "reason": Refund.Reason.NO_SHOW,
            },
        )
    assert done.status_code == 302
    (refund,) = Refund.objects.all()
    assert (refund.amount, refund.reason, refund.requested_by) == (2000, "no_show", staff)
    assert refund.status == "succeeded"  # Stripe was called after commit
    assert Payment.objects.get(pk=payment.pk).refunded_amount == 2000


def test_a_dispute_links_to_its_payment(
    confirmed,  # noqa: F811
    sandbox,
    client,
    staff,
    django_capture_on_commit_callbacks,
):
    _booking, payment = confirmed
    with django_capture_on_commit_callbacks(execute=True):
        sandbox.dispute_charge(payment.stripe_charge_id)
        sandbox.deliver_pending_events()
    dispute = Dispute.objects.get()
    listing = client.get(reverse("admin:payments_dispute_changelist")).content.decode()
    assert reverse("admin:payments_payment_change", args=[payment.pk]) in listing
    assert "$120.00" in listing
    # the evidence's due date, in the staff member's zone
    assert dispute.evidence_due_by is not None
    assert "Evidence due by" in listing
    page = client.get(reverse("admin:payments_dispute_change", args=[dispute.pk])).content.decode()
    assert reverse("admin:payments_dispute_delete", args=[dispute.pk]) not in page
