"""Staff payouts on the web: the payee invitation link, the admin (invite, request with the
fee shown before approval, the two-person rule, the audit trail and its CSV), the API and its
schema, and who may see what."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from payments.models import (
    ConnectedAccount,
    PayeeInvitation,
    PayoutRequest,
    PayoutRequestEvent,
    PayoutRequestStatus,
)
from payments.services import payees
from payments.services import payout_requests as payouts
from tests.factories import UserFactory
from tests.mfa import sign_in_with_totp
from tests.payments.payouts import fund_platform, invited_payee, onboarded, stripe_transfers

pytestmark = pytest.mark.django_db
Action = PayoutRequestEvent.Action


@pytest.fixture
def staff(db):
    return UserFactory(is_staff=True, is_superuser=True, email="ada@staff.test")


@pytest.fixture
def second_staff(db):
    return UserFactory(is_staff=True, is_superuser=True, email="grace@staff.test")


def _staff_client(user) -> Client:
    client = Client()
    sign_in_with_totp(client, user)
    return client


# --- the invitation --------------------------------------------------------------------------


def test_staff_invite_a_winner_from_admin_and_the_link_makes_them_a_payee(
    stripe_local, staff, django_capture_on_commit_callbacks
):
    winner = UserFactory(email="wanda@example.test")
    admin = _staff_client(staff)
    # when: staff invite the winner from the admin
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            "/admin/payments/payeeinvitation/add/",
            {"email": "Wanda@example.test", "note": "Spring challenge winner"},
            follow=True,
        )
    assert "Invitation e-mailed to Wanda@example.test" in response.content.decode()
    (sent,) = [m for m in mail.outbox if "receive a payment" in m.subject]
    link = re.search(r"http://testserver(/payments/payee/\S+/)", sent.body).group(1)
    assert "Spring challenge winner" in sent.body
    # then: the link works for the winner only, and leads to the payment setup
    other = Client()
    other.force_login(UserFactory())
    refused = other.get(link)
    assert refused.status_code == 403 and "sign in with that address" in refused.content.decode()
    browser = Client()
    assert browser.get("/payments/setup/").status_code == 302  # sign in first
    browser.force_login(winner)
    assert browser.get("/payments/setup/").status_code == 403  # not a payee yet
    accepted = browser.get(link)
    assert accepted.status_code == 302 and accepted["Location"] == "/payments/setup/"
    page = browser.get("/payments/setup/").content.decode()
    assert "Set up payouts with Stripe" in page and "keeps its fee" not in page
    assert PayeeInvitation.objects.get().accepted_by == winner
    # and the account it makes receives transfers only
    browser.post("/payments/setup/start/", {"country": "US"})
    account = ConnectedAccount.objects.get(coach=winner)
    assert set(account.capabilities) == {"transfers"}
    assert (account.country, account.service_agreement) == ("US", "full")


def test_an_unknown_or_expired_link_is_refused_clearly(stripe_local, staff):
    winner = UserFactory()
    _invitation, link = payees.payee_invite(email=winner.email, note="", by=staff)
    PayeeInvitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    browser = Client()
    browser.force_login(winner)
    expired = browser.get(link.replace("http://testserver", ""))
    assert expired.status_code == 409 and "expired" in expired.content.decode()
    unknown = browser.get("/payments/payee/not-a-token/")
    assert unknown.status_code == 404 and "not valid" in unknown.content.decode()


def test_a_payee_abroad_gets_a_recipient_account(stripe_local, staff):
    winner = invited_payee(staff=staff, country="DE")
    account = ConnectedAccount.objects.get(coach=winner)
    assert (account.country, account.service_agreement, account.state) == (
        "DE",
        "recipient",
        "active",
    )
    assert set(account.capabilities) == {"transfers"}


# --- the admin -------------------------------------------------------------------------------


def test_admin_request_shows_the_fee_before_approval_and_keeps_the_two_person_rule(
    stripe_local, staff, second_staff, django_capture_on_commit_callbacks
):
    winner = invited_payee(staff=staff, email="wanda@example.test")
    fund_platform()
    requester = _staff_client(staff)
    # bad input is a form error and records nothing
    bad = requester.post(
        "/admin/payments/payoutrequest/add/",
        {"recipient": winner.email, "amount": "0", "currency": "usd", "reason": "prize"},
    )
    assert "The amount must be more than zero." in bad.content.decode()
    eur = requester.post(
        "/admin/payments/payoutrequest/add/",
        {"recipient": winner.email, "amount": "5", "currency": "eur", "reason": "bonus"},
    )
    assert "cannot receive EUR" in eur.content.decode()
    assert not PayoutRequest.objects.exists()
    # when: a 500.00 prize is requested
    created = requester.post(
        "/admin/payments/payoutrequest/add/",
        {"recipient": winner.email, "amount": "500.00", "currency": "usd", "reason": "prize"},
        follow=True,
    )
    request = PayoutRequest.objects.get()
    page = created.content.decode()
    # then: the fee and what is transferred are shown before approval
    assert "$500.00 awarded, $15.00 platform fee (3%) kept, $485.00 transferred" in page
    assert "another staff member must approve it" in page
    # and the requester's approval is refused
    url = f"/admin/payments/payoutrequest/{request.pk}/approve/"
    refused = requester.post(url, follow=True).content.decode()
    assert "another staff member must approve it" in refused
    request.refresh_from_db()
    assert request.status == PayoutRequestStatus.REQUESTED
    # when: the second staff member approves it
    with django_capture_on_commit_callbacks(execute=True):
        approved = _staff_client(second_staff).post(url, follow=True)
    assert "approved: its transfer is on its way" in approved.content.decode()
    request.refresh_from_db()
    assert request.status == PayoutRequestStatus.PAID
    assert [t.amount for t in stripe_transfers(request)] == [48500]
    # and the audit trail is shown and exported as CSV, with who did what
    trail = requester.get("/admin/payments/payoutrequestevent/").content.decode()
    assert "Approval refused" in trail and str(second_staff) in trail, trail[-3000:]
    exported = requester.get("/admin/payments/payoutrequestevent/export.csv?action__exact=approved")
    assert exported["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode())))
    assert [(r["action"], r["actor"], r["amount_minor"]) for r in rows] == [
        ("approved", "grace@staff.test", "48500")
    ]
    everything = requester.get("/admin/payments/payoutrequestevent/export.csv")
    actions = [r["action"] for r in csv.DictReader(io.StringIO(everything.content.decode()))]
    assert actions == ["requested", "approval_refused", "approved", "executed"]


def test_admin_reverses_a_paid_payout_with_a_reason(
    stripe_local, staff, django_capture_on_commit_callbacks
):
    winner = invited_payee(staff=staff)
    fund_platform()
    request = payouts.payout_request_create(
        recipient=winner, amount=4000, currency="usd", reason="correction", by=staff
    )
    with django_capture_on_commit_callbacks(execute=True):
        payouts.payout_request_approve(payout_request=request, by=staff)
    admin = _staff_client(staff)
    url = f"/admin/payments/payoutrequest/{request.pk}/reverse/"
    missing = admin.post(url, {"reversal_amount": "40.00", "reversal_reason": ""}, follow=True)
    assert "Give the amount to take back and the reason" in missing.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        done = admin.post(
            url, {"reversal_amount": "40.00", "reversal_reason": "Sent to the wrong person"}
        )
    assert done.status_code == 302
    request.refresh_from_db()
    assert request.status == PayoutRequestStatus.REVERSED
    assert stripe_transfers(request)[0].amount_reversed == 4000


# --- the API ---------------------------------------------------------------------------------


def test_the_api_requests_approves_and_lists_what_the_payee_received(
    stripe_local, staff, second_staff, django_capture_on_commit_callbacks
):
    winner = invited_payee(staff=staff)
    fund_platform()
    api = _staff_client(staff)
    # bad input: a clear 4xx with a JSON body
    zero = api.post(
        "/api/payouts/",
        {"recipient": winner.pk, "amount": 0, "currency": "usd", "reason": "prize"},
        content_type="application/json",
    )
    assert zero.status_code == 400 and "amount" in zero.json()["error"]["fields"]
    eur = api.post(
        "/api/payouts/",
        {"recipient": winner.pk, "amount": 500, "currency": "eur", "reason": "bonus"},
        content_type="application/json",
    )
    assert eur.status_code == 400 and eur.json()["error"]["code"] == "currency_not_receivable"
    nobody = api.post(
        "/api/payouts/",
        {"recipient": 10**9, "amount": 500, "currency": "usd", "reason": "bonus"},
        content_type="application/json",
    )
    assert nobody.status_code == 404
    # a prize above the threshold
    created = api.post(
        "/api/payouts/",
        {"recipient": winner.pk, "amount": 50000, "currency": "usd", "reason": "prize"},
        content_type="application/json",
    )
    assert created.status_code == 201
    body = created.json()
    assert (body["platform_fee"], body["net_amount"], body["needs_second_person"]) == (
        1500,
        48500,
        True,
    )
    own = api.post(f"/api/payouts/{body['id']}/approve/")
    assert own.status_code == 403 and own.json()["error"]["code"] == "two_person_rule"
    # the payee sees nothing before approval, and cannot use the staff endpoints
    payee = Client()
    payee.force_login(winner)
    assert payee.get("/api/payouts/received/").json() == []
    assert payee.post(f"/api/payouts/{body['id']}/approve/").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        approved = _staff_client(second_staff).post(f"/api/payouts/{body['id']}/approve/")
    assert approved.status_code == 200
    (received,) = payee.get("/api/payouts/received/").json()
    assert (received["reason"], received["net_amount"], received["status"]) == (
        "prize",
        48500,
        "paid",
    )
    # cancelling what was paid is refused; reversing needs a reason
    assert api.post(f"/api/payouts/{body['id']}/cancel/").status_code == 409
    assert api.post(f"/api/payouts/{body['id']}/reverse/", {}).status_code == 400
    assert api.post("/api/payouts/999999/approve/").status_code == 404
    # anonymous callers are refused
    assert Client().get("/api/payouts/received/").status_code in (401, 403)


def test_the_payout_endpoints_are_in_the_openapi_schema(db):
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    for path in (
        "/api/payouts/",
        "/api/payouts/received/",
        "/api/payouts/{id}/approve/",
        "/api/payouts/{id}/cancel/",
        "/api/payouts/{id}/reverse/",
    ):
        assert path in schema, path


def test_payments_received_shows_only_the_signed_in_persons_payouts(
    stripe_local, staff, django_capture_on_commit_callbacks
):
    winner, other = invited_payee(staff=staff), invited_payee(staff=staff)
    fund_platform()
    for recipient, note in ((winner, "Referral bonus"), (other, "Someone else's")):
        request = payouts.payout_request_create(
            recipient=recipient, amount=2500, currency="usd", reason="bonus", note=note, by=staff
        )
        with django_capture_on_commit_callbacks(execute=True):
            payouts.payout_request_approve(payout_request=request, by=staff)
    browser = Client()
    browser.force_login(winner)
    page = browser.get("/payments/received/").content.decode()
    assert "Referral bonus" in page and "Someone else" not in page
    assert "$25.00" in page and "Open Stripe dashboard" in page
    assert 'id="balance-available"' in page
    assert Client().get("/payments/received/").status_code == 302


def test_a_payee_who_has_not_onboarded_is_refused_at_request_time(stripe_local, staff):
    winner = invited_payee(staff=staff, onboard=False)
    onboarded(winner, outcome="pending_verification")
    api = _staff_client(staff)
    refused = api.post(
        "/api/payouts/",
        {"recipient": winner.pk, "amount": 500, "currency": "usd", "reason": "bonus"},
        content_type="application/json",
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "account_not_active"
    assert not PayoutRequest.objects.exists()
