"""Coaches: the marketplace's supply.

``CoachProfile`` is what clients see and book; it is bookable only when the coach's
application is approved **and** their Stripe account can take charges.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Exists, F, OuterRef, Q
from django.urls import reverse

from marketplace import states
from marketplace.money import MAX_CHARGE_AMOUNT, format_money

LANGUAGE_NAMES = {
    "en": "English",
    "de": "German",
    "fr": "French",
    "es": "Spanish",
    "it": "Italian",
    "pt": "Portuguese",
    "nl": "Dutch",
    "ja": "Japanese",
    "zh": "Chinese",
    "hi": "Hindi",
    "ar": "Arabic",
}


class Specialization(models.Model):
    """A managed list of coaching specialisations (career, leadership, wellness, ...)."""

    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=80, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CoachProfileQuerySet(models.QuerySet["CoachProfile"]):
    def bookable(self) -> CoachProfileQuerySet:
        """Approved coaches who can take charges, with an active account. The account is an
        ``EXISTS`` probe rather than a join, so that a sorted page of them is read from a sort
        index and stops after the page instead of hashing every account first."""
        active = get_user_model().objects.filter(pk=OuterRef("user_id"), is_active=True)
        return self.filter(Exists(active), is_approved=True, can_take_charges=True)


class CoachProfile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="coach_profile"
    )
    slug = models.SlugField(max_length=120, unique=True)
    headline = models.CharField(max_length=160, blank=True)
    bio = models.TextField(blank=True)
    photo = models.ImageField(upload_to="coaches/photos/", blank=True)
    location = models.CharField(max_length=120, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    country = models.CharField(max_length=2, default="US")
    currency = models.CharField(max_length=3, default="usd")
    languages = ArrayField(models.CharField(max_length=8), default=list, blank=True)
    specializations = models.ManyToManyField(Specialization, blank=True, related_name="coaches")
    conferencing_url = models.URLField(blank=True)

    # Set by the verification of the coach's application (coaches.services.applications).
    is_approved = models.BooleanField(default=False, db_index=True)
    # Driven by the Stripe Connect account's state (payments calls
    # coaches.services.profiles.coach_set_charges_enabled).
    can_take_charges = models.BooleanField(default=False, db_index=True)

    # The platform fee for this coach, when it differs from settings.PLATFORM_FEE_BPS.
    fee_bps_override = models.PositiveIntegerField(null=True, blank=True)
    minimum_fee_override = models.PositiveIntegerField(null=True, blank=True)

    # Availability settings; the weekly rules and exceptions are separate rows.
    buffer_before_minutes = models.PositiveIntegerField(default=0)
    buffer_after_minutes = models.PositiveIntegerField(default=15)
    minimum_notice_minutes = models.PositiveIntegerField(default=12 * 60)
    booking_horizon_days = models.PositiveIntegerField(default=60)
    max_sessions_per_day = models.PositiveIntegerField(null=True, blank=True)

    # Kept consistent with the visible reviews by coaches.services.reviews.
    rating_average = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True)
    rating_count = models.PositiveIntegerField(default=0)
    # Lowest active session price, in the coach's currency, for filtering and sorting.
    min_price = models.PositiveIntegerField(null=True, blank=True, db_index=True)

    search_vector = SearchVectorField(null=True, editable=False)
    # The first free time (from the availability index), for the "soonest" sort.
    next_available_at = models.DateTimeField(null=True, blank=True, db_index=True)
    availability_indexed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CoachProfileQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [
            GinIndex(fields=["search_vector"], name="coach_search_vector_idx"),
            GinIndex(fields=["languages"], name="coach_languages_idx"),
            models.Index(
                fields=["rating_average"],
                name="coach_bookable_rating_idx",
                condition=Q(is_approved=True, can_take_charges=True),
            ),
            # One index per search sort, in the sort's exact order, so that a page of
            # public coaches is read from the index instead of sorting them all.
            models.Index(
                F("rating_average").desc(nulls_last=True),
                F("rating_count").desc(),
                "id",
                name="coach_sort_rating_idx",
                condition=Q(is_approved=True, can_take_charges=True),
            ),
            models.Index(
                F("min_price").asc(nulls_last=True),
                "id",
                name="coach_sort_price_idx",
                condition=Q(is_approved=True, can_take_charges=True),
            ),
            models.Index(
                F("min_price").desc(nulls_last=True),
                "id",
                name="coach_sort_price_desc_idx",
                condition=Q(is_approved=True, can_take_charges=True),
            ),
            models.Index(
                F("next_available_at").asc(nulls_last=True),
                "id",
                name="coach_sort_soonest_idx",
                condition=Q(is_approved=True, can_take_charges=True),
            ),
        ]

    def __str__(self) -> str:
        return self.user.display_name

    def get_absolute_url(self) -> str:
        return reverse("coaches:profile", kwargs={"slug": self.slug})

    @property
    def is_bookable(self) -> bool:
        return self.is_approved and self.can_take_charges and self.user.is_active

    @property
    def language_names(self) -> list[str]:
        return [LANGUAGE_NAMES.get(code, code) for code in self.languages]

    @property
    def offered_session_types(self) -> list[SessionType]:
        """Active session types, cheapest first (prefetched by the selectors)."""
        prefetched = getattr(self, "active_session_types", None)
        if prefetched is not None:
            return list(prefetched)
        return list(self.session_types.filter(is_active=True).order_by("price"))

    @property
    def price_from(self) -> str | None:
        offered = self.offered_session_types
        return offered[0].price_display if offered else None


class SessionType(models.Model):
    """A kind of session a coach sells: a name, a duration and a price in minor units."""

    coach = models.ForeignKey(CoachProfile, on_delete=models.CASCADE, related_name="session_types")
    name = models.CharField(max_length=120)
    duration_minutes = models.PositiveIntegerField()
    price = models.PositiveIntegerField(
        help_text="In the currency's minor units (cents), at most what Stripe charges at once.",
        validators=[MaxValueValidator(MAX_CHARGE_AMOUNT)],
    )
    currency = models.CharField(max_length=3)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["coach", "price"]
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=15, duration_minutes__lte=480),
                name="session_type_duration_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.duration_minutes} min)"

    @property
    def price_display(self) -> str:
        return format_money(self.price, self.currency)


# --- verification --------------------------------------------------------------------------


class CertifyingBody(models.Model):
    """A managed list of coaching certification bodies (iPEC, ICF, EMCC, ...)."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "certifying bodies"

    def __str__(self) -> str:
        return self.name


class ApplicationStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


# Allowed moves of an application; coaches.services.applications performs each one.
APPLICATION_TRANSITIONS: dict[str, frozenset[str]] = {
    ApplicationStatus.DRAFT: frozenset({ApplicationStatus.SUBMITTED}),
    ApplicationStatus.SUBMITTED: frozenset(
        {ApplicationStatus.APPROVED, ApplicationStatus.REJECTED}
    ),
    # Staff may revoke an approval (with a reason); the coach leaves search at once.
    ApplicationStatus.APPROVED: frozenset({ApplicationStatus.REJECTED}),
    # A rejected coach edits the application and submits it again.
    ApplicationStatus.REJECTED: frozenset({ApplicationStatus.SUBMITTED}),
}


class CertificationLevel(models.TextChoices):
    ASSOCIATE = "associate", "Associate"
    PROFESSIONAL = "professional", "Professional"
    MASTER = "master", "Master"


def certificate_upload_to(application: CoachApplication, filename: str) -> str:
    # The name is ours, never the uploader's: a random name with the extension of the type
    # detected from the content.
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"certificates/{application.coach_id}/{uuid.uuid4().hex}.{extension}"


class CoachApplication(models.Model):
    """A coach's application to be verified, filled in steps and saved between them.

    Personal and business details the public sees (location, time zone, bio, photo,
    languages, specialisations, session types) are written straight to the coach's
    ``CoachProfile``, which stays hidden until the application is approved; what only
    staff see (phone, certificate) lives here.
    """

    coach = models.OneToOneField(CoachProfile, on_delete=models.CASCADE, related_name="application")
    status = models.CharField(
        max_length=12,
        choices=ApplicationStatus.choices,
        default=ApplicationStatus.DRAFT,
        db_index=True,
    )
    # The steps the coach has saved so far ("personal", "certification", ...).
    completed_steps = ArrayField(models.CharField(max_length=20), default=list, blank=True)

    full_name = models.CharField(max_length=150, blank=True)
    phone = models.CharField(max_length=32, blank=True)

    certifying_body = models.ForeignKey(
        CertifyingBody, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    certificate_number = models.CharField(max_length=64, blank=True)
    certification_level = models.CharField(
        max_length=16, choices=CertificationLevel.choices, blank=True
    )
    certified_on = models.DateField(null=True, blank=True)
    certificate_file = models.FileField(upload_to=certificate_upload_to, blank=True, max_length=200)
    certificate_content_type = models.CharField(max_length=40, blank=True)
    certificate_original_name = models.CharField(max_length=200, blank=True)

    years_experience = models.PositiveSmallIntegerField(null=True, blank=True)
    other_certifications = models.TextField(blank=True)
    services = models.TextField("services offered", blank=True)

    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    rejection_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["submitted_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status=ApplicationStatus.REJECTED) | ~Q(rejection_reason=""),
                name="application_rejection_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"Application of {self.full_name or self.coach} ({self.get_status_display()})"

    @property
    def is_editable(self) -> bool:
        return self.status in (ApplicationStatus.DRAFT, ApplicationStatus.REJECTED)


class ApplicationDecision(models.Model):
    """One row per move of an application: who, when, from what to what, and why."""

    application = models.ForeignKey(
        CoachApplication, on_delete=models.CASCADE, related_name="decisions"
    )
    from_status = models.CharField(max_length=12, choices=ApplicationStatus.choices)
    to_status = models.CharField(max_length=12, choices=ApplicationStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        when = f"{self.created_at:%Y-%m-%d %H:%M}"
        return f"{self.from_status} -> {self.to_status} by {self.actor} at {when}"


def _record_decision(change: states.Change) -> None:
    ApplicationDecision.objects.create(
        application_id=change.instance.pk,
        from_status=change.from_state,
        to_status=change.to_state,
        actor=change.by,
        reason=change.note,
    )


states.register(CoachApplication, transitions=APPLICATION_TRANSITIONS, record=_record_decision)


# --- availability --------------------------------------------------------------------------


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class AvailabilityRule(models.Model):
    """A weekly interval, in the coach's own time zone (wall-clock times)."""

    coach = models.ForeignKey(
        CoachProfile, on_delete=models.CASCADE, related_name="availability_rules"
    )
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_time = models.TimeField()
    end_time = models.TimeField()

    class Meta:
        ordering = ["coach", "weekday", "start_time"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_time__gt=models.F("start_time")), name="rule_ends_after_start"
            ),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="rule_weekday_range"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start_time:%H:%M}-{self.end_time:%H:%M}"


class ExtraHours(models.Model):
    """Hours on one date beyond the weekly rules, in the coach's time zone."""

    coach = models.ForeignKey(CoachProfile, on_delete=models.CASCADE, related_name="extra_hours")
    date = models.DateField()
    start_time = models.TimeField()
    end_time = models.TimeField()

    class Meta:
        ordering = ["coach", "date", "start_time"]
        verbose_name_plural = "extra hours"
        constraints = [
            models.CheckConstraint(
                condition=Q(end_time__gt=models.F("start_time")), name="extra_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.start_time:%H:%M}-{self.end_time:%H:%M}"


class TimeOff(models.Model):
    """A period the coach is away; no slot overlaps it. Stored as instants (UTC)."""

    coach = models.ForeignKey(CoachProfile, on_delete=models.CASCADE, related_name="time_off")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    note = models.CharField(max_length=160, blank=True)

    class Meta:
        ordering = ["coach", "starts_at"]
        verbose_name_plural = "time off"
        indexes = [models.Index(fields=["coach", "ends_at"], name="timeoff_coach_end_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="timeoff_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"Time off {self.starts_at:%Y-%m-%d %H:%M} - {self.ends_at:%Y-%m-%d %H:%M} UTC"


class FreeWindow(models.Model):
    """Search's availability index: merged stretches of bookable time per coach.

    Rebuilt from the live slot computation
    (``coaches.services.search_index.availability_index_refresh``) whenever the coach edits
    availability and by a Celery beat task every few minutes, so the search filters "free
    within N days", "free in this window" and the "soonest" sort are single indexed SQL
    queries. The profile page and the slots API never read it; they compute slots live.
    """

    coach = models.ForeignKey(CoachProfile, on_delete=models.CASCADE, related_name="free_windows")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    # The shortest active session type's duration: a window this long fits a session.
    min_duration = models.DurationField()

    class Meta:
        ordering = ["coach", "starts_at"]
        indexes = [
            models.Index(fields=["coach", "starts_at"], name="freewindow_coach_start_idx"),
            models.Index(fields=["starts_at", "ends_at"], name="freewindow_start_end_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.coach_id}: {self.starts_at:%Y-%m-%d %H:%M}-{self.ends_at:%H:%M} UTC"


# --- reviews -------------------------------------------------------------------------------


class Review(models.Model):
    """A client's review of one completed booking; at most one per booking."""

    booking = models.OneToOneField(
        "bookings.Booking", on_delete=models.PROTECT, related_name="review"
    )
    coach = models.ForeignKey(CoachProfile, on_delete=models.CASCADE, related_name="reviews")
    client = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="coach_reviews"
    )
    rating = models.PositiveSmallIntegerField()
    text = models.TextField(blank=True)
    coach_reply = models.TextField(blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    is_hidden = models.BooleanField(default=False, db_index=True)
    hidden_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["coach", "-created_at"], name="review_coach_created_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__gte=1, rating__lte=5), name="review_rating_1_to_5"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rating}★ for {self.coach} by {self.client}"


# --- platform membership -------------------------------------------------------------------


class MembershipInterval(models.TextChoices):
    MONTH = "month", "Month"
    YEAR = "year", "Year"


class MembershipPlan(models.Model):
    """A membership staff offer coaches on the platform itself: ``price`` (minor units of
    ``currency``) each ``interval``, for which the coach's platform fee is ``fee_bps`` while
    the membership is active (``coaches.selectors.coach_fee_terms``).

    The plan is a Stripe Product and a recurring Price on the platform, made by
    ``coaches.services.memberships.membership_plan_save``; a Price is fixed once made, so a
    new price or interval makes a new Price (members keep the one they subscribed to).
    """

    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    price = models.PositiveIntegerField(
        help_text="Per period, in the currency's minor units (cents).",
        validators=[MaxValueValidator(MAX_CHARGE_AMOUNT)],
    )
    currency = models.CharField(max_length=3, default="usd")
    interval = models.CharField(
        max_length=5, choices=MembershipInterval.choices, default=MembershipInterval.MONTH
    )
    fee_bps = models.PositiveIntegerField(
        "platform fee while a member (basis points)",
        help_text="What the coach pays on each payment while the membership is active: "
        "500 = 5%. Never more than the coach pays without it.",
        validators=[MaxValueValidator(10_000)],
    )
    is_active = models.BooleanField(
        default=True, help_text="Offered to coaches who are not members."
    )
    stripe_product_id = models.CharField(max_length=255, blank=True)
    stripe_price_id = models.CharField(max_length=255, blank=True)
    # What the current Price was made for: a save that changes one of them makes a new Price.
    stripe_price_amount = models.PositiveIntegerField(null=True, blank=True, editable=False)
    stripe_price_currency = models.CharField(max_length=3, blank=True, editable=False)
    stripe_price_interval = models.CharField(max_length=5, blank=True, editable=False)
    # Counts the changes asked of Stripe (each one's idempotency key).
    stripe_updates = models.PositiveIntegerField(default=0, editable=False)
    # The Product's name at Stripe (a renamed plan renames it).
    stripe_product_name = models.CharField(max_length=120, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["price", "id"]
        constraints = [
            models.CheckConstraint(name="membership_plan_price_positive", condition=Q(price__gt=0)),
            models.CheckConstraint(
                name="membership_plan_fee_bps_0_10000", condition=Q(fee_bps__lte=10_000)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.price_display} a {self.interval})"

    @property
    def price_display(self) -> str:
        return format_money(self.price, self.currency)

    @property
    def has_current_price(self) -> bool:
        """Whether Stripe's Price is the one of the plan's price, currency and interval."""
        return bool(self.stripe_price_id) and (
            self.stripe_price_amount,
            self.stripe_price_currency,
            self.stripe_price_interval,
        ) == (self.price, self.currency.lower(), self.interval)


class MembershipStatus(models.TextChoices):
    """A coach's membership as coaches sees it; Stripe's status is on its
    ``payments.Subscription``, and this one follows it (``MEMBERSHIP_STATUS_OF``)."""

    PENDING = "pending", "Awaiting payment"
    ACTIVE = "active", "Active"
    # A renewal failed and Stripe is retrying it (or gave up, leaving it unpaid).
    PAST_DUE = "past_due", "Payment due"
    ENDED = "ended", "Ended"
    # The Checkout Session expired unpaid: the membership never started.
    EXPIRED = "expired", "Payment not completed"


MEMBERSHIP_LIVE = (MembershipStatus.PENDING, MembershipStatus.ACTIVE, MembershipStatus.PAST_DUE)

# Stripe's subscription status (and ours before Stripe has one) → the membership's.
MEMBERSHIP_STATUS_OF: dict[str, str] = {
    "checkout": MembershipStatus.PENDING,
    "incomplete": MembershipStatus.PENDING,
    "checkout_expired": MembershipStatus.EXPIRED,
    "trialing": MembershipStatus.ACTIVE,
    "active": MembershipStatus.ACTIVE,
    "past_due": MembershipStatus.PAST_DUE,
    "unpaid": MembershipStatus.PAST_DUE,
    "paused": MembershipStatus.PAST_DUE,
    "canceled": MembershipStatus.ENDED,
    "incomplete_expired": MembershipStatus.ENDED,
}

MEMBERSHIP_TRANSITIONS: dict[str, frozenset[str]] = {
    MembershipStatus.PENDING: frozenset(
        {
            MembershipStatus.ACTIVE,
            MembershipStatus.PAST_DUE,
            MembershipStatus.EXPIRED,
            MembershipStatus.ENDED,
        }
    ),
    # A Checkout Session completed after it expired still started the subscription.
    MembershipStatus.EXPIRED: frozenset(
        {MembershipStatus.ACTIVE, MembershipStatus.PAST_DUE, MembershipStatus.ENDED}
    ),
    MembershipStatus.ACTIVE: frozenset({MembershipStatus.PAST_DUE, MembershipStatus.ENDED}),
    MembershipStatus.PAST_DUE: frozenset({MembershipStatus.ACTIVE, MembershipStatus.ENDED}),
    MembershipStatus.ENDED: frozenset(),
}


class CoachMembership(models.Model):
    """A coach's platform membership: the Stripe side is ``subscription``
    (``payments.Subscription``, kind ``membership``, paid by the coach to the platform).

    ``fee_bps`` is the plan's fee when the coach subscribed: a member keeps the terms they
    paid for when staff later change the plan. One live (pending, active or past due)
    membership per coach, a database constraint.
    """

    coach = models.ForeignKey(CoachProfile, on_delete=models.PROTECT, related_name="memberships")
    plan = models.ForeignKey(MembershipPlan, on_delete=models.PROTECT, related_name="memberships")
    subscription = models.OneToOneField(
        "payments.Subscription", on_delete=models.PROTECT, related_name="coach_membership"
    )
    status = models.CharField(
        max_length=10,
        choices=MembershipStatus.choices,
        default=MembershipStatus.PENDING,
        db_index=True,
    )
    fee_bps = models.PositiveIntegerField(validators=[MaxValueValidator(10_000)])
    # When Stripe's renewal first failed in the current run of failures, else None: the
    # member's fee lasts MEMBERSHIP_PAST_DUE_GRACE_DAYS from then (docs/money.md).
    past_due_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["coach"],
                condition=Q(status__in=["pending", "active", "past_due"]),
                name="coach_membership_one_live_per_coach",
            ),
            models.CheckConstraint(
                name="coach_membership_fee_bps_0_10000", condition=Q(fee_bps__lte=10_000)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan.name} membership of {self.coach}"

    @property
    def is_live(self) -> bool:
        return self.status in MEMBERSHIP_LIVE


states.register(CoachMembership, transitions=MEMBERSHIP_TRANSITIONS)
