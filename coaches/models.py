"""Coaches: the marketplace's supply.

``CoachProfile`` is what clients see and book; it is bookable only when the coach's
application is approved **and** their Stripe account can take charges.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.urls import reverse


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
        return self.filter(is_approved=True, can_take_charges=True, user__is_active=True)


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

    # Set by the verification of the coach's application (coaches.services).
    is_approved = models.BooleanField(default=False, db_index=True)
    # Driven by the Stripe Connect account's state (payments calls
    # coaches.services.coach_set_charges_enabled).
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

    # Kept consistent with the visible reviews by coaches.services.
    rating_average = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True)
    rating_count = models.PositiveIntegerField(default=0)
    # Lowest active session price, in the coach's currency, for filtering and sorting.
    min_price = models.PositiveIntegerField(null=True, blank=True, db_index=True)

    search_vector = SearchVectorField(null=True, editable=False)
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
        ]

    def __str__(self) -> str:
        return self.user.display_name

    def get_absolute_url(self) -> str:
        return reverse("coaches:profile", kwargs={"slug": self.slug})

    @property
    def is_bookable(self) -> bool:
        return self.is_approved and self.can_take_charges and self.user.is_active


class SessionType(models.Model):
    """A kind of session a coach sells: a name, a duration and a price in minor units."""

    coach = models.ForeignKey(CoachProfile, on_delete=models.CASCADE, related_name="session_types")
    name = models.CharField(max_length=120)
    duration_minutes = models.PositiveIntegerField()
    price = models.PositiveIntegerField(help_text="In the currency's minor units (cents).")
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
