"""Coaches: every state change of a coach profile, application, availability and review."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from typing import Any

from django.core.files import File
from django.db import connection, transaction
from django.db.models import Avg, Count, Min, Q
from django.utils import timezone
from django.utils.text import slugify

from coaches.availability import compute_slots, merge_slots
from coaches.models import (
    APPLICATION_TRANSITIONS,
    ApplicationStatus,
    AvailabilityRule,
    CoachApplication,
    CoachProfile,
    ExtraHours,
    FreeWindow,
    Review,
    SessionType,
    Specialization,
    TimeOff,
    Weekday,
)
from coaches.providers import booking_reader
from coaches.selectors import coach_calendars
from marketplace import states
from marketplace.emails import send_templated_email
from marketplace.errors import Conflict, DomainError, InvalidTransition, NotAllowed
from marketplace.models import Role, User
from marketplace.queue import enqueue

# The application's steps, in order; each one is saved on its own.
APPLICATION_STEPS = ("personal", "certification", "experience", "business")
REVIEW_WINDOW = timedelta(days=14)
# The search index covers this far ahead ("free within N days" accepts up to this N).
INDEX_DAYS = 30


def coach_set_charges_enabled(*, coach: User, enabled: bool) -> None:
    """Record whether the coach's Stripe account can take charges (driven by payments).

    A coach is bookable only when approved and able to take charges, so turning this off
    makes them unbookable at once; existing bookings stay. A no-op when the user has no
    coach profile yet.
    """
    with transaction.atomic():
        profile = CoachProfile.objects.select_for_update().filter(user=coach).first()
        if profile is None or profile.can_take_charges == enabled:
            return
        profile.can_take_charges = enabled
        profile.save(update_fields=["can_take_charges", "updated_at"])
        if enabled:
            # Search's "free soon" filters and sort should see the coach at once, not at
            # the next beat run.
            availability_index_refresh_later(coach_id=profile.pk)


def availability_index_refresh_later(*, coach_id: int) -> None:
    """Rebuild one coach's search availability index in a worker, after the caller's
    transaction commits (a booking confirmed, cancelled or moved, the coach able to take
    payments again)."""
    enqueue("coaches.refresh_coach_availability", coach_id)


# --- profile -------------------------------------------------------------------------------


def _unique_slug(user: User) -> str:
    base = slugify(user.get_full_name() or user.email.split("@")[0])[:100] or "coach"
    slug, suffix = base, 2
    while CoachProfile.objects.filter(slug=slug).exists():
        slug, suffix = f"{base}-{suffix}", suffix + 1
    return slug


def coach_profile_start(*, user: User) -> CoachApplication:
    """The coach's profile and application, created (as a draft) on first use.

    Only users who registered as coaches may apply.
    """
    if not user.is_coach:
        raise NotAllowed("Only coach accounts can apply. Sign up as a coach to apply.")
    with transaction.atomic():
        profile = CoachProfile.objects.filter(user=user).first()
        if profile is None:
            profile = CoachProfile.objects.create(
                user=user, slug=_unique_slug(user), time_zone=user.time_zone
            )
        application, _ = CoachApplication.objects.get_or_create(
            coach=profile, defaults={"full_name": user.get_full_name()}
        )
    return application


def coach_search_vectors_refresh(*, coach_ids: Iterable[int]) -> None:
    """Recompute the full-text document of coaches: name and specialisations weigh most,
    then the headline, then the bio (English stemming)."""
    ids = list(coach_ids)
    if not ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE coaches_coachprofile AS profile SET search_vector =
                setweight(to_tsvector('english', coalesce(account.first_name, '') || ' '
                                      || coalesce(account.last_name, '')), 'A')
                || setweight(to_tsvector('english', coalesce((
                    SELECT string_agg(specialization.name, ' ')
                    FROM coaches_coachprofile_specializations link
                    JOIN coaches_specialization specialization
                      ON specialization.id = link.specialization_id
                    WHERE link.coachprofile_id = profile.id), '')), 'A')
                || setweight(to_tsvector('english', coalesce(profile.headline, '')), 'B')
                || setweight(to_tsvector('english', coalesce(profile.bio, '')), 'C')
            FROM marketplace_user AS account
            WHERE account.id = profile.user_id AND profile.id = ANY(%s)
            """,
            [ids],
        )


def coach_min_price_refresh(*, coach: CoachProfile) -> None:
    price = coach.session_types.filter(is_active=True).aggregate(low=Min("price"))["low"]
    CoachProfile.objects.filter(pk=coach.pk).update(min_price=price)
    coach.min_price = price


def coach_profile_update(
    *,
    coach: CoachProfile,
    specializations: Sequence[Specialization] | None = None,
    **fields: Any,
) -> CoachProfile:
    """Change public profile fields (headline, bio, location, time zone, languages, photo,
    currency, ...) and keep the search document in step."""
    allowed = {
        "headline",
        "bio",
        "location",
        "time_zone",
        "country",
        "currency",
        "languages",
        "photo",
        "conferencing_url",
    }
    unknown = set(fields) - allowed
    if unknown:
        raise DomainError(f"Cannot change {', '.join(sorted(unknown))} here.")
    with transaction.atomic():
        for name, value in fields.items():
            setattr(coach, name, value)
        coach.save()
        if specializations is not None:
            coach.specializations.set(specializations)
        if "currency" in fields:
            coach.session_types.update(currency=coach.currency)
        coach_search_vectors_refresh(coach_ids=[coach.pk])
    if "time_zone" in fields:
        availability_index_refresh(coach_ids=[coach.pk])
    return coach


# --- session types -------------------------------------------------------------------------


def session_type_create(
    *, coach: CoachProfile, name: str, duration_minutes: int, price: int
) -> SessionType:
    """A new session type in the coach's currency (``price`` in minor units)."""
    if not 15 <= duration_minutes <= 480:
        raise DomainError("A session lasts 15 minutes to 8 hours.", fields={"duration_minutes": []})
    with transaction.atomic():
        session_type = SessionType.objects.create(
            coach=coach,
            name=name,
            duration_minutes=duration_minutes,
            price=price,
            currency=coach.currency,
        )
        coach_min_price_refresh(coach=coach)
    availability_index_refresh(coach_ids=[coach.pk])
    return session_type


def session_type_deactivate(*, session_type: SessionType) -> None:
    """Stop selling a session type; existing bookings keep it."""
    with transaction.atomic():
        session_type.is_active = False
        session_type.save(update_fields=["is_active"])
        coach_min_price_refresh(coach=session_type.coach)
    availability_index_refresh(coach_ids=[session_type.coach_id])


# --- application ---------------------------------------------------------------------------

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


# --- availability --------------------------------------------------------------------------


def _check_no_overlap(intervals: Sequence[tuple[time, time]], label: str) -> None:
    ordered = sorted(intervals)
    for (start, end), (next_start, _) in pairwise(ordered):
        if next_start < end:
            raise DomainError(
                f"{label}: {start:%H:%M}-{end:%H:%M} overlaps the next interval.",
                code="overlapping_intervals",
            )
    for start, end in intervals:
        if end <= start:
            raise DomainError(f"{label}: an interval must end after it starts.")


def availability_rules_replace(
    *, coach: CoachProfile, weekly: Mapping[int, Sequence[tuple[time, time]]]
) -> None:
    """Replace the coach's weekly grid (weekday Monday=0 -> wall-clock intervals)."""
    for weekday, intervals in weekly.items():
        _check_no_overlap(intervals, Weekday(weekday).label)
    with transaction.atomic():
        CoachProfile.objects.select_for_update().filter(pk=coach.pk).first()
        AvailabilityRule.objects.filter(coach=coach).delete()
        AvailabilityRule.objects.bulk_create(
            AvailabilityRule(coach=coach, weekday=weekday, start_time=start, end_time=end)
            for weekday, intervals in weekly.items()
            for start, end in intervals
        )
    availability_index_refresh(coach_ids=[coach.pk])


def availability_settings_update(
    *,
    coach: CoachProfile,
    buffer_before_minutes: int,
    buffer_after_minutes: int,
    minimum_notice_minutes: int,
    booking_horizon_days: int,
    max_sessions_per_day: int | None,
) -> CoachProfile:
    if booking_horizon_days < 1 or booking_horizon_days > 365:
        raise DomainError("Clients can book 1 to 365 days ahead.")
    with transaction.atomic():
        coach = CoachProfile.objects.select_for_update().get(pk=coach.pk)
        coach.buffer_before_minutes = buffer_before_minutes
        coach.buffer_after_minutes = buffer_after_minutes
        coach.minimum_notice_minutes = minimum_notice_minutes
        coach.booking_horizon_days = booking_horizon_days
        coach.max_sessions_per_day = max_sessions_per_day
        coach.save()
    availability_index_refresh(coach_ids=[coach.pk])
    return coach


def time_off_add(
    *, coach: CoachProfile, starts_at: datetime, ends_at: datetime, note: str = ""
) -> TimeOff:
    if ends_at <= starts_at:
        raise DomainError("Time off must end after it starts.", fields={"ends_at": []})
    time_off = TimeOff.objects.create(coach=coach, starts_at=starts_at, ends_at=ends_at, note=note)
    availability_index_refresh(coach_ids=[coach.pk])
    return time_off


def time_off_remove(*, coach: CoachProfile, time_off_id: int) -> None:
    TimeOff.objects.filter(coach=coach, pk=time_off_id).delete()
    availability_index_refresh(coach_ids=[coach.pk])


def extra_hours_add(*, coach: CoachProfile, day: date, start: time, end: time) -> ExtraHours:
    _check_no_overlap([(start, end)], f"{day:%Y-%m-%d}")
    extra = ExtraHours.objects.create(coach=coach, date=day, start_time=start, end_time=end)
    availability_index_refresh(coach_ids=[coach.pk])
    return extra


def extra_hours_remove(*, coach: CoachProfile, extra_hours_id: int) -> None:
    ExtraHours.objects.filter(coach=coach, pk=extra_hours_id).delete()
    availability_index_refresh(coach_ids=[coach.pk])


def availability_index_refresh(*, coach_ids: Iterable[int], now: datetime | None = None) -> int:
    """Rebuild search's availability index (``FreeWindow`` rows and ``next_available_at``)
    for these coaches from the live slot computation, for the next ``INDEX_DAYS`` days.

    Batched: a few queries for the whole batch, whatever its size. Returns the number of
    windows written. Safe to run at any time and concurrently (last writer wins).
    """
    now = now or timezone.now()
    end = now + timedelta(days=INDEX_DAYS)
    coaches = list(
        CoachProfile.objects.filter(pk__in=list(coach_ids)).annotate(
            shortest=Min("session_types__duration_minutes", filter=Q(session_types__is_active=True))
        )
    )
    calendars = coach_calendars(coaches=coaches, start=now, end=end)
    windows: list[FreeWindow] = []
    next_free: dict[int, datetime | None] = {}
    for coach in coaches:
        next_free[coach.pk] = None
        shortest = getattr(coach, "shortest", None)
        if not shortest:
            continue
        duration = timedelta(minutes=shortest)
        slots = compute_slots(calendars[coach.pk], duration=duration, start=now, end=end, now=now)
        merged = merge_slots(slots, duration)
        windows.extend(
            FreeWindow(coach_id=coach.pk, starts_at=start, ends_at=stop, min_duration=duration)
            for start, stop in merged
        )
        next_free[coach.pk] = slots[0] if slots else None
    with transaction.atomic():
        FreeWindow.objects.filter(coach_id__in=[coach.pk for coach in coaches]).delete()
        FreeWindow.objects.bulk_create(windows, batch_size=2000)
        profiles = []
        for coach in coaches:
            coach.next_available_at = next_free[coach.pk]
            coach.availability_indexed_at = now
            profiles.append(coach)
        CoachProfile.objects.bulk_update(
            profiles, ["next_available_at", "availability_indexed_at"], batch_size=1000
        )
    return len(windows)


# --- reviews -------------------------------------------------------------------------------


def coach_rating_refresh(*, coach_id: int) -> None:
    """Set the coach's average and count from their visible reviews. Call it with the
    coach row locked, after any change to their reviews."""
    figures = Review.objects.filter(coach_id=coach_id, is_hidden=False).aggregate(
        average=Avg("rating"), count=Count("id")
    )
    average = figures["average"]
    CoachProfile.objects.filter(pk=coach_id).update(
        rating_average=round(average, 2) if average is not None else None,
        rating_count=figures["count"],
    )


def review_create(
    *, booking: Any, client: User, rating: int, text: str, now: datetime | None = None
) -> Review:
    """A client's review of their completed booking: once, within 14 days after its end."""
    now = now or timezone.now()
    if booking.client_id != client.pk:
        raise NotAllowed("Only the client of this session can review it.")
    if not booking_reader().booking_is_completed(booking=booking):
        raise DomainError("You can review a session once it has taken place.", code="not_completed")
    if now > booking.ends_at + REVIEW_WINDOW:
        raise DomainError(
            "Reviews are open for 14 days after the session.", code="review_window_closed"
        )
    if not 1 <= rating <= 5:
        raise DomainError("A rating is 1 to 5 stars.", fields={"rating": ["1 to 5 stars."]})
    with transaction.atomic():
        CoachProfile.objects.select_for_update().filter(pk=booking.coach_id).first()
        if Review.objects.filter(booking=booking).exists():
            raise Conflict("You already reviewed this session.", code="already_reviewed")
        review = Review.objects.create(
            booking=booking, coach_id=booking.coach_id, client=client, rating=rating, text=text
        )
        coach_rating_refresh(coach_id=booking.coach_id)
    return review


def review_reply(*, review: Review, by: User, text: str) -> Review:
    """The coach answers a review, once."""
    text = text.strip()
    if not text:
        raise DomainError("Write a reply first.", fields={"text": ["This field is required."]})
    with transaction.atomic():
        review = Review.objects.select_for_update().select_related("coach").get(pk=review.pk)
        if review.coach.user_id != by.pk:
            raise NotAllowed("Only the reviewed coach can answer.")
        if review.coach_reply:
            raise Conflict("You already answered this review.", code="already_replied")
        review.coach_reply = text
        review.replied_at = timezone.now()
        review.save(update_fields=["coach_reply", "replied_at"])
    return review


def review_set_hidden(*, review: Review, hidden: bool, by: User, reason: str = "") -> Review:
    """Staff hide (or show again) a review; the coach's average follows at once."""
    if not by.is_staff:
        raise NotAllowed("Only staff can hide reviews.")
    with transaction.atomic():
        CoachProfile.objects.select_for_update().filter(pk=review.coach_id).first()
        review = Review.objects.select_for_update().get(pk=review.pk)
        if review.is_hidden == hidden:
            return review
        review.is_hidden = hidden
        review.hidden_reason = reason if hidden else ""
        review.save(update_fields=["is_hidden", "hidden_reason"])
        coach_rating_refresh(coach_id=review.coach_id)
    return review
