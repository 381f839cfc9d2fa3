"""Calendar feeds: the personal iCal address and the feed itself."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from bookings import ical, selectors
from bookings.models import BookingStatus, CalendarFeed
from bookings.services import calendar
from bookings.views.common import booking_or_404, signed_in_user


@login_required
def calendar_settings(request: HttpRequest) -> HttpResponse:
    rotate = request.method == "POST"
    feed = calendar.calendar_feed_for(user=request.user, rotate=rotate)  # type: ignore[arg-type]
    if rotate:
        messages.success(request, "A new calendar address was made; the old one stopped working.")
        return redirect("bookings:calendar_settings")
    url = request.build_absolute_uri(reverse("bookings:calendar_feed", args=[feed.token]))
    return render(request, "bookings/calendar.html", {"feed_url": url})


def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The personal iCal feed: the secret token is the credential (no session needed)."""
    feed = get_object_or_404(CalendarFeed.objects.select_related("user"), token=token)
    body = ical.calendar(
        selectors.calendar_bookings(user=feed.user),
        for_user_id=feed.user_id,
        name=f"{settings.SITE_NAME} sessions",
    )
    return HttpResponse(body, content_type="text/calendar; charset=utf-8")


@login_required
def booking_ics(request: HttpRequest, pk: int) -> HttpResponse:
    """One session as an ``.ics`` file ("add to calendar"), for its client or coach."""
    booking = booking_or_404(request, pk)
    if booking.status not in (BookingStatus.CONFIRMED, BookingStatus.COMPLETED):
        raise Http404("Only a confirmed session goes into a calendar.")
    attachment = ical.booking_attachment(booking, for_user_id=signed_in_user(request).pk)
    response = HttpResponse(attachment["content"], content_type=attachment["mimetype"])
    response["Content-Disposition"] = f'attachment; filename="{attachment["filename"]}"'
    return response
