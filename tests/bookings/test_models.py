from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction

from bookings.models import BookingStatus
from tests.bookings.factories import BookingFactory
from tests.coaches.factories import SessionTypeFactory

pytestmark = pytest.mark.django_db


def test_the_database_refuses_overlapping_live_bookings_of_one_coach():
    # given
    first = BookingFactory()
    # when / then: 30 minutes into the first booking
    with pytest.raises(IntegrityError), transaction.atomic():
        BookingFactory(
            session_type=first.session_type,
            starts_at=first.starts_at + timedelta(minutes=30),
            ends_at=first.ends_at + timedelta(minutes=30),
        )


def test_back_to_back_other_coaches_and_dead_bookings_do_not_conflict():
    first = BookingFactory()
    BookingFactory(
        session_type=first.session_type,
        starts_at=first.ends_at,
        ends_at=first.ends_at + timedelta(hours=1),
    )
    BookingFactory(
        session_type=SessionTypeFactory(), starts_at=first.starts_at, ends_at=first.ends_at
    )
    BookingFactory(
        session_type=first.session_type,
        starts_at=first.starts_at,
        ends_at=first.ends_at,
        status=BookingStatus.EXPIRED,
    )
    first.status = BookingStatus.CANCELLED_BY_CLIENT
    first.save()
    BookingFactory(
        session_type=first.session_type, starts_at=first.starts_at, ends_at=first.ends_at
    )
