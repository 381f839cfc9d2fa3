"""A coach's application: its steps (saved one at a time), submission, and staff's
approval or rejection through the transition table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.files import File
from django.db import transaction
from django.utils import timezone

from coaches.models import (
    APPLICATION_TRANSITIONS,
    ApplicationStatus,
    CoachApplication,
    CoachProfile,
    Specialization,
)
from coaches.services.profiles import coach_profile_update
from coaches.services.search_index import (
    availability_index_refresh,
    coach_search_vectors_refresh,
)
from marketplace import states
from marketplace.emails import send_templated_email
from marketplace.errors import DomainError, InvalidTransition, NotAllowed
from marketplace.models import Role, User

# The application's steps, in order; each one is saved on its own.
APPLICATION_STEPS = ("personal", "certification", "experience", "business")

APPLICATION_FIELDS = {
    "personal": {"full_name", "phone"},
    "certification": {
        "certifying_body",
        "certificate_number",
        "certification_level",
        "certified_on",
    },
    "experience": {"years_experience", "other_certifications"},
    "business": {"services"},
}
PROFILE_FIELDS = {
    "personal": {"location", "time_zone"},
    "certification": set(),
    "experience": set(),
    "business": {"headline", "bio", "languages", "currency", "photo"},
}


def application_save_step(
    *,
    application: CoachApplication,
    step: str,
    values: dict[str, Any],
    certificate: tuple[File, str] | None = None,
    specializations: Sequence[Specialization] | None = None,
) -> CoachApplication:
    """Save one step of the application (the coach can leave and resume).

    ``values`` are the step's cleaned fields, split between the application and the
    public profile; ``certificate`` is an upload whose type was already checked from its
    content, with that type (``application/pdf``, ``image/jpeg`` or ``image/png``).
    """
    if step not in APPLICATION_STEPS:
        raise DomainError(f"Unknown step {step!r}.")
    with transaction.atomic():
        application = CoachApplication.objects.select_for_update().get(pk=application.pk)
        if not application.is_editable:
            raise InvalidTransition(
                f"The application is {application.get_status_display().lower()} "
                "and cannot be changed now."
            )
        for name in APPLICATION_FIELDS[step] & set(values):
            setattr(application, name, values[name])
        if certificate is not None:
            upload, content_type = certificate
            if application.certificate_file:
                application.certificate_file.delete(save=False)
            application.certificate_original_name = (upload.name or "")[:200]
            application.certificate_content_type = content_type
            application.certificate_file.save(upload.name or "certificate", upload, save=False)
        if step not in application.completed_steps:
            application.completed_steps = [*application.completed_steps, step]
        application.save()
        profile_values = {name: values[name] for name in PROFILE_FIELDS[step] & set(values)}
        if step == "personal" and values.get("full_name"):
            first, _, last = values["full_name"].strip().partition(" ")
            user = application.coach.user
            user.first_name, user.last_name = first[:150], last[:150]
            user.save(update_fields=["first_name", "last_name"])
        if profile_values or specializations is not None:
            coach_profile_update(
                coach=application.coach, specializations=specializations, **profile_values
            )
        elif step == "personal":
            coach_search_vectors_refresh(coach_ids=[application.coach_id])
    return application


def application_missing(application: CoachApplication) -> list[str]:
    """What still stops the application from being submitted, in words."""
    missing = [
        f"the {step} step" for step in APPLICATION_STEPS if step not in application.completed_steps
    ]
    if "certification" in application.completed_steps and not application.certificate_file:
        missing.append("the certificate file")
    if not application.coach.session_types.filter(is_active=True).exists():
        missing.append("at least one session type")
    return missing


def _transition(
    *,
    application: CoachApplication,
    to: str,
    by: User | None,
    reason: str = "",
    changes: dict[str, Any] | None = None,
) -> CoachApplication:
    """Move a locked application to ``to`` if the table allows it (a repeat is refused too),
    writing ``changes`` with it, and record the decision.

    Must be called inside ``transaction.atomic`` with ``application`` locked.
    """
    if to not in APPLICATION_TRANSITIONS[application.status]:
        raise InvalidTransition(
            f"An application that is {application.get_status_display().lower()} cannot "
            f"become {ApplicationStatus(to).label.lower()}."
        )
    states.transition(application, to, by=by, note=reason, changes=changes, locked=True)
    return application


def application_submit(*, application: CoachApplication, by: User) -> CoachApplication:
    """Send a complete draft (or a corrected rejected application) to staff for review."""
    with transaction.atomic():
        application = CoachApplication.objects.select_for_update().get(pk=application.pk)
        if application.coach.user_id != by.pk:
            raise NotAllowed("Only the coach can submit their application.")
        if application.status == ApplicationStatus.SUBMITTED:
            return application
        missing = application_missing(application)
        if missing:
            raise DomainError(
                "Please complete " + ", ".join(missing) + " before submitting.",
                code="incomplete",
            )
        _transition(
            application=application,
            to=ApplicationStatus.SUBMITTED,
            by=by,
            changes={"submitted_at": timezone.now(), "rejection_reason": ""},
        )
        send_templated_email(
            to=application.coach.user.email,
            subject="We received your coach application",
            template="coaches_application_submitted",
            context={"application": application, "coach": application.coach},
        )
    return application


def application_approve(*, application: CoachApplication, by: User) -> CoachApplication:
    """Staff approve a submitted application: the coach becomes public (once their Stripe
    account can take charges) and is told by e-mail."""
    with transaction.atomic():
        application = CoachApplication.objects.select_for_update().get(pk=application.pk)
        if application.status == ApplicationStatus.APPROVED:
            return application
        _transition(
            application=application,
            to=ApplicationStatus.APPROVED,
            by=by,
            changes={"decided_at": timezone.now(), "decided_by": by, "rejection_reason": ""},
        )
        coach = CoachProfile.objects.select_for_update().get(pk=application.coach_id)
        coach.is_approved = True
        coach.save(update_fields=["is_approved", "updated_at"])
        if coach.user.role == Role.CLIENT:
            coach.user.role = Role.BOTH
            coach.user.save(update_fields=["role"])
        send_templated_email(
            to=coach.user.email,
            subject="You are a verified coach",
            template="coaches_application_approved",
            context={"application": application, "coach": coach},
        )
    availability_index_refresh(coach_ids=[application.coach_id])
    return application


def application_reject(*, application: CoachApplication, by: User, reason: str) -> CoachApplication:
    """Staff reject a submitted application, or revoke an approval, with a reason the
    coach reads; the coach is hidden at once and may correct and resubmit."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("A reason is required to reject an application.", code="reason_required")
    with transaction.atomic():
        application = CoachApplication.objects.select_for_update().get(pk=application.pk)
        _transition(
            application=application,
            to=ApplicationStatus.REJECTED,
            by=by,
            reason=reason,
            changes={"decided_at": timezone.now(), "decided_by": by, "rejection_reason": reason},
        )
        coach = CoachProfile.objects.select_for_update().get(pk=application.coach_id)
        coach.is_approved = False
        coach.save(update_fields=["is_approved", "updated_at"])
        send_templated_email(
            to=coach.user.email,
            subject="Your coach application needs changes",
            template="coaches_application_rejected",
            context={"application": application, "coach": coach, "reason": reason},
        )
    return application
