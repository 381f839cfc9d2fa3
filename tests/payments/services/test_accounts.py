"""Connected-account services against the local Stripe, through the real stripe library."""

from __future__ import annotations

import threading

import pytest
from django.core import mail
from django.db import connection

from coaches.models import CoachProfile
from marketplace.errors import DomainError, NotAllowed
from payments import gateway
from payments.models import (
    AccountState,
    AccountStateChange,
    ConnectedAccount,
    PayoutInterval,
    StaffAlert,
)
from payments.sandbox.models import StripeObject
from payments.services import accounts as services
from tests.factories import UserFactory
from tests.payments.conftest import make_account


def _bookable(coach) -> bool:
    return CoachProfile.objects.get(user=coach).is_bookable


def test_create_makes_one_express_account_and_is_idempotent(stripe_local, connect_coach):
    # when: created twice (a double click, a retry)
    first = services.connected_account_create(coach=connect_coach)
    second = services.connected_account_create(coach=connect_coach)
    # then: one row, one Stripe account, an Express one, with our ids in metadata
    assert first.pk == second.pk
    assert first.stripe_account_id == second.stripe_account_id
    assert StripeObject.objects.filter(object_type="account").count() == 1
    snapshot = gateway.account_retrieve(stripe_account_id=first.stripe_account_id)
    assert snapshot.type == "express"
    assert snapshot.metadata["connected_account_id"] == str(first.pk)
    assert snapshot.email == connect_coach.email
    assert first.state == AccountState.CREATED
    assert "external_account" in first.requirements_currently_due


def test_gateway_create_retry_with_the_same_row_returns_the_same_account(
    stripe_local, connect_coach
):
    # given: a row whose first create reached Stripe but whose commit was lost
    row = services.connected_account_get_or_create_row(coach=connect_coach)
    made = gateway.account_create(account=row, email=connect_coach.email, country="US")
    # when: the request is made again for the same row
    again = gateway.account_create(account=row, email=connect_coach.email, country="US")
    # then: the idempotency key (the row id) gives back the same account
    assert again.id == made.id
    assert StripeObject.objects.filter(object_type="account").count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_double_click_creates_one_account(settings, connect_coach):
    from payments.sandbox import controls

    settings.SITE_URL = "http://testserver"
    controls.reset()
    results: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(5)

    def click() -> None:
        try:
            barrier.wait()
            account = services.connected_account_create(coach=connect_coach)
            results.append(account.stripe_account_id)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(set(results)) == 1
    assert ConnectedAccount.objects.filter(coach=connect_coach).count() == 1
    assert StripeObject.objects.filter(object_type="account").count() == 1


def test_only_coaches_get_an_account(stripe_local):
    client_user = UserFactory()
    with pytest.raises(NotAllowed):
        services.connected_account_create(coach=client_user)


def test_unsupported_country_is_a_clear_error(stripe_local, connect_coach):
    with pytest.raises(DomainError) as caught:
        services.connected_account_create(coach=connect_coach, country="ZZ")
    assert "country" in caught.value.fields


def test_onboarding_link_moves_to_onboarding_and_each_link_is_fresh(stripe_local, connect_coach):
    services.connected_account_create(coach=connect_coach)
    urls = {
        services.connected_account_onboarding_link(
            coach=connect_coach, refresh_url="http://testserver/r", return_url="http://testserver/x"
        ).url
        for _ in range(2)
    }
    assert len(urls) == 2
    account = ConnectedAccount.objects.get(coach=connect_coach)
    assert account.state == AccountState.ONBOARDING
    assert not _bookable(connect_coach)


def test_completing_onboarding_makes_the_coach_bookable(
    stripe_local, connect_coach, django_capture_on_commit_callbacks
):
    # given: the coach was sent to Stripe
    account = make_account(connect_coach)
    # when: they complete onboarding (Stripe sends account.updated to the Connect endpoint)
    with django_capture_on_commit_callbacks(execute=True):
        stripe_local.complete_onboarding(account.stripe_account_id, "complete")
    # then
    account.refresh_from_db()
    assert account.state == AccountState.ACTIVE
    assert account.activated_at is not None
    assert account.charges_enabled and account.payouts_enabled
    assert _bookable(connect_coach)
    assert list(account.state_changes.values_list("to_state", flat=True)) == [
        AccountState.ACTIVE,
        AccountState.ONBOARDING,
    ]


def test_leaving_requirements_due_keeps_onboarding_with_the_list(
    stripe_local, connect_coach, django_capture_on_commit_callbacks
):
    account = make_account(connect_coach)
    with django_capture_on_commit_callbacks(execute=True):
        stripe_local.complete_onboarding(account.stripe_account_id, "leave_due")
    account.refresh_from_db()
    assert account.state == AccountState.ONBOARDING
    assert account.requirements_due == ["individual.verification.document"]
    assert not _bookable(connect_coach)
    # no alert: a coach still setting up is not "restricted"
    assert not StaffAlert.objects.exists()


def test_pending_verification_then_verified(
    stripe_local, connect_coach, django_capture_on_commit_callbacks
):
    account = make_account(connect_coach)
    with django_capture_on_commit_callbacks(execute=True):
        stripe_local.complete_onboarding(account.stripe_account_id, "pending_verification")
    account.refresh_from_db()
    assert account.state == AccountState.PENDING_VERIFICATION
    with django_capture_on_commit_callbacks(execute=True):
        stripe_local.verify_account(account.stripe_account_id)
    account.refresh_from_db()
    assert account.state == AccountState.ACTIVE
    assert _bookable(connect_coach)


def test_rejected_account(stripe_local, connect_coach, django_capture_on_commit_callbacks):
    account = make_account(connect_coach)
    with django_capture_on_commit_callbacks(execute=True):
        stripe_local.complete_onboarding(account.stripe_account_id, "reject")
    account.refresh_from_db()
    assert account.state == AccountState.REJECTED
    with pytest.raises(DomainError):
        services.connected_account_onboarding_link(
            coach=connect_coach, refresh_url="http://testserver/r", return_url="http://testserver/x"
        )


def test_active_coach_restricted_is_unbookable_told_and_staff_alerted(
    active_account, connect_coach, stripe_local, django_capture_on_commit_callbacks, settings
):
    from bookings.models import BookingStatus
    from tests.bookings.factories import BookingFactory

    settings.STAFF_ALERT_EMAILS = ["ops@example.test"]
    booking = BookingFactory(
        session_type__coach=CoachProfile.objects.get(user=connect_coach),
        status=BookingStatus.CONFIRMED,
    )
    mail.outbox.clear()
    # when: Stripe restricts the account (a requirement is past due)
    with django_capture_on_commit_callbacks(execute=True):
        stripe_local.update_account(
            active_account.stripe_account_id, past_due=["individual.verification.document"]
        )
    # then
    active_account.refresh_from_db()
    assert active_account.state == AccountState.RESTRICTED
    assert not _bookable(connect_coach)
    coach_mail = next(m for m in mail.outbox if connect_coach.email in m.to)
    assert "A photo of your ID document" in coach_mail.body
    assert "/payments/setup/" in coach_mail.body
    staff_mail = next(m for m in mail.outbox if "ops@example.test" in m.to)
    assert active_account.stripe_account_id in staff_mail.body
    alert = StaffAlert.objects.get()
    assert alert.kind == StaffAlert.Kind.ACCOUNT_RESTRICTED
    assert alert.resolved_at is None
    # existing bookings stay
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    # and when it is fixed, the coach is bookable again
    with django_capture_on_commit_callbacks(execute=True):
        stripe_local.verify_account(active_account.stripe_account_id)
    active_account.refresh_from_db()
    assert active_account.state == AccountState.ACTIVE
    assert _bookable(connect_coach)


def test_payout_schedule_is_written_to_stripe_and_read_back(active_account, connect_coach):
    services.connected_account_update_payout_schedule(
        coach=connect_coach, interval="weekly", weekly_anchor="friday", minimum_amount=5000
    )
    snapshot = gateway.account_retrieve(stripe_account_id=active_account.stripe_account_id)
    assert snapshot.payout_schedule.interval == "weekly"
    assert snapshot.payout_schedule.weekly_anchor == "friday"
    assert snapshot.metadata["payout_minimum_amount"] == "5000"
    active_account.refresh_from_db()
    assert active_account.payout_interval == PayoutInterval.WEEKLY
    assert active_account.payout_weekly_anchor == "friday"
    assert active_account.payout_minimum_amount == 5000
    # monthly, then the same schedule again later (a new idempotency key each time)
    services.connected_account_update_payout_schedule(
        coach=connect_coach, interval="monthly", monthly_anchor=15
    )
    services.connected_account_update_payout_schedule(
        coach=connect_coach, interval="weekly", weekly_anchor="friday", minimum_amount=5000
    )
    active_account.refresh_from_db()
    assert active_account.payout_interval == PayoutInterval.WEEKLY
    assert active_account.payout_monthly_anchor is None


def test_invalid_payout_schedule_is_refused(active_account, connect_coach):
    with pytest.raises(DomainError) as caught:
        services.connected_account_update_payout_schedule(coach=connect_coach, interval="weekly")
    assert "weekly_anchor" in caught.value.fields
    with pytest.raises(DomainError):
        services.connected_account_update_payout_schedule(
            coach=connect_coach, interval="monthly", monthly_anchor=32
        )


def test_business_profile_is_written_to_stripe_and_read_back(active_account, connect_coach):
    services.connected_account_update_business_profile(
        coach=connect_coach,
        url="https://coach.example.test/coaches/ada/",
        product_description="Leadership coaching, one hour sessions",
    )
    snapshot = gateway.account_retrieve(stripe_account_id=active_account.stripe_account_id)
    assert snapshot.business_url == "https://coach.example.test/coaches/ada/"
    assert snapshot.product_description == "Leadership coaching, one hour sessions"
    active_account.refresh_from_db()
    assert active_account.business_url == "https://coach.example.test/coaches/ada/"


def test_account_is_created_with_the_coach_public_profile_url(stripe_local, connect_coach):
    account = services.connected_account_create(coach=connect_coach)
    slug = CoachProfile.objects.get(user=connect_coach).slug
    assert account.business_url == f"http://testserver/coaches/{slug}/"


def test_login_link_only_after_details_submitted(stripe_local, connect_coach):
    account = make_account(connect_coach)
    with pytest.raises(DomainError):
        services.connected_account_login_link(coach=connect_coach)
    stripe_local.complete_onboarding(account.stripe_account_id, "complete")
    services.connected_account_refresh(account=account)
    link = services.connected_account_login_link(coach=connect_coach)
    assert "/_stripe/express/" in link.url


def test_refresh_records_a_state_change_once(active_account):
    before = AccountStateChange.objects.count()
    for _ in range(3):
        services.connected_account_refresh(account=active_account)
    assert AccountStateChange.objects.count() == before
    active_account.refresh_from_db()
    assert active_account.next_check_due_at is not None


def test_demo_accounts_are_active_on_the_local_stripe(stripe_local, connect_coach):
    from payments.demo import demo_connect_accounts

    (account,) = demo_connect_accounts([connect_coach])
    again = demo_connect_accounts([connect_coach])
    assert account.state == AccountState.ACTIVE
    assert again[0].stripe_account_id == account.stripe_account_id
    assert _bookable(connect_coach)


def test_an_older_read_applied_late_does_not_move_the_account_back(
    stripe_local, connect_coach, monkeypatch
):
    """No lock is held while Stripe is read: of two refreshes, one whose read started first
    but is applied last must not undo the other's newer answer."""
    # given: a refresh reads the account (onboarding) from Stripe, and before it applies the
    # answer the coach completes onboarding and a second refresh applies that
    account = make_account(connect_coach)
    assert account.state == AccountState.ONBOARDING
    read = gateway.account_retrieve
    overtaken: list[str] = []

    def read_then_overtaken(**kwargs):
        snapshot = read(**kwargs)
        if not overtaken:
            overtaken.append(snapshot.id)
            stripe_local.complete_onboarding(account.stripe_account_id, "complete")
            services.connected_account_refresh(account=account)
        return snapshot

    monkeypatch.setattr(gateway, "account_retrieve", read_then_overtaken)
    # when: the first refresh applies its older answer
    services.connected_account_refresh(account=account)
    # then: the account stays as the later read found it
    account.refresh_from_db()
    assert overtaken == [account.stripe_account_id]
    assert account.state == AccountState.ACTIVE
    assert account.charges_enabled
