from __future__ import annotations

from datetime import time, timedelta

import factory
from django.utils import timezone

from bookings.models import Booking, BookingStatus, Package, PackagePurchase, PackagePurchaseStatus
from coaches.models import CoachProfile, SessionType
from coaches.selectors import coach_fee_split
from payments.models import AccountState, ConnectedAccount
from tests.coaches.factories import CoachProfileFactory, SessionTypeFactory, weekly_hours
from tests.factories import UserFactory


class BookingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Booking

    session_type = factory.SubFactory(SessionTypeFactory)
    coach = factory.SelfAttribute("session_type.coach")
    client = factory.SubFactory(UserFactory)
    starts_at = factory.LazyFunction(
        lambda: (timezone.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    )
    ends_at = factory.LazyAttribute(
        lambda booking: booking.starts_at + timedelta(minutes=booking.session_type.duration_minutes)
    )
    status = BookingStatus.CONFIRMED


class PackageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Package

    session_type = factory.SubFactory(SessionTypeFactory)
    coach = factory.SelfAttribute("session_type.coach")
    name = "Five sessions"
    session_count = 5
    price = 50000
    currency = "usd"


def open_coach(
    *, stripe_account_id: str | None = None, country: str = "US", **profile_fields
) -> tuple[CoachProfile, SessionType]:
    """A bookable coach open every day around the clock (UTC), no notice, no buffers, with an
    active connected account row, and a 60-minute session type at $120.00."""
    profile = CoachProfileFactory(
        time_zone=profile_fields.pop("time_zone", "UTC"),
        minimum_notice_minutes=0,
        buffer_before_minutes=0,
        buffer_after_minutes=0,
        booking_horizon_days=90,
        country=country,
        **profile_fields,
    )
    weekly_hours(profile, time(0), time(23, 59))
    ConnectedAccount.objects.create(
        coach=profile.user,
        stripe_account_id=stripe_account_id or f"acct_bk{profile.pk:012d}",
        state=AccountState.ACTIVE,
        country=country,
        default_currency="usd",
        charges_enabled=True,
        payouts_enabled=True,
        details_submitted=True,
    )
    session_type = SessionTypeFactory(
        coach=profile, duration_minutes=60, price=12000, currency="usd"
    )
    return profile, session_type


def paid_package(
    *, client, session_type: SessionType, sessions: int = 5, price: int = 50000
) -> PackagePurchase:
    """An active (paid) package purchase, without the Stripe side."""
    package = PackageFactory(session_type=session_type, session_count=sessions, price=price)
    fee, coach_amount = coach_fee_split(coach=session_type.coach, total=price)
    return PackagePurchase.objects.create(
        package=package,
        client=client,
        coach=session_type.coach,
        session_count=sessions,
        price=price,
        application_fee=fee,
        coach_amount=coach_amount,
        currency="usd",
        status=PackagePurchaseStatus.ACTIVE,
        paid_at=timezone.now(),
    )


def next_hour(days: int = 3):
    return (timezone.now() + timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
