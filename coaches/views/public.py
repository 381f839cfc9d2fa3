"""Public pages: search with its htmx results, a coach's profile with the next free
times, the coach's photo."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from coaches import selectors
from coaches.forms import TIME_ZONE_DATALIST, SearchForm
from coaches.models import CoachProfile, SessionType
from coaches.pagination import SEARCH_COUNT_CAP, CachedCountPaginator
from coaches.providers import booking_reader
from coaches.services import catalogue, photos
from coaches.views.common import url_or_none
from marketplace.errors import DomainError, NotFound
from marketplace.timeparse import parse_day
from marketplace.timezones import visitor_time_zone

PAGE_SIZE = 12


def _query_day(value: str | None) -> date | None:
    """A ``YYYY-MM-DD`` day from a calendar link; None when absent or not a day the parser
    takes (the calendar then opens on this week)."""
    try:
        return parse_day(value or "", field="week")
    except DomainError:
        return None


def home(request: HttpRequest) -> HttpResponse:
    """``/``: search first (a search box, the specialisations on offer), featured verified
    coaches, how it works for clients and coaches, and why a card is safe here.

    The specialisations and the featured coaches are the same for every visitor: the
    template caches them per language under the catalogue's version
    (``services.catalogue``), and reads them only when that fragment is not cached."""
    return render(
        request,
        "coaches/home.html",
        {
            "catalogue_version": catalogue.home_catalogue_version(),
            "catalogue_seconds": catalogue.HOME_CATALOGUE_SECONDS,
            "featured": SimpleLazyObject(selectors.featured_coaches),
            "specializations": SimpleLazyObject(selectors.specializations_offered),
        },
    )


def search(request: HttpRequest) -> HttpResponse:
    """``/coaches/``: full-text search with filters and sorts; htmx swaps the results.

    A day-and-time window is read in the zone the visitor gave, else in theirs (the
    browser's cookie or the account); results then link to that day on each profile."""
    data = request.GET.copy()
    zone = visitor_time_zone(request)
    if not data.get("tz") and zone.known:
        data["tz"] = zone.name
    form = SearchForm(data if request.GET else None)
    page = None
    results: QuerySet[CoachProfile]
    if form.is_bound and not form.is_valid():
        results = CoachProfile.objects.none()
    else:
        if not form.is_bound:
            form = SearchForm({"tz": zone.name} if zone.known else {})
            form.is_valid()
        # A minute's resolution keeps the availability filters' SQL (and so the cached
        # count) stable between requests.
        now = timezone.now().replace(second=0, microsecond=0)
        results = selectors.coach_search(search=form.to_search(), now=now)
    paginator = CachedCountPaginator(results, PAGE_SIZE, count_cap=SEARCH_COUNT_CAP)
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    profile_query = ""
    if form.is_valid() and form.cleaned_data.get("day"):
        profile_query = urlencode(
            {
                "day": form.cleaned_data["day"].isoformat(),
                "tz": form.cleaned_data.get("tz") or "UTC",
            }
        )
    context = {
        "form": form,
        "time_zone_datalist": TIME_ZONE_DATALIST,
        "page": page,
        "query_string": query.urlencode(),
        "profile_query": profile_query,
        "active_filters": sum(
            1
            for key, value in request.GET.items()
            if value and key not in ("page", "tz", "q", "sort", "currency")
        ),
        "has_filters": any(
            value for key, value in request.GET.items() if key not in ("page", "tz")
        ),
    }
    htmx = getattr(request, "htmx", None)
    partial = htmx is not None and bool(htmx) and not htmx.history_restore_request
    template = "coaches/_results.html" if partial else "coaches/search.html"
    return render(request, template, context)


def profile(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        coach = selectors.coach_public_get(slug=slug)
    except NotFound as error:
        raise Http404(error.message) from error
    session_types = coach.offered_session_types
    reviews = list(selectors.coach_visible_reviews(coach=coach)[:20])
    context = {
        "coach": coach,
        "application": getattr(coach, "application", None),
        "session_types": session_types,
        "packages": booking_reader().packages_on_offer(coach=coach),
        "plans": booking_reader().plans_on_offer(coach=coach),
        "reviews": reviews,
        **_slots_context(request, coach, session_types),
    }
    return render(request, "coaches/profile.html", context)


def profile_slots(request: HttpRequest, slug: str) -> HttpResponse:
    """The "next available" block of a profile, for another zone or session type (htmx)."""
    try:
        coach = selectors.coach_public_get(slug=slug)
    except NotFound as error:
        raise Http404(error.message) from error
    context = {
        "coach": coach,
        **_slots_context(request, coach, coach.offered_session_types, fragment=True),
    }
    return render(request, "coaches/_slots.html", context)


def _slots_context(
    request: HttpRequest,
    coach: CoachProfile,
    session_types: list[SessionType],
    *,
    fragment: bool = False,
) -> dict[str, Any]:
    """The booking calendar: a week of every free slot in the visitor's zone, chosen by
    ``?session_type=``, ``?week=`` (any day of the week) or ``?day=`` (a day to show
    selected, as search links to), and ``?tz=``.

    A full page whose visitor's zone is not known yet (their very first request, before
    static/js/timezone.js set the cookie) draws no times at all: the calendar is fetched
    once the page has loaded, with the cookie, so no time is ever shown in a wrong zone.
    The fragment falls back to UTC, so a browser without cookies still sees times."""
    zone = visitor_time_zone(request)
    zone_known = zone.known or fragment
    chosen = None
    wanted = request.GET.get("session_type", "")
    for session_type in session_types:
        if str(session_type.pk) == wanted:
            chosen = session_type
    chosen = chosen or (session_types[0] if session_types else None)
    selected_day = _query_day(request.GET.get("day"))
    week = None
    if chosen is not None and zone_known:
        week = selectors.coach_slot_week(
            coach=coach,
            session_type=chosen,
            zone=zone.name,
            week_of=_query_day(request.GET.get("week")) or selected_day,
        )
    book_url = url_or_none("bookings:new")
    keep: dict[str, str] = {}
    if chosen is not None:
        keep["session_type"] = str(chosen.pk)
    if zone.source == "chosen":
        keep["tz"] = zone.name
    return {
        "time_zone": zone.name,
        "zone_known": zone_known,
        "time_zone_datalist": TIME_ZONE_DATALIST,
        "chosen_session_type": chosen,
        "week": week,
        "selected_day": selected_day,
        "calendar_query": urlencode(keep),
        "book_url": book_url,
        "slot_query": urlencode({**keep, "tz": zone.name}),
    }


def photo(request: HttpRequest, slug: str) -> FileResponse:
    """A coach's photo: public once the coach is public; the coach and staff always.

    ``?size=small|medium|large`` answers the square cut of that size (made on first use
    when the photo predates it); without it, the original."""
    coach = get_object_or_404(CoachProfile.objects.select_related("user"), slug=slug)
    is_owner = request.user.is_authenticated and coach.user_id == request.user.pk
    if not (coach.is_bookable or is_owner or request.user.is_staff) or not coach.photo:
        raise Http404("No photo.")
    size = request.GET.get("size", "")
    if size:
        name = photos.coach_photo_size(coach=coach, size=size)
        if name is None:
            raise Http404("No photo of that size.")
        response = FileResponse(coach.photo.storage.open(name, "rb"), content_type="image/webp")
    else:
        response = FileResponse(coach.photo.open("rb"))
    response["Cache-Control"] = "public, max-age=3600" if coach.is_bookable else "private"
    return response
