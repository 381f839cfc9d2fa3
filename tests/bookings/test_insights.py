"""The coach's insights, against a history written by hand: a coach in London whose April
begins at 23:00 UTC on 31 March (summer time began on 29 March), paid in pounds and euros.
Every expected figure below is worked out in the comments, not read back from the code."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bookings import insights
from bookings.models import Booking, BookingStatus
from coaches.models import AvailabilityRule, Review, TimeOff
from payments.models import (
    AccountState,
    ConnectedAccount,
    Dispute,
    DisputeStatus,
    Payment,
    PaymentKind,
    PaymentStatus,
    Refund,
    RefundStatus,
    Transfer,
    TransferStatus,
)
from tests.bookings.factories import BookingFactory, paid_package
from tests.coaches.factories import CoachProfileFactory, SessionTypeFactory
from tests.factories import UserFactory

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 4, 15, 12, 0, tzinfo=UTC)
PASSWORD = "a-Strong-pass-91"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def session(
    coach_type,
    client,
    starts_at,
    *,
    minutes=60,
    status=BookingStatus.COMPLETED,
    created=None,
    **fields,
):
    booking = BookingFactory(
        session_type=coach_type,
        client=client,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=minutes),
        status=status,
        **fields,
    )
    Booking.objects.filter(pk=booking.pk).update(
        created_at=created or starts_at - timedelta(days=7)
    )
    booking.refresh_from_db()
    return booking


def review(booking, rating, written, *, hidden=False):
    row = Review.objects.create(
        booking=booking, coach=booking.coach, client=booking.client, rating=rating, is_hidden=hidden
    )
    Review.objects.filter(pk=row.pk).update(created_at=written)


def pay(coach, client, amount, fee, currency, when, *, status=PaymentStatus.SUCCEEDED, **fields):
    return Payment.objects.create(
        kind=fields.pop("kind", PaymentKind.BOOKING),
        client=client,
        coach=coach.user,
        amount=amount,
        application_fee=fee,
        coach_amount=amount - fee,
        currency=currency,
        status=status,
        succeeded_at=when,
        **fields,
    )


def refund(payment, amount, when, *, reversed_amount, fee_back, status=RefundStatus.SUCCEEDED):
    row = Refund.objects.create(
        payment=payment,
        amount=amount,
        currency=payment.currency,
        reason=Refund.Reason.CLIENT_CANCELLED,
        status=status,
        stripe_refund_id=f"re_{payment.pk}_{amount}_{status}",
        transfer_reversal_amount=reversed_amount,
        application_fee_refund_amount=fee_back,
    )
    Refund.objects.filter(pk=row.pk).update(created_at=when)
    return row


@pytest.fixture
def london_coach(db):
    coach = CoachProfileFactory(time_zone="Europe/London", user__time_zone="Europe/London")
    # Tuesdays 09:00-17:00 and Sundays 00:30-02:30, London wall-clock time
    AvailabilityRule.objects.create(coach=coach, weekday=1, start_time=time(9), end_time=time(17))
    AvailabilityRule.objects.create(
        coach=coach, weekday=6, start_time=time(0, 30), end_time=time(2, 30)
    )
    ConnectedAccount.objects.create(
        coach=coach.user, stripe_account_id="acct_insights0001", state=AccountState.ACTIVE
    )
    return coach


@pytest.fixture
def history(london_coach):
    """March and April 2026 of the London coach, and a second coach's April."""
    coach = london_coach
    hour = SessionTypeFactory(coach=coach, duration_minutes=60, price=10000, currency="gbp")
    a, b, c, d, e, g, h = (UserFactory() for _ in range(7))
    # time off on Tuesday 14 April, 10:00-12:00 London (09:00-11:00 UTC)
    TimeOff.objects.create(coach=coach, starts_at=utc(2026, 4, 14, 9), ends_at=utc(2026, 4, 14, 11))

    # --- March (London): A's last session of the month, H twice ------------------------
    march_a = session(hour, a, utc(2026, 3, 31, 22, 30))  # 23:30 BST on 31 March
    h1 = session(hour, h, utc(2026, 3, 10, 10), created=utc(2026, 3, 1))
    session(hour, h, utc(2026, 3, 17, 10), created=utc(2026, 3, 15))  # H booked again
    review(h1, 5, utc(2026, 3, 11))
    review(march_a, 2, utc(2026, 3, 31, 22, 59))  # 23:59 BST: still March
    # --- April (London) -----------------------------------------------------------------
    # 1: 00:30 BST on 1 April, a March session in UTC
    a1 = session(hour, a, utc(2026, 3, 31, 23, 30), created=utc(2026, 3, 20))
    # 2: A books again after session 1 started
    a2 = session(hour, a, utc(2026, 4, 7, 8), created=utc(2026, 4, 1, 10))
    package = paid_package(client=b, session_type=hour, sessions=5, price=40000)
    b1 = session(hour, b, utc(2026, 4, 14, 12), minutes=90, package_purchase=package)
    session(hour, b, utc(2026, 4, 8, 8), status=BookingStatus.NO_SHOW)
    session(hour, c, utc(2026, 4, 21, 8), status=BookingStatus.CANCELLED_BY_CLIENT)
    session(hour, c, utc(2026, 4, 28, 8), status=BookingStatus.CANCELLED_BY_COACH)
    upcoming = session(hour, d, utc(2026, 4, 16, 8), status=BookingStatus.CONFIRMED)
    session(hour, d, utc(2026, 4, 22, 8), status=BookingStatus.EXPIRED)
    e1 = session(hour, e, utc(2026, 4, 5, 0), created=utc(2026, 3, 1))  # Sunday 01:00 BST
    # E booked again on 6 April (for May) and moved it: the first booking counts, once
    e_first = session(
        hour, e, utc(2026, 5, 10, 8), status=BookingStatus.RESCHEDULED, created=utc(2026, 4, 6)
    )
    session(
        hour,
        e,
        utc(2026, 5, 12, 8),
        status=BookingStatus.CONFIRMED,
        created=utc(2026, 4, 9),
        rescheduled_from=e_first,
    )
    session(hour, g, utc(2026, 4, 9, 10))
    # G's booking made in March, moved on 10 April: moving it is not booking again
    g_first = session(
        hour, g, utc(2026, 4, 20, 8), status=BookingStatus.RESCHEDULED, created=utc(2026, 3, 20)
    )
    session(
        hour,
        g,
        utc(2026, 4, 23, 8),
        status=BookingStatus.CONFIRMED,
        created=utc(2026, 4, 10),
        rescheduled_from=g_first,
    )
    review(a1, 5, utc(2026, 3, 31, 23, 15))  # 00:15 BST on 1 April
    review(b1, 4, utc(2026, 4, 15))
    review(e1, 3, utc(2026, 4, 6))
    review(a2, 1, utc(2026, 4, 8), hidden=True)

    # --- money ----------------------------------------------------------------------------
    # March: £80 at 23:50 BST on 31 March
    pay(coach, h, 8000, 1200, "gbp", utc(2026, 3, 31, 22, 50))
    # April, pounds: £100 at 00:10 BST on 1 April, disputed and lost (£85 taken back)
    disputed = pay(
        coach, a, 10000, 1500, "gbp", utc(2026, 3, 31, 23, 10), status=PaymentStatus.DISPUTED
    )
    Dispute.objects.create(
        payment=disputed,
        stripe_dispute_id="dp_insights1",
        amount=10000,
        currency="gbp",
        status=DisputeStatus.LOST,
        transfer_reversal_amount=8500,
        application_fee_refund_amount=0,
        closed_at=utc(2026, 4, 13),
    )
    # £100, half refunded: £42.50 back from the coach, £7.50 of fee given back to them
    halved = pay(
        coach,
        a,
        10000,
        1500,
        "gbp",
        utc(2026, 4, 5),
        status=PaymentStatus.PARTIALLY_REFUNDED,
        refunded_amount=5000,
    )
    refund(halved, 5000, utc(2026, 4, 6), reversed_amount=4250, fee_back=750)
    # euros: €200 (a €20 refund pending, another that failed), a €400 package on the
    # platform whose first session's share (€68) was transferred
    euros = pay(coach, e, 20000, 3000, "eur", utc(2026, 4, 10), refunded_amount=2000)
    refund(
        euros,
        2000,
        utc(2026, 4, 11),
        reversed_amount=1700,
        fee_back=300,
        status=RefundStatus.PENDING,
    )
    refund(euros, 3000, utc(2026, 4, 11), reversed_amount=0, fee_back=0, status=RefundStatus.FAILED)
    pay(
        coach,
        b,
        40000,
        6000,
        "eur",
        utc(2026, 4, 2),
        kind=PaymentKind.PACKAGE,
        package_purchase=package,
    )
    Transfer.objects.create(
        package_purchase=package,
        booking=b1,
        sequence=1,
        amount=6800,
        currency="eur",
        destination_account_id="acct_insights0001",
        transfer_group=package.transfer_group,
        status=TransferStatus.PAID,
        paid_at=utc(2026, 4, 12),
    )
    # never paid, so never revenue
    pay(coach, c, 9900, 1485, "gbp", utc(2026, 4, 3), status=PaymentStatus.FAILED)
    pay(coach, c, 9900, 1485, "gbp", None, status=PaymentStatus.PENDING)
    # another coach's April
    other = CoachProfileFactory(time_zone="Europe/London")
    other_type = SessionTypeFactory(coach=other, currency="gbp")
    session(other_type, a, utc(2026, 4, 7, 14))
    pay(other, a, 50000, 7500, "gbp", utc(2026, 4, 7))
    return {"coach": coach, "upcoming": upcoming}


def test_the_month_of_a_london_coach_across_the_clock_change_in_two_currencies(history):
    figures = insights.coach_insights(
        coach=history["coach"], range_key="month", zone=LONDON, now=NOW
    )
    # April in London: 23:00 UTC on 31 March to 23:00 UTC on 30 April; March before it
    assert figures.current.start == utc(2026, 3, 31, 23)
    assert figures.current.end == utc(2026, 4, 30, 23)
    assert figures.previous.start == utc(2026, 3, 1)

    money = {item.currency: item for item in figures.money}
    assert [item.currency for item in figures.money] == ["eur", "gbp"]  # most earned first
    gbp, eur = money["gbp"], money["eur"]
    # pounds: £100 (00:10 BST, 1 April) + £100 = £200 gross, £15 + £15 fees, one refund of £50;
    # net = 8500 + 8500 - (4250 - 750) - 8500 (the lost dispute) = 5000
    assert (gbp.current.gross, gbp.current.fees, gbp.current.refunded, gbp.current.refunds) == (
        20000,
        3000,
        5000,
        1,
    )
    assert gbp.current.net == 5000
    # March: the £80 at 23:50 BST on 31 March, net £68
    assert (gbp.previous.gross, gbp.previous.net) == (8000, 6800)
    assert gbp.gross_change == 150  # 20000 against 8000
    assert gbp.net_change == -26  # 5000 against 6800: -26.47%
    # euros: €200 + €400 package = €600 gross, fees €30 + €60; the pending €20 refund counts,
    # the failed one does not; net = 17000 + 6800 (the transferred share) - (1700 - 300)
    assert (eur.current.gross, eur.current.fees, eur.current.refunded, eur.current.refunds) == (
        60000,
        9000,
        2000,
        1,
    )
    assert eur.current.net == 22400
    assert eur.gross_change is None  # nothing in euros in March

    # sessions by their London start: A's 00:30 BST, A's, B's package session, E's, G's
    sessions = figures.sessions
    assert sessions.completed == 5
    assert (sessions.no_show, sessions.cancelled_by_client, sessions.cancelled_by_coach) == (
        1,
        1,
        1,
    )
    assert figures.previous_sessions.completed == 3  # A at 23:30 BST on 31 March, H twice
    assert figures.completed_change == 67  # 5 against 3

    # rebooking: A, B, E and G completed a session; A booked again after it, E too (then moved
    # that booking, counted once); B did not, G only moved a booking made before
    assert (figures.rebooking.clients, figures.rebooking.rebooked) == (4, 2)
    assert figures.rebooking.rate == 0.5
    # March: A (rebooked on 1 April, after the 31 March session) and H
    assert (figures.previous_rebooking.clients, figures.previous_rebooking.rebooked) == (2, 2)

    # ratings: April 5 (00:15 BST on 1 April), 4, 3 (the hidden 1 left out); March 5 and 2
    assert (figures.rating.reviews, figures.rating.average) == (3, 4.0)
    assert figures.previous_rating.average == 3.5
    assert figures.rating_trend == 0.5

    # utilisation: offered in April = Tuesdays 7, 14, 21, 28 x 8 h less 2 h off + Sundays
    # 5, 12, 19, 26 x 2 h = 38 h; booked = 1 + 1 + 1.5 + 1 (no-show) + 1 (D, ahead) + 1 (E)
    # + 1 (G) + 1 (G's moved session on 23 April) = 8.5 h
    assert figures.utilisation.offered_seconds == 38 * 3600
    assert figures.utilisation.booked_seconds == 8.5 * 3600
    # March: Tuesdays 3, 10, 17, 24, 31 x 8 h + Sundays 1, 8, 15, 22 x 2 h + 29 March, the night
    # the clocks went forward, 00:30-02:30 lasting 1 h = 49 h; booked 3 h
    assert figures.previous_utilisation.offered_seconds == 49 * 3600
    assert figures.previous_utilisation.booked_seconds == 3 * 3600

    # the next 7 days: D's confirmed session on 16 April, nothing later than 22 April 12:00 UTC
    assert [booking.pk for booking in figures.agenda] == [history["upcoming"].pk]


def test_three_months_add_up_the_months_and_compare_with_the_three_before(history):
    figures = insights.coach_insights(coach=history["coach"], range_key="3m", zone=LONDON, now=NOW)
    assert figures.current.months[0].isoformat() == "2026-02-01"
    money = {item.currency: item for item in figures.money}
    assert money["gbp"].current.gross == 28000  # March's £80 and April's £200
    assert [month.gross for month in money["gbp"].by_month] == [0, 8000, 20000]
    assert figures.sessions.completed == 8
    assert [month.completed for month in figures.sessions_by_month] == [0, 3, 5]
    assert figures.previous_sessions.completed == 0
    assert figures.completed_change is None


# --- rebooking and utilisation at the edges -------------------------------------------------


@pytest.fixture
def quiet_coach(london_coach):
    return london_coach, SessionTypeFactory(coach=london_coach, currency="gbp")


def _month(coach):
    return insights.coach_insights(coach=coach, range_key="month", zone=LONDON, now=NOW)


def test_no_bookings_no_rate_to_tell_and_nothing_booked_of_the_hours_offered(quiet_coach):
    coach, _ = quiet_coach
    figures = _month(coach)
    assert figures.rebooking.clients == 0
    assert figures.rebooking.rate is None
    assert figures.utilisation.booked_seconds == 0
    assert figures.utilisation.rate == 0.0
    assert figures.utilisation.offered_seconds == 38 * 3600 + 2 * 3600  # no time off here


def test_one_booking_one_client_not_rebooked_and_its_hour_of_the_offered(quiet_coach):
    coach, hour = quiet_coach
    session(hour, UserFactory(), utc(2026, 4, 7, 8))
    figures = _month(coach)
    assert (figures.rebooking.clients, figures.rebooking.rebooked) == (1, 0)
    assert figures.rebooking.rate == 0.0
    assert figures.utilisation.rate == pytest.approx(1 / 40)


def test_a_second_booking_made_61_days_after_the_session_is_not_a_rebooking(quiet_coach):
    coach, hour = quiet_coach
    client = UserFactory()
    first = session(hour, client, utc(2026, 4, 7, 8))
    session(
        hour,
        client,
        utc(2026, 6, 30, 8),
        status=BookingStatus.CONFIRMED,
        created=first.ends_at + timedelta(days=61),
    )
    assert _month(coach).rebooking.rebooked == 0
    Booking.objects.filter(starts_at=utc(2026, 6, 30, 8)).update(
        created_at=first.ends_at + timedelta(days=59)
    )
    assert _month(coach).rebooking.rebooked == 1


def test_all_cancelled_no_rate_and_no_hours_booked(quiet_coach):
    coach, hour = quiet_coach
    client = UserFactory()
    session(hour, client, utc(2026, 4, 7, 8), status=BookingStatus.CANCELLED_BY_CLIENT)
    session(hour, client, utc(2026, 4, 14, 14), status=BookingStatus.CANCELLED_BY_COACH)
    figures = _month(coach)
    assert figures.rebooking.rate is None
    assert figures.utilisation.booked_seconds == 0
    assert figures.utilisation.rate == 0.0
    assert figures.sessions.cancelled == 2


def test_no_hours_offered_no_utilisation_to_tell(db):
    coach = CoachProfileFactory(time_zone="Europe/London")
    hour = SessionTypeFactory(coach=coach)
    session(hour, UserFactory(), utc(2026, 4, 7, 8))
    figures = _month(coach)
    assert figures.utilisation.offered_seconds == 0
    assert figures.utilisation.rate is None


# --- the page and its CSV files ---------------------------------------------------------------


def _signed_in(client, user):
    client.force_login(user)
    return client


def test_the_insights_page_shows_the_figures_in_the_viewers_month(client, history, settings):
    coach = history["coach"]
    _signed_in(client, coach.user)
    response = client.get("/bookings/insights/?range=month")
    assert response.status_code == 200
    # the page reads "now" from the clock: its month is the current one, not April 2026
    assert b"Coach dashboard" in response.content
    assert b'aria-current="page">Insights' in response.content
    assert b'aria-current="true">This month' in response.content


def test_the_insights_csv_files_hold_the_tables(client, history, monkeypatch):
    from django.utils import timezone

    monkeypatch.setattr(timezone, "now", lambda: NOW)
    _signed_in(client, history["coach"].user)
    response = client.get("/bookings/insights/money.csv?range=month")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    by_currency = {row["currency"]: row for row in rows}
    assert by_currency["gbp"]["gross"] == "200.00"
    assert by_currency["gbp"]["net"] == "50.00"
    assert by_currency["eur"]["net"] == "224.00"
    page = client.get("/bookings/insights/?range=month").content.decode()
    assert "£200.00" in page and "€600.00" in page and "+150%" in page
    clients = list(
        csv.DictReader(io.StringIO(client.get("/bookings/insights/clients.csv").content.decode()))
    )
    assert clients[0]["rebooking_rate"] == "0.5"
    assert clients[0]["offered_hours"] == "38.0"
    agenda = list(
        csv.DictReader(io.StringIO(client.get("/bookings/insights/agenda.csv").content.decode()))
    )
    assert [row["starts_at"] for row in agenda] == ["2026-04-16T09:00:00+01:00"]
    for table in ("sessions", "months"):
        assert client.get(f"/bookings/insights/{table}.csv?range=12m").status_code == 200


def test_only_coaches_have_insights_and_bad_input_is_a_clear_400(client, history):
    _signed_in(client, UserFactory())
    assert client.get("/bookings/insights/").status_code == 403
    assert client.get("/bookings/insights/money.csv").status_code == 403
    _signed_in(client, history["coach"].user)
    response = client.get("/bookings/insights/?range=forever")
    assert response.status_code == 400
    assert b"That range is not one we know" in response.content
    assert client.get("/bookings/insights/payroll.csv").status_code == 400


def test_the_insights_page_reads_the_same_number_of_queries_whatever_the_history(
    client, london_coach
):
    coach = london_coach
    hour = SessionTypeFactory(coach=coach, currency="gbp")
    _signed_in(client, coach.user)

    def grow(count: int, start: datetime) -> None:
        for index in range(count):
            when = start + timedelta(days=9 * index)
            client_user = UserFactory()
            booking = session(hour, client_user, when)
            review(booking, 4, when + timedelta(hours=2))
            pay(coach, client_user, 10000, 1500, "gbp" if index % 2 else "eur", when)
        session(hour, UserFactory(), start + timedelta(days=1), status=BookingStatus.CONFIRMED)

    from django.utils import timezone

    now = timezone.now()
    grow(2, now - timedelta(days=40))
    # the navigation's unread-message badge is cached after the first page: read it once
    assert client.get("/bookings/insights/?range=12m").status_code == 200
    with CaptureQueriesContext(connection) as few:
        assert client.get("/bookings/insights/?range=12m").status_code == 200
    grow(12, now - timedelta(days=330))
    with CaptureQueriesContext(connection) as many:
        assert client.get("/bookings/insights/?range=12m").status_code == 200
    assert len(many) == len(few), [query["sql"][:120] for query in many.captured_queries]
