"""The coach's own pages: the dashboard, session types, and the availability page (weekly
hours, booking rules, time off, extra hours)."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, time

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from coaches.forms import (
    AvailabilitySettingsForm,
    ExtraHoursForm,
    PhotoForm,
    ReviewReplyForm,
    SessionTypeForm,
    TimeOffForm,
    WeeklyGridForm,
    format_intervals,
)
from coaches.models import CoachProfile, Review, SessionType, Weekday
from coaches.services import applications, profiles, session_types
from coaches.services import availability as availability_services
from coaches.views.common import own_application, signed_in_user, url_or_none
from marketplace.redirects import redirect_to_next


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    if not signed_in_user(request).is_coach:
        return render(request, "coaches/not_a_coach.html", status=403)
    application = own_application(request)
    coach = application.coach
    session_types = coach.offered_session_types
    rules = coach.availability_rules.all()
    weekly: dict[str, list[tuple[time, time]]] = {weekday.label: [] for weekday in Weekday}
    for rule in rules:
        weekly[Weekday(rule.weekday).label].append((rule.start_time, rule.end_time))
    context = {
        "application": application,
        "coach": coach,
        "session_types": session_types,
        "session_type_form": SessionTypeForm(currency=coach.currency),
        "weekly": {day: format_intervals(intervals) for day, intervals in weekly.items()},
        "payments_url": url_or_none("payments:connect_setup"),
        "reviews": Review.objects.filter(coach=coach, is_hidden=False).select_related("client")[
            :10
        ],
        "reply_form": ReviewReplyForm(),
        "missing": applications.application_missing(application),
    }
    return render(request, "coaches/dashboard.html", context)


@login_required
@require_POST
def account_photo(request: HttpRequest) -> HttpResponse:
    """The coach's photo, changed from the account settings page."""
    if not signed_in_user(request).is_coach:
        return render(request, "coaches/not_a_coach.html", status=403)
    coach = own_application(request).coach
    form = PhotoForm(request.POST, request.FILES)
    if form.is_valid():
        profiles.coach_profile_update(coach=coach, photo=form.cleaned_data["photo"])
        messages.success(request, "Your photo is saved.")
    else:
        messages.error(request, " ".join(str(error) for error in form.errors.get("photo", [])))
    return redirect("account_settings")


def account_photo_section(request: HttpRequest) -> dict | None:
    """The account settings page's photo section, for coaches."""
    user = request.user
    if not (user.is_authenticated and signed_in_user(request).is_coach):
        return None
    coach = CoachProfile.objects.filter(user=user).only("slug", "photo").first()
    photo_url = reverse("coaches:photo", args=[coach.slug]) if coach and coach.photo else ""
    photo_url = f"{photo_url}?size=medium" if photo_url else ""
    return {"form": PhotoForm(), "photo_url": photo_url}


@login_required
@require_POST
def session_type_add(request: HttpRequest) -> HttpResponse:
    application = own_application(request)
    coach = application.coach
    form = SessionTypeForm(request.POST, currency=coach.currency)
    if form.is_valid():
        session_types.session_type_create(coach=coach, **form.cleaned_data)
        messages.success(request, "Session type added.")
    else:
        errors = "; ".join(
            f"{form.fields[name].label}: {' '.join(str(error) for error in errs)}"
            if name in form.fields
            else " ".join(str(error) for error in errs)
            for name, errs in form.errors.items()
        )
        messages.error(request, f"The session type was not added. {errors}")
    return redirect_to_next(request, "coaches:dashboard")


@login_required
@require_POST
def session_type_remove(request: HttpRequest, pk: int) -> HttpResponse:
    application = own_application(request)
    session_type = get_object_or_404(SessionType, pk=pk, coach=application.coach)
    session_types.session_type_deactivate(session_type=session_type)
    messages.success(request, f"“{session_type.name}” is no longer offered.")
    return redirect_to_next(request, "coaches:dashboard")


@login_required
def availability(request: HttpRequest) -> HttpResponse:
    """The week grid, settings, time off and extra hours of the signed-in coach."""
    if not signed_in_user(request).is_coach:
        return render(request, "coaches/not_a_coach.html", status=403)
    coach = own_application(request).coach
    weekly: dict[int, list] = {weekday.value: [] for weekday in Weekday}
    for rule in coach.availability_rules.all():
        weekly[rule.weekday].append((rule.start_time, rule.end_time))
    grid = WeeklyGridForm(
        initial={f"day_{day}": format_intervals(intervals) for day, intervals in weekly.items()}
    )
    settings_form = AvailabilitySettingsForm(
        initial={
            "buffer_before_minutes": coach.buffer_before_minutes,
            "buffer_after_minutes": coach.buffer_after_minutes,
            "minimum_notice_minutes": coach.minimum_notice_minutes,
            "booking_horizon_days": coach.booking_horizon_days,
            "max_sessions_per_day": coach.max_sessions_per_day,
        }
    )
    time_off_form = TimeOffForm(time_zone=coach.time_zone)
    extra_form = ExtraHoursForm()
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "grid":
            grid = WeeklyGridForm(request.POST)
            if grid.is_valid():
                availability_services.availability_rules_replace(
                    coach=coach, weekly=dict(grid.weekly)
                )
                messages.success(request, "Weekly hours saved.")
                return redirect("coaches:availability")
        elif action == "settings":
            settings_form = AvailabilitySettingsForm(request.POST)
            if settings_form.is_valid():
                availability_services.availability_settings_update(
                    coach=coach, **settings_form.cleaned_data
                )
                messages.success(request, "Booking rules saved.")
                return redirect("coaches:availability")
        elif action == "time_off":
            time_off_form = TimeOffForm(request.POST, time_zone=coach.time_zone)
            if time_off_form.is_valid():
                availability_services.time_off_add(coach=coach, **time_off_form.cleaned_data)
                messages.success(request, "Time off added.")
                return redirect("coaches:availability")
        elif action == "extra":
            extra_form = ExtraHoursForm(request.POST)
            if extra_form.is_valid():
                data = extra_form.cleaned_data
                availability_services.extra_hours_add(
                    coach=coach, day=data["date"], start=data["start_time"], end=data["end_time"]
                )
                messages.success(request, "Extra hours added.")
                return redirect("coaches:availability")
        elif action == "remove_time_off":
            availability_services.time_off_remove(
                coach=coach, time_off_id=_int(request.POST.get("id"))
            )
            messages.success(request, "Time off removed.")
            return redirect("coaches:availability")
        elif action == "remove_extra":
            availability_services.extra_hours_remove(
                coach=coach, extra_hours_id=_int(request.POST.get("id"))
            )
            messages.success(request, "Extra hours removed.")
            return redirect("coaches:availability")
        else:
            messages.error(request, "Unknown action.")
    zone = zoneinfo.ZoneInfo(coach.time_zone)
    time_off = [
        {
            "id": item.pk,
            "label": f"{item.starts_at.astimezone(zone):%a %d %b %Y %H:%M} to "
            f"{item.ends_at.astimezone(zone):%a %d %b %Y %H:%M}",
            "note": item.note,
        }
        for item in coach.time_off.filter(ends_at__gte=datetime.now(UTC))
    ]
    status = 200
    if request.method == "POST":
        status = 400
    return render(
        request,
        "coaches/availability.html",
        {
            "coach": coach,
            "grid": grid,
            "settings_form": settings_form,
            "time_off_form": time_off_form,
            "extra_form": extra_form,
            "time_off": time_off,
            "extra_hours": coach.extra_hours.filter(date__gte=datetime.now(zone).date()),
        },
        status=status,
    )


def _int(value: str | None) -> int:
    try:
        return int(value or "")
    except ValueError as error:
        raise Http404("No such item.") from error
