"""Bookings: a client's hold on, then purchase of, a coach's time."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import IntegerRangeField, RangeOperators
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Func, Q
from django.urls import reverse
from django.utils import timezone

from marketplace import states
from marketplace.dates import format_short
from marketplace.money import MAX_CHARGE_AMOUNT


class CoachTimeKey(Func):
    """``booking_coach_time_key(coach_id, starts_at, ends_at)``: one int8range per booking.

    The range is ``coach_id * 10^11 + epoch seconds`` from start to end, so two bookings'
    ranges overlap exactly when they are of the same coach and their times overlap. It lets
    a plain GiST exclusion constraint refuse double bookings without the btree_gist
    extension, which the embedded PostgreSQL does not ship. The SQL function is created in
    ``bookings/migrations/0001_initial.py``.
    """

    function = "booking_coach_time_key"
    output_field = IntegerRangeField()


class BookingStatus(models.TextChoices):
    HELD = "held", "Held"
    CONFIRMED = "confirmed", "Confirmed"
    COMPLETED = "completed", "Completed"
    NO_SHOW = "no_show", "No-show"
    CANCELLED_BY_CLIENT = "cancelled_by_client", "Cancelled by client"
    CANCELLED_BY_COACH = "cancelled_by_coach", "Cancelled by coach"
    RESCHEDULED = "rescheduled", "Rescheduled"
    EXPIRED = "expired", "Expired"


# A coach's time is taken by bookings in these states (holds included).
LIVE_STATUSES = (BookingStatus.HELD, BookingStatus.CONFIRMED)

# The one table of allowed moves; ``marketplace.states.transition`` refuses anything else.
TRANSITIONS: dict[str, frozenset[str]] = {
    BookingStatus.HELD: frozenset({BookingStatus.CONFIRMED, BookingStatus.EXPIRED}),
    # An expired hold whose payment still completes while the time is free is confirmed.
    BookingStatus.EXPIRED: frozenset({BookingStatus.CONFIRMED}),
    BookingStatus.CONFIRMED: frozenset(
        {
            BookingStatus.COMPLETED,
            BookingStatus.NO_SHOW,
            BookingStatus.CANCELLED_BY_CLIENT,
            BookingStatus.CANCELLED_BY_COACH,
            BookingStatus.RESCHEDULED,
        }
    ),
    BookingStatus.COMPLETED: frozenset(),
    BookingStatus.NO_SHOW: frozenset(),
    BookingStatus.CANCELLED_BY_CLIENT: frozenset(),
    BookingStatus.CANCELLED_BY_COACH: frozenset(),
    BookingStatus.RESCHEDULED: frozenset(),
}

# Stripe's minimum Checkout Session lifetime; a hold lasts exactly as long as its session.
HOLD_MINUTES = 30
# After the end: the coach may mark a no-show, the client may raise an issue, and then the
# booking completes by itself (unless an issue is open).
AFTER_SESSION_WINDOW_HOURS = 48


class CancellationPolicy(models.Model):
    """A coach's cancellation and rescheduling rules; coaches without a row get the defaults."""

    coach = models.OneToOneField(
        "coaches.CoachProfile", on_delete=models.CASCADE, related_name="cancellation_policy"
    )
    free_cancellation_hours = models.PositiveIntegerField(default=24)
    late_cancellation_refund_percent = models.PositiveSmallIntegerField(default=50)
    after_start_refund_percent = models.PositiveSmallIntegerField(default=0)
    no_show_refund_percent = models.PositiveSmallIntegerField(default=0)
    # A partial refund gives the platform's fee back in the same proportion (Stripe's
    # ``refund_application_fee``); a full refund always does.
    refund_application_fee_on_partial = models.BooleanField(default=True)
    free_reschedule_hours = models.PositiveIntegerField(default=24)
    max_reschedules = models.PositiveSmallIntegerField(default=2)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "cancellation policies"
        constraints = [
            models.CheckConstraint(
                name="policy_percents_0_100",
                condition=Q(late_cancellation_refund_percent__lte=100)
                & Q(after_start_refund_percent__lte=100)
                & Q(no_show_refund_percent__lte=100),
            )
        ]

    def __str__(self) -> str:
        return f"Policy of {self.coach}"


class Package(models.Model):
    """N sessions of one session type sold at once for a package price (minor units)."""

    coach = models.ForeignKey(
        "coaches.CoachProfile", on_delete=models.CASCADE, related_name="packages"
    )
    session_type = models.ForeignKey(
        "coaches.SessionType", on_delete=models.PROTECT, related_name="packages"
    )
    name = models.CharField(max_length=120)
    session_count = models.PositiveSmallIntegerField()
    price = models.PositiveIntegerField(
        help_text="In the currency's minor units, at most what Stripe charges at once.",
        validators=[MaxValueValidator(MAX_CHARGE_AMOUNT)],
    )
    currency = models.CharField(max_length=3)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["coach", "price"]
        constraints = [
            models.CheckConstraint(
                name="package_session_count_2_50",
                condition=Q(session_count__gte=2, session_count__lte=50),
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.session_count} x {self.session_type.name})"


class PackagePurchaseStatus(models.TextChoices):
    PENDING = "pending", "Awaiting payment"
    ACTIVE = "active", "Paid"
    EXHAUSTED = "exhausted", "All sessions used"
    REFUNDED = "refunded", "Unused sessions refunded"
    EXPIRED = "expired", "Payment not completed"


PACKAGE_PURCHASE_TRANSITIONS: dict[str, frozenset[str]] = {
    PackagePurchaseStatus.PENDING: frozenset(
        {PackagePurchaseStatus.ACTIVE, PackagePurchaseStatus.EXPIRED}
    ),
    # A payment that completes after its Checkout Session expired still activates the package.
    PackagePurchaseStatus.EXPIRED: frozenset({PackagePurchaseStatus.ACTIVE}),
    PackagePurchaseStatus.ACTIVE: frozenset(
        {PackagePurchaseStatus.EXHAUSTED, PackagePurchaseStatus.REFUNDED}
    ),
    PackagePurchaseStatus.EXHAUSTED: frozenset({PackagePurchaseStatus.REFUNDED}),
    PackagePurchaseStatus.REFUNDED: frozenset(),
}


class PackagePurchase(models.Model):
    """A client's purchase of a package; sessions are booked against it later."""

    package = models.ForeignKey(Package, on_delete=models.PROTECT, related_name="purchases")
    client = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="package_purchases"
    )
    coach = models.ForeignKey(
        "coaches.CoachProfile", on_delete=models.PROTECT, related_name="package_sales"
    )
    session_count = models.PositiveSmallIntegerField()
    price = models.PositiveIntegerField()
    application_fee = models.PositiveIntegerField()
    coach_amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(
        max_length=12,
        choices=PackagePurchaseStatus.choices,
        default=PackagePurchaseStatus.PENDING,
        db_index=True,
    )
    sessions_refunded = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                name="package_purchase_split_adds_up",
                condition=Q(application_fee__lte=models.F("price"))
                & Q(coach_amount=models.F("price") - models.F("application_fee")),
            )
        ]

    def __str__(self) -> str:
        return f"{self.package} for {self.client}"

    @property
    def transfer_group(self) -> str:
        return f"package-purchase-{self.pk}"

    def session_share(self, sequence: int) -> int:
        """The coach's share of the ``sequence``-th session (1-based): an equal part of the
        package's coach amount, the remainder going to the last session."""
        share = self.coach_amount // self.session_count
        if sequence == self.session_count:
            return self.coach_amount - share * (self.session_count - 1)
        return share


class PlanInterval(models.TextChoices):
    MONTH = "month", "Month"
    WEEK = "week", "Week"


# The most sessions a plan grants in one period.
PLAN_MAX_SESSIONS_PER_PERIOD = 31


class CoachingPlan(models.Model):
    """A coach's subscription offer: ``sessions_per_period`` sessions of one session type each
    month or week for ``price`` (minor units) a period. Unused sessions lapse at the period's
    end, or roll over into the next period up to ``rollover_cap``. A client commits to at least
    ``minimum_periods`` periods before cancelling takes effect.

    The plan is a Stripe Product and Price on the platform (``stripe_price_id``); a Price is
    fixed once made, so a change of price makes a new Price.
    """

    coach = models.ForeignKey(
        "coaches.CoachProfile", on_delete=models.CASCADE, related_name="coaching_plans"
    )
    session_type = models.ForeignKey(
        "coaches.SessionType", on_delete=models.PROTECT, related_name="coaching_plans"
    )
    name = models.CharField(max_length=120)
    sessions_per_period = models.PositiveSmallIntegerField()
    interval = models.CharField(max_length=5, choices=PlanInterval.choices)
    price = models.PositiveIntegerField(
        help_text="Per period, in the currency's minor units.",
        validators=[MaxValueValidator(MAX_CHARGE_AMOUNT)],
    )
    currency = models.CharField(max_length=3)
    rollover = models.BooleanField(
        default=False, help_text="Unused sessions carry into the next period (up to the cap)."
    )
    rollover_cap = models.PositiveSmallIntegerField(default=0)
    minimum_periods = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    stripe_product_id = models.CharField(max_length=255, blank=True)
    stripe_price_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["coach", "price", "id"]
        constraints = [
            models.CheckConstraint(
                name="plan_sessions_1_31",
                condition=Q(sessions_per_period__gte=1)
                & Q(sessions_per_period__lte=PLAN_MAX_SESSIONS_PER_PERIOD),
            ),
            models.CheckConstraint(name="plan_price_positive", condition=Q(price__gt=0)),
        ]

    def __str__(self) -> str:
        return (
            f"{self.name} ({self.sessions_per_period} x {self.session_type.name} a {self.interval})"
        )


class PlanSubscriptionStatus(models.TextChoices):
    """A client's plan, as booking sees it (Stripe's subscription status is on
    ``payments.Subscription``)."""

    PENDING = "pending", "Awaiting payment"
    ACTIVE = "active", "Active"
    # A renewal failed: the plan's credits cannot be booked until the invoice is paid.
    PAST_DUE = "past_due", "Payment due"
    # Collection paused (by the client, or because the coach cannot take payments).
    PAUSED = "paused", "Paused"
    ENDED = "ended", "Ended"
    EXPIRED = "expired", "Payment not completed"


PLAN_SUBSCRIPTION_LIVE = (
    PlanSubscriptionStatus.PENDING,
    PlanSubscriptionStatus.ACTIVE,
    PlanSubscriptionStatus.PAST_DUE,
    PlanSubscriptionStatus.PAUSED,
)

PLAN_SUBSCRIPTION_TRANSITIONS: dict[str, frozenset[str]] = {
    PlanSubscriptionStatus.PENDING: frozenset(
        {
            PlanSubscriptionStatus.ACTIVE,
            PlanSubscriptionStatus.PAST_DUE,
            PlanSubscriptionStatus.EXPIRED,
            PlanSubscriptionStatus.ENDED,
        }
    ),
    # A Checkout Session completed after it expired still started the subscription.
    PlanSubscriptionStatus.EXPIRED: frozenset(
        {PlanSubscriptionStatus.ACTIVE, PlanSubscriptionStatus.ENDED}
    ),
    PlanSubscriptionStatus.ACTIVE: frozenset(
        {
            PlanSubscriptionStatus.PAST_DUE,
            PlanSubscriptionStatus.PAUSED,
            PlanSubscriptionStatus.ENDED,
        }
    ),
    PlanSubscriptionStatus.PAST_DUE: frozenset(
        {
            PlanSubscriptionStatus.ACTIVE,
            PlanSubscriptionStatus.PAUSED,
            PlanSubscriptionStatus.ENDED,
        }
    ),
    PlanSubscriptionStatus.PAUSED: frozenset(
        {
            PlanSubscriptionStatus.ACTIVE,
            PlanSubscriptionStatus.PAST_DUE,
            PlanSubscriptionStatus.ENDED,
        }
    ),
    PlanSubscriptionStatus.ENDED: frozenset(),
}


class PlanSubscription(models.Model):
    """A client's subscription to a coaching plan; each paid invoice grants a ``PlanCredit``.

    One live subscription per client and plan (a database constraint); the Stripe side is
    ``subscription`` (``payments.Subscription``, kind ``plan``).
    """

    plan = models.ForeignKey(CoachingPlan, on_delete=models.PROTECT, related_name="subscriptions")
    client = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="plan_subscriptions"
    )
    coach = models.ForeignKey(
        "coaches.CoachProfile", on_delete=models.PROTECT, related_name="plan_subscribers"
    )
    subscription = models.OneToOneField(
        "payments.Subscription", on_delete=models.PROTECT, related_name="plan_subscription"
    )
    status = models.CharField(
        max_length=10,
        choices=PlanSubscriptionStatus.choices,
        default=PlanSubscriptionStatus.PENDING,
        db_index=True,
    )
    # Periods paid so far (the minimum commitment counts them).
    periods_paid = models.PositiveIntegerField(default=0)
    # Why the plan is paused by the platform (the coach cannot take payments), else empty.
    paused_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # the coach's subscribers, newest first, a page at a time (the plans page)
        indexes = [
            models.Index(fields=["coach", "-created_at", "-id"], name="plan_subscription_coach_idx")
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "plan"],
                condition=Q(status__in=["pending", "active", "past_due", "paused"]),
                name="plan_subscription_one_live_per_client",
            )
        ]

    def __str__(self) -> str:
        return f"{self.plan.name} for {self.client}"

    @property
    def is_live(self) -> bool:
        return self.status in PLAN_SUBSCRIPTION_LIVE


class PlanCredit(models.Model):
    """One period's sessions of a plan, granted when its invoice is paid. Bookable from
    ``period_start`` until ``period_end`` (also after the plan ends); a booking made with one
    points here (``Booking.plan_credit``).

    ``sessions`` = the plan's sessions for the period plus ``rolled_over`` from the period
    before; ``carried_forward`` is what the next period took over from this one (no longer
    bookable here).
    """

    plan_subscription = models.ForeignKey(
        PlanSubscription, on_delete=models.PROTECT, related_name="credits"
    )
    stripe_invoice_id = models.CharField(max_length=255, unique=True)
    sessions = models.PositiveSmallIntegerField()
    rolled_over = models.PositiveSmallIntegerField(default=0)
    carried_forward = models.PositiveSmallIntegerField(default=0)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["period_start", "id"]
        constraints = [
            models.CheckConstraint(
                name="plan_credit_carried_within_sessions",
                condition=Q(carried_forward__lte=models.F("sessions")),
            ),
            models.CheckConstraint(
                name="plan_credit_period_ends_after_start",
                condition=Q(period_end__gt=models.F("period_start")),
            ),
        ]

    def __str__(self) -> str:
        start = f"{self.period_start:%Y-%m-%d}"
        return f"{self.sessions} sessions of {self.plan_subscription} from {start}"


class Booking(models.Model):
    coach = models.ForeignKey(
        "coaches.CoachProfile", on_delete=models.PROTECT, related_name="bookings"
    )
    client = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bookings"
    )
    session_type = models.ForeignKey(
        "coaches.SessionType", on_delete=models.PROTECT, related_name="bookings"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(
        max_length=24, choices=BookingStatus.choices, default=BookingStatus.HELD, db_index=True
    )
    hold_expires_at = models.DateTimeField(null=True, blank=True)
    client_time_zone = models.CharField(max_length=64, default="UTC")
    topic = models.TextField("what the client wants to work on", blank=True)
    meeting_url = models.URLField(max_length=500, blank=True)
    # Set when the booking is one of a package's sessions (no payment of its own).
    package_purchase = models.ForeignKey(
        PackagePurchase, null=True, blank=True, on_delete=models.PROTECT, related_name="bookings"
    )
    # Set when the booking is one of a coaching plan's sessions (no payment of its own).
    plan_credit = models.ForeignKey(
        PlanCredit, null=True, blank=True, on_delete=models.PROTECT, related_name="bookings"
    )
    # Rescheduling closes this booking (``rescheduled``) and opens a new confirmed one.
    rescheduled_from = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="rescheduled_to"
    )
    reschedule_count = models.PositiveSmallIntegerField(default=0)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancellation_reason = models.TextField(blank=True)
    # A client's issue after the session pauses auto-completion and package transfers.
    issue_raised_at = models.DateTimeField(null=True, blank=True)
    issue_description = models.TextField(blank=True)
    issue_resolved_at = models.DateTimeField(null=True, blank=True)
    has_dispute = models.BooleanField(default=False)
    # Paid after the hold expired and the time was taken meanwhile: refunded in full, once.
    slot_lost_refund = models.BooleanField(default=False)
    # A package or plan session cancelled in the free window (or by the coach): its credit
    # is back.
    package_credit_returned = models.BooleanField(default=False)
    reminder_24h_sent_at = models.DateTimeField(null=True, blank=True)
    reminder_1h_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_at"]
        indexes = [models.Index(fields=["coach", "starts_at"], name="booking_coach_start_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="booking_ends_after_start"
            ),
            # The database itself refuses two live bookings of one coach whose times overlap.
            ExclusionConstraint(
                name="booking_no_overlap",
                expressions=[
                    (CoachTimeKey("coach", "starts_at", "ends_at"), RangeOperators.OVERLAPS),
                ],
                condition=Q(status__in=[BookingStatus.HELD, BookingStatus.CONFIRMED]),
            ),
        ]

    def __str__(self) -> str:
        # in the reader's zone (the one the request activated), with its name
        when = format_short(self.starts_at, timezone.get_current_timezone_name())
        return f"{self.session_type} with {self.coach}, {when}"

    def get_absolute_url(self) -> str:
        return reverse("bookings:detail", kwargs={"pk": self.pk})

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES

    @property
    def has_open_issue(self) -> bool:
        return self.issue_raised_at is not None and self.issue_resolved_at is None

    @property
    def original(self) -> Booking:
        """The first booking of a reschedule chain (its id is the calendar UID)."""
        booking = self
        while booking.rescheduled_from_id is not None:
            booking = booking.rescheduled_from  # type: ignore[assignment]
        return booking


class BookingStatusChange(models.Model):
    """One row per transition: who or what moved the booking, and when."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=24, choices=BookingStatus.choices)
    to_status = models.CharField(max_length=24, choices=BookingStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=20)
    note = models.TextField(blank=True)
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.booking_id}: {self.from_status} -> {self.to_status}"


# The most a client writes in their notes on one session.
SESSION_NOTE_MAX_LENGTH = 5000


class SessionNote(models.Model):
    """What a client keeps for themselves about one of their sessions (what they took away,
    what to try next). Private to the booking's client: never shown to the coach, to other
    clients or in the admin; only ``bookings.services.notes`` writes it."""

    booking = models.OneToOneField(Booking, on_delete=models.CASCADE, related_name="client_note")
    text = models.TextField(max_length=SESSION_NOTE_MAX_LENGTH)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Client's note on booking {self.booking_id}"


class CalendarFeed(models.Model):
    """A personal iCal feed: the secret token in its URL is the only credential."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Calendar feed of {self.user}"


def _record_booking_change(change: states.Change) -> None:
    BookingStatusChange.objects.create(
        booking_id=change.instance.pk,
        from_status=change.from_state,
        to_status=change.to_state,
        actor=change.by,
        source=change.source,
        note=change.note,
    )


states.register(Booking, transitions=TRANSITIONS, record=_record_booking_change)
states.register(PackagePurchase, transitions=PACKAGE_PURCHASE_TRANSITIONS)
states.register(PlanSubscription, transitions=PLAN_SUBSCRIPTION_TRANSITIONS)
