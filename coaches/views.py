"""Coaches pages: discovery, public profiles, the coach's dashboard, application and
availability, the protected certificate download, reviews."""

from __future__ import annotations

import zoneinfo
from collections import OrderedDict
from datetime import UTC, datetime, time
from typing import Any, cast
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from coaches import selectors
from coaches.forms import (
    LANGUAGE_NAMES,
    TIME_ZONE_DATALIST,
    AvailabilitySettingsForm,
    BusinessForm,
    CertificationForm,
    ExperienceForm,
    ExtraHoursForm,
    PersonalForm,
    ReviewForm,
    ReviewReplyForm,
    SearchForm,
    SessionTypeForm,
    TimeOffForm,
    WeeklyGridForm,
    format_intervals,
)
from coaches.models import (
    CoachApplication,
    CoachProfile,
    Review,
    SessionType,
    Weekday,
)
from coaches.pagination import CachedCountPaginator
from coaches.providers import booking_reader
from coaches.services import applications, profiles, reviews, session_types
from coaches.services import availability as availability_services
from marketplace.errors import DomainError, NotFound
from marketplace.models import User

PAGE_SIZE = 12
STEP_TITLES = OrderedDict(
    [
        ("personal", "Personal details"),
        ("certification", "Certification"),
        ("experience", "Experience"),
        ("business", "Business"),
        ("review", "Review and submit"),
    ]
)


def _user(request: HttpRequest) -> User:
    """The signed-in user of a ``login_required`` view."""
    return cast(User, request.user)


def _visitor_time_zone(request: HttpRequest) -> str:
    """The zone to show times in: ``?tz=`` (set by the browser), the user's, or UTC."""
    wanted = request.GET.get("tz", "")
    if wanted in zoneinfo.available_timezones():
        return wanted
    if request.user.is_authenticated and _user(request).time_zone:
        return _user(request).time_zone
    return "UTC"


def _url_or_none(name: str, **kwargs: Any) -> str | None:
    try:
        return reverse(name, kwargs=kwargs or None)
    except NoReverseMatch:
        return None


# --- discovery -----------------------------------------------------------------------------


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
        book_url = _url_or_none("bookings:new")
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
    """A coach's photo: public once the coach is public; the coach and staff always."""
    coach = get_object_or_404(CoachProfile.objects.select_related("user"), slug=slug)
    is_owner = request.user.is_authenticated and coach.user_id == request.user.pk
    if not (coach.is_bookable or is_owner or request.user.is_staff) or not coach.photo:
        raise Http404("No photo.")
    response = FileResponse(coach.photo.open("rb"))
    response["Cache-Control"] = "public, max-age=3600" if coach.is_bookable else "private"
    return response


# --- the coach's side ----------------------------------------------------------------------


def _own_application(request: HttpRequest) -> CoachApplication:
    try:
        return profiles.coach_profile_start(user=_user(request))
    except DomainError as error:
        raise Http404(error.message) from error


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    if not _user(request).is_coach:
        return render(request, "coaches/not_a_coach.html", status=403)
    application = _own_application(request)
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
        "payments_url": _url_or_none("payments:connect_setup"),
        "reviews": Review.objects.filter(coach=coach, is_hidden=False).select_related("client")[
            :10
        ],
        "reply_form": ReviewReplyForm(),
        "missing": applications.application_missing(application),
    }
    return render(request, "coaches/dashboard.html", context)


@login_required
def application(request: HttpRequest, step: str | None = None) -> HttpResponse:
    """The multi-step application; every step saves, so the coach can leave and resume."""
    if not _user(request).is_coach:
        return render(request, "coaches/not_a_coach.html", status=403)
    current = _own_application(request)
    if step is None:
        next_step = next(
            (
                name
                for name in applications.APPLICATION_STEPS
                if name not in current.completed_steps
            ),
            "review",
        )
        return redirect("coaches:application_step", step=next_step)
    if step not in STEP_TITLES:
        raise Http404("No such step.")
    coach = current.coach
    if step == "review":
        return _application_review(request, current)
    form_class = {
        "personal": PersonalForm,
        "certification": CertificationForm,
        "experience": ExperienceForm,
        "business": BusinessForm,
    }[step]
    kwargs: dict[str, Any] = {}
    if step == "certification":
        kwargs["has_certificate"] = bool(current.certificate_file)
    if request.method == "POST" and current.is_editable:
        form = form_class(request.POST, request.FILES, **kwargs)
        if form.is_valid():
            values = dict(form.cleaned_data)
            certificate = None
            specializations = values.pop("specializations", None)
            if step == "certification":
                upload = values.pop("certificate_file", None)
                if upload:
                    certificate = (upload, form.certificate_type)
            if step == "business" and not values.get("photo"):
                values.pop("photo", None)
            if step == "personal":
                _user(request).time_zone = values["time_zone"]
                _user(request).save(update_fields=["time_zone"])
            try:
                applications.application_save_step(
                    application=current,
                    step=step,
                    values=values,
                    certificate=certificate,
                    specializations=specializations,
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                steps = list(STEP_TITLES)
                messages.success(request, f"{STEP_TITLES[step]} saved.")
                return redirect("coaches:application_step", step=steps[steps.index(step) + 1])
    else:
        form = form_class(initial=_step_initial(step, current), **kwargs)
    session_types = []
    if step == "business":
        session_types = coach.offered_session_types
    return render(
        request,
        "coaches/application.html",
        {
            "application": current,
            "form": form,
            "step": step,
            "steps": STEP_TITLES,
            "step_title": STEP_TITLES[step],
            "session_types": session_types,
            "session_type_form": SessionTypeForm(currency=coach.currency),
        },
    )


def _step_initial(step: str, application: CoachApplication) -> dict[str, Any]:
    coach = application.coach
    if step == "personal":
        return {
            "full_name": application.full_name or coach.user.get_full_name(),
            "phone": application.phone,
            "location": coach.location,
            "time_zone": coach.time_zone if coach.time_zone != "UTC" else "",
        }
    if step == "certification":
        return {
            "certifying_body": application.certifying_body_id,
            "certificate_number": application.certificate_number,
            "certification_level": application.certification_level,
            "certified_on": application.certified_on,
        }
    if step == "experience":
        return {
            "years_experience": application.years_experience,
            "specializations": list(coach.specializations.values_list("pk", flat=True)),
            "other_certifications": application.other_certifications,
        }
    return {
        "headline": coach.headline,
        "bio": coach.bio,
        "services": application.services,
        "languages": coach.languages,
        "currency": coach.currency,
    }


def _application_review(request: HttpRequest, application: CoachApplication) -> HttpResponse:
    if request.method == "POST":
        try:
            applications.application_submit(application=application, by=_user(request))
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Thank you! Our team will review your application.")
            return redirect("coaches:dashboard")
    application.refresh_from_db()
    return render(
        request,
        "coaches/application.html",
        {
            "application": application,
            "step": "review",
            "steps": STEP_TITLES,
            "step_title": STEP_TITLES["review"],
            "missing": applications.application_missing(application),
            "specializations": application.coach.specializations.all(),
            "languages": [LANGUAGE_NAMES.get(code, code) for code in application.coach.languages],
        },
    )


@login_required
@require_POST
def session_type_add(request: HttpRequest) -> HttpResponse:
    application = _own_application(request)
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
    return redirect(request.POST.get("next") or "coaches:dashboard")


@login_required
@require_POST
def session_type_remove(request: HttpRequest, pk: int) -> HttpResponse:
    application = _own_application(request)
    session_type = get_object_or_404(SessionType, pk=pk, coach=application.coach)
    session_types.session_type_deactivate(session_type=session_type)
    messages.success(request, f"“{session_type.name}” is no longer offered.")
    return redirect(request.POST.get("next") or "coaches:dashboard")


@login_required
def availability(request: HttpRequest) -> HttpResponse:
    """The week grid, settings, time off and extra hours of the signed-in coach."""
    if not _user(request).is_coach:
        return render(request, "coaches/not_a_coach.html", status=403)
    coach = _own_application(request).coach
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


@login_required
def certificate(request: HttpRequest, application_id: int) -> FileResponse:
    """The certificate file: only its coach and staff; everyone else gets a 404."""
    application = get_object_or_404(
        CoachApplication.objects.select_related("coach"), pk=application_id
    )
    if not (request.user.is_staff or application.coach.user_id == request.user.pk):
        raise Http404("No such certificate.")
    if not application.certificate_file:
        raise Http404("No certificate uploaded.")
    download = request.GET.get("download") == "1"
    extension = application.certificate_file.name.rsplit(".", 1)[-1]
    response = FileResponse(
        application.certificate_file.open("rb"),
        content_type=application.certificate_content_type or "application/octet-stream",
        as_attachment=download,
        filename=f"certificate-{application.pk}.{extension}",
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- reviews -------------------------------------------------------------------------------


@login_required
def review_create(request: HttpRequest, booking_id: int) -> HttpResponse:
    try:
        booking = booking_reader().reviewable_booking(booking_id=booking_id, client=_user(request))
    except NotFound as error:
        raise Http404(error.message) from error
    form = ReviewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            reviews.review_create(booking=booking, client=_user(request), **form.cleaned_data)
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
            reviews.review_reply(review=review, by=_user(request), text=form.cleaned_data["text"])
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Your answer is published.")
    else:
        messages.error(request, "Write an answer first.")
    return redirect("coaches:dashboard")
