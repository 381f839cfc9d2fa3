"""The coach's application wizard (every step saves, so the coach can leave and resume)
and the protected certificate download."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from coaches.forms import (
    LANGUAGE_NAMES,
    BusinessForm,
    CertificationForm,
    ExperienceForm,
    PersonalForm,
    SessionTypeForm,
)
from coaches.models import CoachApplication
from coaches.services import applications
from coaches.views.common import own_application, signed_in_user
from marketplace.errors import DomainError

STEP_TITLES = OrderedDict(
    [
        ("personal", "Personal details"),
        ("certification", "Certification"),
        ("experience", "Experience"),
        ("business", "Business"),
        ("review", "Review and submit"),
    ]
)


@login_required
def application(request: HttpRequest, step: str | None = None) -> HttpResponse:
    """The multi-step application; every step saves, so the coach can leave and resume."""
    if not signed_in_user(request).is_coach:
        return render(request, "coaches/not_a_coach.html", status=403)
    current = own_application(request)
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
                signed_in_user(request).time_zone = values["time_zone"]
                signed_in_user(request).save(update_fields=["time_zone"])
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
            applications.application_submit(application=application, by=signed_in_user(request))
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
