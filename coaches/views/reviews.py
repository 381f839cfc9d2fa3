"""Reviews: a client reviews a completed session, the coach answers."""

from __future__ import annotations

import zoneinfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from coaches.forms import ReviewForm, ReviewReplyForm
from coaches.models import Review
from coaches.providers import booking_reader
from coaches.services import reviews
from coaches.views.common import signed_in_user
from marketplace.errors import DomainError, NotFound


@login_required
def review_create(request: HttpRequest, booking_id: int) -> HttpResponse:
    try:
        booking = booking_reader().reviewable_booking(
            booking_id=booking_id, client=signed_in_user(request)
        )
    except NotFound as error:
        raise Http404(error.message) from error
    form = ReviewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            reviews.review_create(
                booking=booking, client=signed_in_user(request), **form.cleaned_data
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, "Thank you for your review.")
            return redirect("coaches:profile", slug=booking.coach.slug)
    zone = zoneinfo.ZoneInfo(booking.client_time_zone or "UTC")
    return render(
        request,
        "coaches/review_form.html",
        {
            "booking": booking,
            "form": form,
            "when": f"{booking.starts_at.astimezone(zone):%A %d %B %Y, %H:%M} ({zone.key})",
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def review_reply(request: HttpRequest, pk: int) -> HttpResponse:
    review = get_object_or_404(Review, pk=pk, coach__user=request.user)
    form = ReviewReplyForm(request.POST)
    if form.is_valid():
        try:
            reviews.review_reply(
                review=review, by=signed_in_user(request), text=form.cleaned_data["text"]
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Your answer is published.")
    else:
        messages.error(request, "Write an answer first.")
    return redirect("coaches:dashboard")
