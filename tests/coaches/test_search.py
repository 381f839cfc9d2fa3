"""Discovery: each filter and sort, ranking, htmx partials, empty states, query counts."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from coaches.models import CoachProfile, Specialization
from coaches.selectors import CoachSearch, SearchSort, coach_search
from coaches.services import availability, search_index, session_types
from tests.coaches.factories import CoachProfileFactory
from tests.factories import CoachUserFactory

pytestmark = pytest.mark.django_db


def make_coach(
    first: str,
    *,
    bio: str = "I coach people.",
    headline: str = "",
    specializations: tuple[str, ...] = (),
    price: int | None = 10000,
    currency: str = "usd",
    languages: tuple[str, ...] = ("en",),
    rating: str | None = None,
    next_available_at: datetime | None = None,
    **fields,
) -> CoachProfile:
    coach = CoachProfileFactory(
        user=CoachUserFactory(first_name=first, last_name="Coach"),
        bio=bio,
        headline=headline,
        currency=currency,
        languages=list(languages),
        rating_average=Decimal(rating) if rating else None,
        rating_count=3 if rating else 0,
        **fields,
    )
    coach.specializations.set(Specialization.objects.filter(slug__in=specializations))
    if price is not None:
        session_types.session_type_create(
            coach=coach, name="Session", duration_minutes=60, price=price
        )
    search_index.coach_search_vectors_refresh(coach_ids=[coach.pk])
    if next_available_at is not None:
        CoachProfile.objects.filter(pk=coach.pk).update(next_available_at=next_available_at)
    return coach


def names(search: CoachSearch, now=None) -> list[str]:
    return [coach.user.first_name for coach in coach_search(search=search, now=now)]


def test_text_search_covers_name_bio_and_specialisations_and_ranks(db):
    make_coach("Alice", bio="Leadership for new managers. Leadership is a skill.")
    make_coach("Bruno", specializations=("leadership",), bio="Teams and growth.")
    make_coach("Chen", bio="Nutrition and sleep.")
    assert set(names(CoachSearch(text="leadership"))) == {"Alice", "Bruno"}
    # the specialisation (weight A) outranks a mention in the bio (weight C)
    assert names(CoachSearch(text="leadership"))[0] == "Bruno"
    assert names(CoachSearch(text="chen")) == ["Chen"]
    assert names(CoachSearch(text="sleeping")) == ["Chen"]  # stemming
    assert names(CoachSearch(text="astrophysics")) == []


def test_filter_by_specialisation(db):
    make_coach("Alice", specializations=("career", "leadership"))
    make_coach("Bruno", specializations=("wellness",))
    assert names(CoachSearch(specialization="career")) == ["Alice"]
    assert names(CoachSearch(specialization="leadership")) == ["Alice"]


def test_filter_by_price_range_in_a_currency(db):
    make_coach("Cheap", price=5000)
    make_coach("Mid", price=10000)
    make_coach("Dear", price=20000)
    make_coach("Euro", price=7000, currency="eur")
    make_coach("None", price=None)
    assert names(CoachSearch(currency="usd", min_price=6000, max_price=15000)) == ["Mid"]
    assert set(names(CoachSearch(currency="usd", max_price=10000))) == {"Cheap", "Mid"}
    assert names(CoachSearch(currency="eur", min_price=1)) == ["Euro"]


def test_filter_by_language(db):
    make_coach("Anna", languages=("de", "en"))
    make_coach("Kenji", languages=("ja",))
    assert names(CoachSearch(language="ja")) == ["Kenji"]
    assert names(CoachSearch(language="de")) == ["Anna"]


def test_filter_by_minimum_rating(db):
    make_coach("Top", rating="4.80")
    make_coach("Good", rating="4.00")
    make_coach("New")
    assert names(CoachSearch(min_rating=Decimal("4.5"))) == ["Top"]
    assert set(names(CoachSearch(min_rating=Decimal("4")))) == {"Top", "Good"}


NOW = datetime(2030, 6, 3, 6, tzinfo=UTC)  # a Monday morning


def indexed_coach(first: str, *, weekdays, start=time(9), end=time(12), **fields) -> CoachProfile:
    coach = make_coach(first, time_zone="UTC", minimum_notice_minutes=0, **fields)
    for weekday in weekdays:
        coach.availability_rules.create(weekday=weekday, start_time=start, end_time=end)
    search_index.availability_index_refresh(coach_ids=[coach.pk], now=NOW)
    return coach


def test_filter_free_within_n_days(db):
    indexed_coach("Monday", weekdays=[0])  # today
    indexed_coach("Friday", weekdays=[4])  # in 4 days
    indexed_coach("Never", weekdays=[])
    assert names(CoachSearch(free_within_days=1), now=NOW) == ["Monday"]
    assert set(names(CoachSearch(free_within_days=7), now=NOW)) == {"Monday", "Friday"}


def test_filter_free_in_a_day_and_time_window_in_the_clients_zone(db):
    indexed_coach("Morning", weekdays=[2], start=time(8), end=time(10))  # Wednesday UTC
    indexed_coach("Evening", weekdays=[2], start=time(18), end=time(20))
    wednesday = date(2030, 6, 5)
    window = lambda zone, start, end: dict(  # noqa: E731
        window_start=datetime.combine(wednesday, start, tzinfo=zone).astimezone(UTC),
        window_end=datetime.combine(wednesday, end, tzinfo=zone).astimezone(UTC),
    )
    from zoneinfo import ZoneInfo

    utc, new_york = ZoneInfo("UTC"), ZoneInfo("America/New_York")
    assert names(CoachSearch(**window(utc, time(7), time(12))), now=NOW) == ["Morning"]
    # 14:00-16:00 in New York (EDT) is 18:00-20:00 UTC
    assert names(CoachSearch(**window(new_york, time(14), time(16))), now=NOW) == ["Evening"]
    # a window shorter than the session fits nobody
    assert names(CoachSearch(**window(utc, time(8), time(8, 30))), now=NOW) == []


def test_a_window_lists_only_coaches_whose_calendar_offers_a_slot_in_it(db):
    # given: two coaches open 09:00-12:00 UTC on Wednesday, hour-long sessions on the
    # half-hour grid; one of them is away Wednesday 09:00-11:00
    indexed_coach("Grid", weekdays=[2])
    away = indexed_coach("Away", weekdays=[2])
    availability.time_off_add(
        coach=away,
        starts_at=datetime(2030, 6, 5, 9, tzinfo=UTC),
        ends_at=datetime(2030, 6, 5, 11, tzinfo=UTC),
    )
    search_index.availability_index_refresh(coach_ids=[away.pk], now=NOW)
    window = {
        "window_start": datetime(2030, 6, 5, 9, 15, tzinfo=UTC),
        "window_end": datetime(2030, 6, 5, 10, 15, tzinfo=UTC),
    }
    # then: 09:15-10:15 holds an hour of free time but no slot (09:00, 09:30, ...) fits it
    assert names(CoachSearch(**window), now=NOW) == []
    # and: 09:30-10:30 fits Grid's 09:30 slot; Away's first slot is 11:00
    window["window_start"] = datetime(2030, 6, 5, 9, 30, tzinfo=UTC)
    window["window_end"] = datetime(2030, 6, 5, 10, 30, tzinfo=UTC)
    assert names(CoachSearch(**window), now=NOW) == ["Grid"]
    window["window_end"] = datetime(2030, 6, 5, 12, tzinfo=UTC)
    assert set(names(CoachSearch(**window), now=NOW)) == {"Grid", "Away"}


def test_a_coach_open_around_the_clock_is_found_late_in_a_long_stretch(db):
    # given a coach open all day every day (half-hour sessions; 00:00-23:59 means midnight),
    # whose slots run without a break for the whole index
    coach = indexed_coach("Always", weekdays=range(7), start=time(0), end=time(23, 59))
    session_types.session_type_create(coach=coach, name="Short", duration_minutes=30, price=1000)
    search_index.availability_index_refresh(coach_ids=[coach.pk], now=NOW)
    # then the index holds stretches of at most a day of slots each
    from coaches.availability import STRETCH_MAX_SPAN
    from coaches.models import FreeWindow

    stretches = list(FreeWindow.objects.filter(coach=coach))
    assert len(stretches) > 1
    assert all(w.ends_at - w.starts_at <= STRETCH_MAX_SPAN for w in stretches)
    # and a window days after the run began, and one across a cut between stretches,
    # both find the coach
    days_later = {
        "window_start": datetime(2030, 6, 8, 3, tzinfo=UTC),
        "window_end": datetime(2030, 6, 8, 4, tzinfo=UTC),
    }
    assert names(CoachSearch(**days_later), now=NOW) == ["Always"]
    cut = stretches[1].starts_at
    across = {"window_start": cut - timedelta(minutes=15), "window_end": cut + timedelta(hours=1)}
    assert names(CoachSearch(**across), now=NOW) == ["Always"]


def test_a_window_nobody_is_free_in_lists_nobody(db):
    indexed_coach("Weekdays", weekdays=[0, 1, 2, 3, 4])
    sunday = {
        "window_start": datetime(2030, 6, 9, 9, tzinfo=UTC),
        "window_end": datetime(2030, 6, 9, 12, tzinfo=UTC),
    }
    assert names(CoachSearch(**sunday), now=NOW) == []


def test_the_form_turns_a_local_window_into_utc(db):
    from coaches.forms import SearchForm

    form = SearchForm(
        {"day": "2030-06-05", "from_time": "14:00", "to_time": "16:00", "tz": "America/New_York"}
    )
    assert form.is_valid(), form.errors
    search = form.to_search()
    assert search.window_start == datetime(2030, 6, 5, 18, tzinfo=UTC)
    assert search.window_end == datetime(2030, 6, 5, 20, tzinfo=UTC)


def test_sorts(db):
    soon = datetime(2030, 1, 1, tzinfo=UTC)
    make_coach("A", price=30000, rating="4.10", next_available_at=soon + timedelta(days=3))
    make_coach("B", price=10000, rating="4.90", next_available_at=soon + timedelta(days=1))
    make_coach("C", price=20000, rating=None, next_available_at=None)
    make_coach("D", price=5000, rating="3.00", next_available_at=soon + timedelta(days=2))
    assert names(CoachSearch(sort=SearchSort.PRICE_LOW)) == ["D", "B", "C", "A"]
    assert names(CoachSearch(sort=SearchSort.PRICE_HIGH)) == ["A", "C", "B", "D"]
    assert names(CoachSearch(sort=SearchSort.RATING)) == ["B", "A", "D", "C"]
    assert names(CoachSearch(sort=SearchSort.SOONEST)) == ["B", "D", "A", "C"]


def test_sort_by_relevance_follows_the_rank(db):
    make_coach("Once", bio="career")
    make_coach("Often", headline="Career career coaching", specializations=("career",))
    assert names(CoachSearch(text="career", sort=SearchSort.RELEVANCE)) == ["Often", "Once"]


def test_relevance_ranks_the_best_rated_matches_when_many_match(db, monkeypatch):
    # given more matches than relevance ranks: the best rated of them are ranked
    from coaches import selectors

    monkeypatch.setattr(selectors, "RELEVANCE_CANDIDATES", 2)
    make_coach("LowRatedPerfect", headline="Career career career", rating="3.00")
    make_coach("TopOnce", bio="career", rating="4.90")
    make_coach("GoodOften", headline="Career coaching", rating="4.50")
    # when
    ranked = names(CoachSearch(text="career", sort=SearchSort.RELEVANCE))
    # then the two best rated come back, in rank order
    assert ranked == ["GoodOften", "TopOnce"]


def test_the_soonest_sort_uses_the_availability_index(db):
    indexed_coach("Thursday", weekdays=[3])
    indexed_coach("Tuesday", weekdays=[1])
    assert names(CoachSearch(sort=SearchSort.SOONEST), now=NOW) == ["Tuesday", "Thursday"]
    tuesday = CoachProfile.objects.get(user__first_name="Tuesday")
    assert tuesday.next_available_at == datetime(2030, 6, 4, 9, tzinfo=UTC)


# --- the page ------------------------------------------------------------------------------


def test_the_page_filters_paginates_and_swaps_results_with_htmx(client, monkeypatch):
    from coaches.views import public

    monkeypatch.setattr(public, "PAGE_SIZE", 2)
    for index in range(5):
        make_coach(f"Coach{index}", price=1000 * (index + 1), specializations=("career",))
    page = client.get(
        reverse("coaches:search") + "?specialization=career&sort=price"
    ).content.decode()
    assert "5 coaches found" in page
    assert "Page 1 of 3" in page
    assert page.index("Coach0") < page.index("Coach1")
    assert "Coach2" not in page
    partial = client.get(
        reverse("coaches:search") + "?specialization=career&sort=price&page=2",
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "<html" not in partial
    assert "Coach2" in partial and "Coach0" not in partial
    assert 'hx-get="?specialization=career&amp;sort=price&amp;page=3"' in partial


def test_the_page_counts_matches_only_up_to_the_cap(client, monkeypatch):
    # given more matching coaches than the page counts
    from coaches.views import public

    monkeypatch.setattr(public, "PAGE_SIZE", 2)
    monkeypatch.setattr(public, "SEARCH_COUNT_CAP", 3)
    for index in range(5):
        make_coach(f"Coach{index}", price=1000 * (index + 1), specializations=("career",))
    # when
    page = client.get(reverse("coaches:search") + "?specialization=career&sort=price")
    # then the total is said as "3+", and the pages stop just past the cap
    text = page.content.decode()
    assert "3+ coaches found" in text
    assert "Page 1 of 2+" in text
    assert page.context["page"].paginator.count == 4
    # and under the cap the count is exact
    cache.clear()
    monkeypatch.setattr(public, "SEARCH_COUNT_CAP", 10)
    text = client.get(reverse("coaches:search") + "?specialization=career").content.decode()
    assert "5 coaches found" in text
    assert "Page 1 of 3<" in text


def test_useful_empty_states(client):
    page = client.get(reverse("coaches:search")).content.decode()
    assert "No coaches are listed yet" in page
    make_coach("Alice")
    page = client.get(reverse("coaches:search") + "?q=zebra").content.decode()
    assert "No coach matches these filters yet" in page
    assert "Show all coaches" in page


def test_bad_filters_get_a_clear_message(client):
    page = client.get(
        reverse("coaches:search") + "?min_price=abc&max_price=1&sort=nonsense"
    ).content.decode()
    assert "Please check the filters" in page
    assert "Enter a number" in page
    response = client.get("/api/coaches/?min_price=10&max_price=5")
    assert response.status_code == 400
    assert "max_price" in response.json()["error"]["fields"]


def _queries(callable_) -> int:
    with CaptureQueriesContext(connection) as context:
        callable_()
    return len(context.captured_queries)


def test_queries_per_search_page_do_not_grow_with_the_page_size(client, monkeypatch):
    from coaches.views import public

    for index in range(30):
        make_coach(
            f"Coach{index}", specializations=("career", "leadership"), languages=("en", "de")
        )
    url = reverse("coaches:search") + "?q=coach&sort=rating"
    monkeypatch.setattr(public, "PAGE_SIZE", 3)
    small = _queries(lambda: client.get(url))
    cache.clear()  # the total is cached for a minute; count it again
    monkeypatch.setattr(public, "PAGE_SIZE", 30)
    large = _queries(lambda: client.get(url))
    assert small == large
    assert large <= 8
    assert _queries(lambda: client.get(url)) == large - 1  # the cached count
    cache.clear()
    api_small = _queries(lambda: client.get("/api/coaches/?page_size=3&specialization=career"))
    cache.clear()
    api_large = _queries(lambda: client.get("/api/coaches/?page_size=30&specialization=career"))
    assert api_small == api_large
    assert client.get("/api/coaches/?page_size=30").json()["count"] == 30


def test_the_form_keeps_the_chosen_filters_and_labels_them(client):
    make_coach("Alice", specializations=("career",))
    page = client.get(
        reverse("coaches:search") + "?specialization=career&sort=price&q=alice&tz=Asia/Tokyo"
    ).content.decode()
    assert '<option value="career" selected>Career</option>' in page
    assert '<option value="price" selected>Price: low to high</option>' in page
    assert '<input type="text" name="q" id="id_q" maxlength="200" value="alice">' in page
    assert '<label for="id_sort">Sort by</label>' in page
    assert '<datalist id="time-zones">' in page and 'value="Asia/Tokyo"' in page
    bad = client.get(reverse("coaches:search") + "?tz=Mars/Olympus").content.decode()
    assert "Choose a time zone such as Europe/Zurich." in bad
