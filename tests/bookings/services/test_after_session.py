"""After the session: completion (by the coach or automatically), no-show, issues, reminders,
the beat schedule, the iCal feed and who may see what."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from bookings.models import BookingStatus
from bookings.services import after_session, calendar, holds, reminders
from marketplace.celery import app as celery_app
from marketplace.errors import Conflict, InvalidTransition, NotAllowed
from tests.bookings.factories import BookingFactory, open_coach, paid_package
from tests.factories import UserFactory
from tests.mfa import sign_in_with_totp

pytestmark = pytest.mark.django_db


def ended_booking(hours_ago: int = 3, **fields):
    start = timezone.now() - timedelta(hours=hours_ago)
    return BookingFactory(starts_at=start, ends_at=start + timedelta(hours=1), **fields)


def test_only_the_coach_marks_an_ended_session_completed():
    booking = ended_booking()
    with pytest.raises(NotAllowed):
        after_session.booking_complete(booking=booking, by=booking.client)
    future = BookingFactory()
    with pytest.raises(Conflict):
        after_session.booking_complete(booking=future, by=future.coach.user)
    done = after_session.booking_complete(booking=booking, by=booking.coach.user)
    assert done.status == BookingStatus.COMPLETED and done.completed_at
    with pytest.raises(InvalidTransition):
        after_session.booking_mark_no_show(booking=done, by=done.coach.user)
    change = done.status_changes.get(to_status=BookingStatus.COMPLETED)
    assert (change.from_status, change.actor, change.source) == (
        "confirmed",
        done.coach.user,
        "coach",
    )


def test_no_show_only_within_48_hours_after_the_end():
    booking = ended_booking()
    late = booking.ends_at + timedelta(hours=47)
    assert after_session.booking_mark_no_show(
        booking=booking, by=booking.coach.user, now=late
    ).status == (BookingStatus.NO_SHOW)
    other = ended_booking()
    with pytest.raises(Conflict) as too_late:
        after_session.booking_mark_no_show(
            booking=other, by=other.coach.user, now=other.ends_at + timedelta(hours=49)
        )
    assert too_late.value.code == "too_late"


def test_auto_completion_waits_48_hours_and_for_open_issues(django_capture_on_commit_callbacks):
    quiet = ended_booking()
    troubled = ended_booking(hours_ago=6, session_type=quiet.session_type)
    with django_capture_on_commit_callbacks(execute=True):
        after_session.booking_raise_issue(
            booking=troubled, by=troubled.client, description="No video"
        )
    assert any("Issue raised" in m.subject for m in mail.outbox)
    # not yet 48 hours
    assert after_session.bookings_auto_complete() == 0
    later = timezone.now() + timedelta(hours=49)
    assert after_session.bookings_auto_complete(now=later) == 1
    quiet.refresh_from_db()
    troubled.refresh_from_db()
    assert quiet.status == BookingStatus.COMPLETED
    assert troubled.status == BookingStatus.CONFIRMED
    # staff resolve it, then it completes
    after_session.booking_resolve_issue(booking=troubled, by=UserFactory(is_staff=True))
    assert after_session.bookings_auto_complete(now=later) == 1
    troubled.refresh_from_db()
    assert troubled.status == BookingStatus.COMPLETED


def test_an_issue_on_a_package_session_holds_its_transfer_until_resolved(
    django_capture_on_commit_callbacks,
):
    coach, session_type = open_coach()
    client = UserFactory()
    purchase = paid_package(client=client, session_type=session_type)
    booking = holds.booking_hold(
        client=client,
        session_type=session_type,
        starts_at=(timezone.now() + timedelta(days=1)).replace(minute=0, second=0, microsecond=0),
        package_purchase=purchase,
    )
    after = booking.ends_at + timedelta(minutes=10)
    after_session.booking_raise_issue(
        booking=booking, by=client, description="Coach was late", now=after
    )
    after_session.booking_complete(booking=booking, by=coach.user, now=after)
    from payments.models import Transfer

    assert not Transfer.objects.exists()


def test_reminders_go_out_once_at_24_hours_and_at_1_hour(django_capture_on_commit_callbacks):
    booking = BookingFactory(
        starts_at=timezone.now() + timedelta(hours=20), ends_at=timezone.now() + timedelta(hours=21)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert reminders.bookings_send_reminders() == 1
        assert reminders.bookings_send_reminders() == 0
        assert reminders.bookings_send_reminders(now=booking.starts_at - timedelta(minutes=50)) == 1
    subjects = sorted(m.subject for m in mail.outbox)
    assert len(subjects) == 4
    assert (
        sum("In 24 hours" in s for s in subjects) == 2
        and sum("In 1 hour:" in s for s in subjects) == 2
    )


def test_the_beat_schedule_runs_the_bookings_tasks():
    celery_app.loader.import_default_modules()
    schedule = settings.CELERY_BEAT_SCHEDULE
    tasks = {entry["task"]: entry["schedule"] for entry in schedule.values()}
    for name in (
        "bookings.expire_stale_holds",
        "bookings.send_reminders",
        "bookings.auto_complete",
        "payments.retry_stalled_transfers",
    ):
        assert name in tasks
        assert name in celery_app.tasks
    assert tasks["bookings.expire_stale_holds"] <= timedelta(minutes=1)


def test_the_ical_feed_lists_the_users_sessions_behind_a_secret(client):
    booking = BookingFactory(meeting_url="https://meet.example/room-1", topic="Focus, goals; plans")
    cancelled = BookingFactory(
        session_type=booking.session_type,
        client=booking.client,
        starts_at=booking.starts_at + timedelta(days=1),
        ends_at=booking.ends_at + timedelta(days=1),
        status=BookingStatus.CANCELLED_BY_COACH,
    )
    BookingFactory(
        starts_at=booking.starts_at + timedelta(days=2), ends_at=booking.ends_at + timedelta(days=2)
    )  # someone else's
    feed = calendar.calendar_feed_for(user=booking.client)
    response = client.get(f"/bookings/calendar/{feed.token}.ics")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    body = response.content.decode().replace("\r\n ", "")
    assert body.count("BEGIN:VEVENT") == 2
    assert f"UID:booking-{booking.pk}@coach-connect" in body
    assert f"DTSTART:{booking.starts_at:%Y%m%dT%H%M%SZ}" in body
    assert "Topic: Focus\\, goals\\; plans" in body
    assert f"UID:booking-{cancelled.pk}@coach-connect" in body and "STATUS:CANCELLED" in body
    assert all(len(line.encode()) <= 75 for line in response.content.decode().split("\r\n"))
    # a new secret makes the old address stop working
    calendar.calendar_feed_for(user=booking.client, rotate=True)
    assert client.get(f"/bookings/calendar/{feed.token}.ics").status_code == 404


def test_pages_show_a_booking_only_to_its_client_its_coach_and_staff(client):
    booking = BookingFactory()
    for user, expected in (
        (booking.client, 200),
        (booking.coach.user, 200),
        (UserFactory(is_staff=True), 200),
        (UserFactory(), 404),
    ):
        if user.is_staff:
            sign_in_with_totp(client, user)
        else:
            client.force_login(user)
        assert client.get(f"/bookings/{booking.pk}/").status_code == expected
        assert client.get(f"/bookings/{booking.pk}/status/").status_code == expected
    client.force_login(UserFactory())
    assert client.post(f"/bookings/{booking.pk}/cancel/").status_code == 404
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED


def test_dashboards_and_empty_states(client):
    booking = BookingFactory(topic="Leadership")
    client.force_login(booking.client)
    page = client.get("/bookings/").content.decode()
    assert "Leadership" not in page and booking.coach.user.display_name in page
    assert "(UTC)" in page
    client.force_login(UserFactory())
    assert "No upcoming sessions" in client.get("/bookings/").content.decode()
    client.force_login(booking.coach.user)
    agenda = client.get("/bookings/agenda/").content.decode()
    assert booking.client.display_name in agenda and "Leadership" in agenda
    client.force_login(UserFactory())
    assert client.get("/bookings/agenda/").status_code == 403
    assert client.get("/bookings/new/?session_type=x&start=never").status_code == 400


def test_admin_lists_bookings_and_money_and_shows_the_ledger(client):
    from payments.models import Payment

    booking = BookingFactory()
    Payment.objects.create(
        kind="booking",
        booking=booking,
        client=booking.client,
        coach=booking.coach.user,
        amount=12000,
        application_fee=1800,
        coach_amount=10200,
        currency="usd",
        status="succeeded",
    )
    sign_in_with_totp(client, UserFactory(is_staff=True, is_superuser=True))
    for url in (
        "/admin/bookings/booking/",
        "/admin/payments/payment/",
        "/admin/payments/refund/",
        "/admin/payments/transfer/",
        f"/admin/bookings/booking/{booking.pk}/change/",
    ):
        assert client.get(url).status_code == 200, url
    ledger = client.get("/admin/payments/payment/ledger/").content.decode()
    assert "$120.00" in ledger and "$18.00" in ledger


def test_a_package_session_is_booked_from_the_review_page_without_paying(client):
    _coach, session_type = open_coach()
    buyer = UserFactory()
    purchase = paid_package(client=buyer, session_type=session_type, sessions=2)
    client.force_login(buyer)
    start = (timezone.now() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    response = client.post(
        "/bookings/new/",
        {
            "session_type": session_type.pk,
            "start": start.isoformat(),
            "topic": "Goals",
            "client_time_zone": "Europe/Zurich",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/bookings/review/"
    review = client.get("/bookings/review/").content.decode()
    assert "2 sessions left" in review and "(Europe/Zurich)" in review
    booked = client.post("/bookings/review/", {"use_package": purchase.pk})
    booking = purchase.bookings.get()
    assert booked.status_code == 302 and booked["Location"] == f"/bookings/{booking.pk}/"
    assert booking.status == BookingStatus.CONFIRMED and booking.topic == "Goals"
    assert not booking.payments.exists()
    # someone else's package is refused
    other = UserFactory()
    client.force_login(other)
    client.post(
        "/bookings/new/",
        {"session_type": session_type.pk, "start": (start + timedelta(hours=3)).isoformat()},
    )
    assert client.post("/bookings/review/", {"use_package": purchase.pk}).status_code == 404
