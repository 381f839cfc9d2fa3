"""Property tests of the slot computation (coaches.availability), DST days included."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from coaches.availability import END_OF_DAY, SLOT_STEP, CoachCalendar, compute_slots

ZONES = ["Europe/Zurich", "America/New_York", "Asia/Tokyo", "Europe/London", "UTC"]
# The days the clocks change in 2026, and a plain day for contrast.
DST_DAYS = {
    "Europe/Zurich": [date(2026, 3, 29), date(2026, 10, 25)],
    "America/New_York": [date(2026, 3, 8), date(2026, 11, 1)],
}
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@st.composite
def wall_intervals(draw):
    """One to three non-empty wall-clock intervals of a day, on the half hour or not."""
    intervals = []
    for _ in range(draw(st.integers(1, 3))):
        start_minute = draw(st.integers(0, 23 * 60))
        end_minute = draw(st.integers(start_minute + 15, 24 * 60 - 1))
        intervals.append(
            (
                time(start_minute // 60, start_minute % 60),
                time(end_minute // 60, end_minute % 60),
            )
        )
    return intervals


@st.composite
def calendars(draw, zone=None, around=None):
    zone = zone or draw(st.sampled_from(ZONES))
    weekly = {weekday: draw(wall_intervals()) for weekday in range(7) if draw(st.booleans())}
    base = datetime.combine(around or date(2026, 3, 1), time(0), tzinfo=UTC)
    busy = []
    for _ in range(draw(st.integers(0, 6))):
        busy_start = base + timedelta(minutes=draw(st.integers(-2 * 24 * 60, 5 * 24 * 60)))
        busy.append((busy_start, busy_start + timedelta(minutes=draw(st.integers(15, 180)))))
    time_off = []
    for _ in range(draw(st.integers(0, 2))):
        off_start = base + timedelta(minutes=draw(st.integers(-24 * 60, 5 * 24 * 60)))
        time_off.append((off_start, off_start + timedelta(minutes=draw(st.integers(30, 2000)))))
    return CoachCalendar(
        time_zone=zone,
        weekly=weekly,
        busy=busy,
        time_off=time_off,
        buffer_before=timedelta(minutes=draw(st.sampled_from([0, 5, 10, 30]))),
        buffer_after=timedelta(minutes=draw(st.sampled_from([0, 15, 30, 60]))),
        minimum_notice=timedelta(0),
        horizon=timedelta(days=3650),
        max_sessions_per_day=draw(st.one_of(st.none(), st.integers(1, 4))),
    )


def _inside_a_rule(calendar: CoachCalendar, slot: datetime, duration: timedelta) -> bool:
    """Independent check in wall-clock terms: the slot starts and ends inside one rule
    interval of the local date it starts on."""
    zone = ZoneInfo(calendar.time_zone)
    local_start = slot.astimezone(zone)
    local_end = (slot + duration).astimezone(zone)
    ends_at_midnight = local_end.date() == local_start.date() + timedelta(days=1) and (
        local_end.time() == time(0)
    )
    if local_end.date() != local_start.date() and not ends_at_midnight:
        return False
    for rule_start, rule_end in calendar.weekly.get(local_start.weekday(), []):
        if rule_start > local_start.time():
            continue
        if ends_at_midnight and rule_end == END_OF_DAY:
            return True  # "until 23:59" is until midnight
        if not ends_at_midnight and local_end.time() <= rule_end:
            return True
    return False


durations = st.sampled_from([timedelta(minutes=minutes) for minutes in (15, 30, 45, 60, 90)])


@settings(max_examples=150, deadline=None)
@given(calendar=calendars(), duration=durations)
def test_no_slot_overlaps_a_booking_or_its_buffers_and_every_slot_lies_within_the_rules(
    calendar, duration
):
    start = datetime(2026, 2, 28, tzinfo=UTC)
    slots = compute_slots(
        calendar, duration=duration, start=start, end=start + timedelta(days=5), now=NOW
    )
    for slot in slots:
        for busy_start, busy_end in calendar.busy:
            assert (
                slot + duration <= busy_start - calendar.buffer_before
                or slot >= busy_end + calendar.buffer_after
            ), f"{slot} overlaps the booking {busy_start}-{busy_end} or its buffers"
        for off_start, off_end in calendar.time_off:
            assert slot + duration <= off_start or slot >= off_end
        assert _inside_a_rule(calendar, slot, duration)
        assert start <= slot < start + timedelta(days=5)
        assert slot.tzinfo is not None and slot.utcoffset() == timedelta(0)
    assert slots == sorted(set(slots))


@settings(max_examples=100, deadline=None)
@given(calendar=calendars(), duration=durations)
def test_the_daily_limit_counts_existing_sessions_per_local_day(calendar, duration):
    start = datetime(2026, 2, 28, tzinfo=UTC)
    slots = compute_slots(
        calendar, duration=duration, start=start, end=start + timedelta(days=5), now=NOW
    )
    if calendar.max_sessions_per_day is None:
        return
    zone = ZoneInfo(calendar.time_zone)
    sessions = {}
    for busy_start, _ in calendar.busy:
        day = busy_start.astimezone(zone).date()
        sessions[day] = sessions.get(day, 0) + 1
    for slot in slots:
        assert sessions.get(slot.astimezone(zone).date(), 0) < calendar.max_sessions_per_day


@settings(max_examples=60, deadline=None)
@given(
    notice_minutes=st.integers(0, 3 * 24 * 60),
    horizon_days=st.integers(4, 10),
    now_offset=st.integers(0, 7 * 24 * 60),
)
def test_slots_respect_minimum_notice_and_the_horizon(notice_minutes, horizon_days, now_offset):
    calendar = CoachCalendar(
        time_zone="Europe/Zurich",
        weekly={weekday: [(time(8), time(18))] for weekday in range(7)},
        minimum_notice=timedelta(minutes=notice_minutes),
        horizon=timedelta(days=horizon_days),
    )
    now = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=now_offset)
    slots = compute_slots(
        calendar,
        duration=timedelta(hours=1),
        start=now - timedelta(days=1),
        end=now + timedelta(days=30),
        now=now,
    )
    assert slots, "a coach open every day has slots"
    assert min(slots) >= now + calendar.minimum_notice
    assert max(slots) < now + calendar.horizon


@settings(max_examples=120, deadline=None)
@given(data=st.data(), zone=st.sampled_from(sorted(DST_DAYS)), duration=durations)
def test_on_daylight_saving_days_slots_keep_their_local_times(data, zone, duration):
    # given: a coach whose rules every day of the week are the same
    day = data.draw(st.sampled_from(DST_DAYS[zone]))
    intervals = data.draw(wall_intervals())
    calendar = CoachCalendar(
        time_zone=zone,
        weekly={weekday: intervals for weekday in range(7)},
        horizon=timedelta(days=3650),
    )
    tz = ZoneInfo(zone)

    # when: slots are computed over the DST day and the plain day a week before
    def local_slots(on: date) -> list[datetime]:
        begin = datetime.combine(on, time(0), tzinfo=tz).astimezone(UTC)
        end = datetime.combine(on + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
        slots = compute_slots(calendar, duration=duration, start=begin, end=end, now=NOW)
        return [slot.astimezone(tz) for slot in slots]

    on_dst_day = local_slots(day)
    plain_day = local_slots(day - timedelta(days=7))
    # then: every slot is inside a rule in local wall-clock time, on that date
    for slot in on_dst_day:
        assert slot.date() == day
        assert _inside_a_rule(calendar, slot.astimezone(UTC), duration)
        # and is a whole number of steps after a rule start in real (elapsed) time
        assert any(
            (slot.astimezone(UTC) - datetime.combine(day, rule_start, tzinfo=tz).astimezone(UTC))
            % SLOT_STEP
            == timedelta(0)
            for rule_start, _ in intervals
        ) or any(
            (
                slot.astimezone(UTC)
                - datetime.combine(day, rule_start, tzinfo=tz).replace(fold=1).astimezone(UTC)
            )
            % SLOT_STEP
            == timedelta(0)
            for rule_start, _ in intervals
        )
    # and where no rule touches the hour that is skipped or repeated (01:00-03:00 local),
    # the DST day offers exactly the wall-clock times of a plain day
    touches_change = any(
        rule_start < time(3) and rule_end > time(1) for rule_start, rule_end in intervals
    )
    if not touches_change:
        assert [slot.time() for slot in on_dst_day] == [slot.time() for slot in plain_day]


def _slots_on(zone: str, day: date, rule: tuple[time, time], minutes: int = 60) -> list[str]:
    tz = ZoneInfo(zone)
    calendar = CoachCalendar(
        time_zone=zone, weekly={day.weekday(): [rule]}, horizon=timedelta(days=3650)
    )
    begin = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    slots = compute_slots(
        calendar,
        duration=timedelta(minutes=minutes),
        start=begin,
        end=begin + timedelta(days=1),
        now=NOW,
    )
    return [slot.astimezone(tz).strftime("%H:%M%z") for slot in slots]


def test_zurich_spring_forward_morning_slots_are_at_the_same_wall_clock_times():
    assert _slots_on("Europe/Zurich", date(2026, 3, 28), (time(9), time(11))) == [
        "09:00+0100",
        "09:30+0100",
        "10:00+0100",
    ]
    assert _slots_on("Europe/Zurich", date(2026, 3, 29), (time(9), time(11))) == [
        "09:00+0200",
        "09:30+0200",
        "10:00+0200",
    ]


def test_a_rule_until_23_59_runs_until_midnight():
    # the last hour-long session of a day open "until 23:59" starts at 23:00 and ends at 00:00
    assert _slots_on("Europe/Zurich", date(2026, 6, 1), (time(21), time(23, 59)))[-1] == (
        "23:00+0200"
    )
    # an end of 23:30 is taken literally
    assert _slots_on("Europe/Zurich", date(2026, 6, 1), (time(21), time(23, 30)))[-1] == (
        "22:30+0200"
    )


def test_zurich_spring_forward_a_rule_over_the_skipped_hour_is_one_hour_shorter():
    # 01:00-04:00 on 29 March 2026 lasts two real hours: 02:00-03:00 does not exist.
    assert _slots_on("Europe/Zurich", date(2026, 3, 29), (time(1), time(4))) == [
        "01:00+0100",
        "01:30+0100",
        "03:00+0200",
    ]


def test_zurich_fall_back_a_rule_over_the_repeated_hour_offers_both_occurrences():
    assert _slots_on("Europe/Zurich", date(2026, 10, 25), (time(1), time(4))) == [
        "01:00+0200",
        "01:30+0200",
        "02:00+0200",
        "02:30+0200",
        "02:00+0100",
        "02:30+0100",
        "03:00+0100",
    ]


def test_new_york_dst_days():
    assert _slots_on("America/New_York", date(2026, 3, 8), (time(9), time(10, 30))) == [
        "09:00-0400",
        "09:30-0400",
    ]
    assert _slots_on("America/New_York", date(2026, 3, 7), (time(9), time(10, 30))) == [
        "09:00-0500",
        "09:30-0500",
    ]
    assert _slots_on("America/New_York", date(2026, 11, 1), (time(0, 30), time(2, 30))) == [
        "00:30-0400",
        "01:00-0400",
        "01:30-0400",
        "01:00-0500",
        "01:30-0500",
    ]


def test_a_client_whose_clock_changed_sees_the_coachs_slot_at_its_new_local_time():
    # A Zurich coach at 09:00: New York moves its clocks on 8 March, Zurich on 29 March,
    # so for three weeks the gap is five hours instead of six.
    before = _slots_on("Europe/Zurich", date(2026, 3, 6), (time(9), time(10)))
    between = _slots_on("Europe/Zurich", date(2026, 3, 13), (time(9), time(10)))
    assert before == between == ["09:00+0100"]
    new_york = ZoneInfo("America/New_York")
    zurich = ZoneInfo("Europe/Zurich")
    assert datetime(2026, 3, 6, 9, tzinfo=zurich).astimezone(new_york).strftime("%H:%M") == "03:00"
    assert datetime(2026, 3, 13, 9, tzinfo=zurich).astimezone(new_york).strftime("%H:%M") == "04:00"
