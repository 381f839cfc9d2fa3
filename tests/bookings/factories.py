from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from bookings.models import Booking, BookingStatus
from tests.coaches.factories import SessionTypeFactory
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
