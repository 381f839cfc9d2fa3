"""Public pages: search with its htmx results, a coach's profile with the next free
times, the coach's photo."""

from __future__ import annotations

import zoneinfo
from collections import OrderedDict
from datetime import UTC
from typing import Any
from urllib.parse import urlencode

from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from coaches import selectors
from coaches.forms import TIME_ZONE_DATALIST, SearchForm
from coaches.models import CoachProfile, SessionType
from coaches.pagination import CachedCountPaginator
from coaches.providers import booking_reader
from coaches.services import photos
from coaches.views.common import signed_in_user, url_or_none
from marketplace.errors import NotFound

PAGE_SIZE = 12


def _visitor_time_zone(request: HttpRequest) -> str:
    """The zone to show times in: ``?tz=`` (set by the browser), the user's, or UTC."""
    wanted = request.GET.get("tz", "")
    if wanted in zoneinfo.available_timezones():
        return wanted
    if request.user.is_authenticated and signed_in_user(request).time_zone:
        return signed_in_user(request).time_zone
    return "UTC"


def search(request: HttpRequest) -> HttpResponse:
    """``/coaches/``: full-text search with filters and sorts; htmx swaps the results."""
    form = SearchForm(request.GET or None)
    page = None
    results: QuerySet[CoachProfile]
    if form.is_bound and not form.is_valid():
        results = CoachProfile.objects.none()
    else:
        if not form.is_bound:
            form = SearchForm({})
            form.is_valid()
        # A minute's resolution keeps the availability filters' SQL (and so the cached
        # count) stable between requests.
        now = timezone.now().replace(second=0, microsecond=0)
        results = selectors.coach_search(search=form.to_search(), now=now)
    paginator = CachedCountPaginator(results, PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "time_zone_datalist": TIME_ZONE_DATALIST,
        "page": page,
        "query_string": query.urlencode(),
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
    context = {"coach": coach, **_slots_context(request, coach, coach.offered_session_types)}
    return render(request, "coaches/_slots.html", context)


def _slots_context(
    request: HttpRequest, coach: CoachProfile, session_types: list[SessionType]
) -> dict[str, Any]:
    time_zone = _visitor_time_zone(request)
    chosen = None
    wanted = request.GET.get("session_type", "")
    for session_type in session_types:
        if str(session_type.pk) == wanted:
            chosen = session_type
    chosen = chosen or (session_types[0] if session_types else None)
    days: OrderedDict[str, list[dict[str, str]]] = OrderedDict()
    if chosen is not None:
        zone = zoneinfo.ZoneInfo(time_zone)
        book_url = url_or_none("bookings:new")
        for slot in selectors.coach_upcoming_slots(coach=coach, session_type=chosen):
            local = slot.astimezone(zone)
            day = days.setdefault(f"{local:%A %d %B}", [])
            if len(days) > 5:
                days.popitem()
                break
            if len(day) >= 8:
                continue
            start = slot.astimezone(UTC).isoformat().replace("+00:00", "Z")
            day.append(
                {
                    "label": f"{local:%H:%M}",
                    "iso": start,
                    "url": f"{book_url}?{urlencode({'session_type': chosen.pk, 'start': start})}"
                    if book_url
                    else "",
                }
            )
    return {
        "time_zone": time_zone,
        "time_zone_datalist": TIME_ZONE_DATALIST,
        "tz_explicit": "tz" in request.GET,
        "chosen_session_type": chosen,
        "slot_days": days,
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
