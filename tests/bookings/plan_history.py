"""Coaching-plan histories written straight to the database, without Stripe: each client's
plan subscription with its Stripe subscription row, one invoice a period (with Stripe's
lines) and the Payment of each paid one, the paid periods' credits and the sessions booked
with them; a client's Stripe Customer and saved cards.

Hundreds of subscriptions and thousands of invoices go in within seconds (``bulk_create``),
for the plan pages' query-count tests and the billing benchmark (``tests/bench/billing.py``).
The rows are shaped as the webhook handlers leave them, so the pages read them as they read
real ones.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Max
from django.utils import timezone

from bookings.models import (
    Booking,
    BookingStatus,
    CoachingPlan,
    PlanCredit,
    PlanInterval,
    PlanSubscription,
    PlanSubscriptionStatus,
)
from coaches.models import CoachProfile, SessionType
from marketplace.models import Role, User
from payments.models import (
    Customer,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentKind,
    PaymentStatus,
    SavedCard,
    Subscription,
    SubscriptionKind,
    SubscriptionStatus,
)

FEE_BPS = 1000
BATCH = 1000
_PERIOD = {PlanInterval.MONTH: timedelta(days=30), PlanInterval.WEEK: timedelta(days=7)}
# Where a live plan stands in its current period: this far past the period's start.
_INTO_PERIOD = timedelta(days=5)


@dataclass(frozen=True)
class Story:
    """One client's subscription to one plan: its status now, the periods it has been
    invoiced (one invoice each), and for an ended plan how many periods ago it ended (0: it
    ended with the current period, whose credit can still be booked)."""

    client: User
    plan: CoachingPlan
    status: str
    periods: int
    ended_periods_ago: int = 1


def coach_with_plans(
    *, name: str, plans: int, sessions_per_period: int = 4, interval: str = PlanInterval.MONTH
) -> tuple[CoachProfile, list[CoachingPlan]]:
    """An approved coach with a 60-minute session type and ``plans`` plans on sale."""
    user = User.objects.create(
        email=f"{name}-{uuid.uuid4().hex[:6]}@plans.test", first_name=name.title(), role=Role.COACH
    )
    coach = CoachProfile.objects.create(
        user=user,
        slug=f"{name}-{uuid.uuid4().hex[:8]}",
        is_approved=True,
        can_take_charges=True,
    )
    session_type = SessionType.objects.create(
        coach=coach, name="Coaching session", duration_minutes=60, price=12000, currency="usd"
    )
    created = CoachingPlan.objects.bulk_create(
        [
            CoachingPlan(
                coach=coach,
                session_type=session_type,
                name=f"Plan {number + 1} of {name.title()}",
                sessions_per_period=sessions_per_period,
                interval=interval,
                price=20000 + 5000 * number,
                currency="usd",
                rollover=number % 2 == 1,
                rollover_cap=2 if number % 2 == 1 else 0,
                stripe_product_id=f"prod_{uuid.uuid4().hex[:14]}",
                stripe_price_id=f"price_{uuid.uuid4().hex[:14]}",
            )
            for number in range(plans)
        ]
    )
    return coach, created


def clients(count: int, *, prefix: str = "client") -> list[User]:
    token = uuid.uuid4().hex[:6]
    return User.objects.bulk_create(
        [
            User(
                email=f"{prefix}{number}-{token}@plans.test",
                first_name=f"{prefix.title()}{number}",
                last_name="Client",
                role=Role.CLIENT,
            )
            for number in range(count)
        ],
        batch_size=BATCH,
    )


def saved_cards(client: User, *, cards: int = 2) -> Customer:
    """The client's Stripe Customer with ``cards`` saved cards, the first the default."""
    token = uuid.uuid4().hex[:10]
    customer = Customer.objects.create(
        user=client,
        stripe_customer_id=f"cus_{token}",
        default_payment_method_id=f"pm_{token}_0",
        email=client.email,
        cards_read_at=timezone.now(),
    )
    SavedCard.objects.bulk_create(
        [
            SavedCard(
                customer=customer,
                stripe_payment_method_id=f"pm_{token}_{number}",
                brand=("visa", "mastercard", "amex")[number % 3],
                last4=f"{4242 + number:04d}",
                exp_month=1 + number % 12,
                exp_year=timezone.now().year + 1 + number,
            )
            for number in range(cards)
        ]
    )
    return customer


def _subscription_status(story: Story) -> str:
    return {
        PlanSubscriptionStatus.PENDING: SubscriptionStatus.CHECKOUT,
        PlanSubscriptionStatus.ACTIVE: SubscriptionStatus.ACTIVE,
        PlanSubscriptionStatus.PAST_DUE: SubscriptionStatus.PAST_DUE,
        # collection paused: Stripe keeps the subscription active
        PlanSubscriptionStatus.PAUSED: SubscriptionStatus.ACTIVE,
        PlanSubscriptionStatus.ENDED: SubscriptionStatus.CANCELED,
        PlanSubscriptionStatus.EXPIRED: SubscriptionStatus.CHECKOUT_EXPIRED,
    }[story.status]


def plan_histories(
    stories: Sequence[Story], *, now: datetime | None = None, bookings_per_period: int = 2
) -> dict[str, int]:
    """Write each story's rows; returns how many of each were written.

    Each invoiced period has a paid invoice, its Payment and its credit, and
    ``bookings_per_period`` sessions booked with the credit (completed in past periods; in
    a live plan's current period, one completed and the rest confirmed ahead, at hours no
    other session of the coach takes). A past-due plan's last invoice is open (a failed
    renewal: no payment, no credit)."""
    now = (now or timezone.now()).replace(microsecond=0)
    token = uuid.uuid4().hex[:8]
    # the next free hour ahead in each coach's calendar, for confirmed sessions: after the
    # coach's last live session
    next_hour: dict[int, datetime] = dict(
        Booking.objects.filter(
            coach_id__in={story.plan.coach_id for story in stories},
            status__in=[BookingStatus.HELD, BookingStatus.CONFIRMED],
        )
        .values("coach_id")
        .annotate(last=Max("ends_at"))
        .values_list("coach_id", "last")
    )
    subscriptions: list[Subscription] = []
    timelines: list[list[tuple[datetime, datetime]]] = []
    for number, story in enumerate(stories):
        length = _PERIOD[PlanInterval(story.plan.interval)]
        live = story.status not in (PlanSubscriptionStatus.ENDED, PlanSubscriptionStatus.EXPIRED)
        current_start = now - _INTO_PERIOD
        last_start = current_start - length * (0 if live else story.ended_periods_ago)
        periods = [
            (last_start - length * back, last_start - length * back + length)
            for back in reversed(range(story.periods))
        ]
        timelines.append(periods)
        # an ended plan ended with its last period, or (that period still running) a day ago
        ended_at = min(periods[-1][1], now - timedelta(days=1)) if periods and not live else None
        subscriptions.append(
            Subscription(
                kind=SubscriptionKind.PLAN,
                customer_user=story.client,
                payee_id=story.plan.coach.user_id,
                status=_subscription_status(story),
                stripe_subscription_id=(f"sub_{token}{number}" if story.periods else None),
                stripe_customer_id=f"cus_{token}{story.client.pk}",
                stripe_price_id=story.plan.stripe_price_id or f"price_{token}",
                stripe_checkout_session_id=f"cs_{token}{number}",
                amount=story.plan.price,
                currency=story.plan.currency,
                application_fee_bps=FEE_BPS,
                destination_account_id=f"acct_{token}{story.plan.coach_id}",
                current_period_start=periods[-1][0] if periods else None,
                current_period_end=periods[-1][1] if periods else None,
                pause_collection=("void" if story.status == PlanSubscriptionStatus.PAUSED else ""),
                canceled_at=ended_at,
                ended_at=ended_at,
                latest_invoice_id=f"in_{token}{number}x{story.periods - 1}" if periods else "",
            )
        )
    Subscription.objects.bulk_create(subscriptions, batch_size=BATCH)
    plan_subscriptions = PlanSubscription.objects.bulk_create(
        [
            PlanSubscription(
                plan=story.plan,
                client=story.client,
                coach_id=story.plan.coach_id,
                subscription=subscription,
                status=story.status,
                periods_paid=len(periods)
                - (1 if story.status == PlanSubscriptionStatus.PAST_DUE else 0),
                started_at=periods[0][0] if periods else None,
                ended_at=subscription.ended_at,
            )
            for story, subscription, periods in zip(stories, subscriptions, timelines, strict=True)
        ],
        batch_size=BATCH,
    )
    # ``created_at`` is set on insert; the history has it when the plan began
    for row, periods, number in zip(
        plan_subscriptions, timelines, range(len(stories)), strict=True
    ):
        # a pending plan was made a moment ago; ties broken by position, newest last
        row.created_at = (periods[0][0] if periods else now) - timedelta(
            seconds=len(stories) - number
        )
    PlanSubscription.objects.bulk_update(plan_subscriptions, ["created_at"], batch_size=BATCH)

    payments: list[Payment] = []
    invoices: list[Invoice] = []
    for number, (story, subscription, periods) in enumerate(
        zip(stories, subscriptions, timelines, strict=True)
    ):
        fee = story.plan.price * FEE_BPS // 10000
        for period, (start, end) in enumerate(periods):
            unpaid = story.status == PlanSubscriptionStatus.PAST_DUE and period == len(periods) - 1
            invoice_id = f"in_{token}{number}x{period}"
            payment = None
            if not unpaid:
                payment = Payment(
                    kind=PaymentKind.PLAN,
                    client=story.client,
                    coach_id=story.plan.coach.user_id,
                    amount=story.plan.price,
                    application_fee=fee,
                    coach_amount=story.plan.price - fee,
                    currency=story.plan.currency,
                    status=PaymentStatus.SUCCEEDED,
                    destination_account_id=subscription.destination_account_id,
                    stripe_customer_id=subscription.stripe_customer_id,
                    stripe_payment_intent_id=f"pi_{token}{number}x{period}",
                    stripe_charge_id=f"ch_{token}{number}x{period}",
                    succeeded_at=start + timedelta(minutes=1),
                )
                payments.append(payment)
            invoices.append(
                Invoice(
                    stripe_invoice_id=invoice_id,
                    subscription=subscription,
                    payment=payment,
                    customer_user=story.client,
                    payee_id=story.plan.coach.user_id,
                    stripe_customer_id=subscription.stripe_customer_id,
                    number=f"{token[:4].upper()}-{number:04d}-{period + 1:04d}",
                    status=InvoiceStatus.OPEN if unpaid else InvoiceStatus.PAID,
                    billing_reason="subscription_create" if period == 0 else "subscription_cycle",
                    currency=story.plan.currency,
                    subtotal=story.plan.price,
                    total=story.plan.price,
                    amount_due=story.plan.price,
                    amount_paid=0 if unpaid else story.plan.price,
                    amount_remaining=story.plan.price if unpaid else 0,
                    application_fee_amount=fee,
                    hosted_invoice_url=f"https://invoice.stripe.test/i/{invoice_id}",
                    invoice_pdf=f"https://invoice.stripe.test/i/{invoice_id}/pdf",
                    period_start=start,
                    period_end=end,
                    lines=[
                        {
                            "description": f"1 × {story.plan.name}",
                            "amount": story.plan.price,
                            "period_start": int(start.timestamp()),
                            "period_end": int(end.timestamp()),
                            "proration": False,
                        }
                    ],
                    attempt_count=2 if unpaid else 1,
                    stripe_payment_intent_id=f"pi_{token}{number}x{period}",
                    issued_at=start,
                    paid_at=None if unpaid else start + timedelta(minutes=1),
                )
            )
    Payment.objects.bulk_create(payments, batch_size=BATCH)
    for invoice in invoices:
        invoice.payment_id = invoice.payment.pk if invoice.payment else None
    Invoice.objects.bulk_create(invoices, batch_size=BATCH)

    credits: list[PlanCredit] = []
    credit_stories: list[tuple[Story, bool]] = []
    for story, row, periods, number in zip(
        stories, plan_subscriptions, timelines, range(len(stories)), strict=True
    ):
        paid = periods[:-1] if story.status == PlanSubscriptionStatus.PAST_DUE else periods
        for period, (start, end) in enumerate(paid):
            credits.append(
                PlanCredit(
                    plan_subscription=row,
                    stripe_invoice_id=f"in_{token}{number}x{period}",
                    sessions=story.plan.sessions_per_period,
                    period_start=start,
                    period_end=end,
                )
            )
            credit_stories.append((story, end > now))
    PlanCredit.objects.bulk_create(credits, batch_size=BATCH)

    bookings: list[Booking] = []
    for credit, (story, current) in zip(credits, credit_stories, strict=True):
        coach_id = story.plan.coach_id
        for session in range(bookings_per_period):
            starts_at = credit.period_start + timedelta(days=1 + 3 * session, hours=10)
            status = BookingStatus.COMPLETED
            if current and (session > 0 or starts_at >= now):
                # ahead: a confirmed session, at the coach's next free hour
                starts_at = next_hour.get(
                    coach_id, now.replace(minute=0, second=0) + timedelta(days=1)
                )
                next_hour[coach_id] = starts_at + timedelta(hours=1)
                status = BookingStatus.CONFIRMED
            bookings.append(
                Booking(
                    coach_id=coach_id,
                    client=story.client,
                    session_type_id=story.plan.session_type_id,
                    starts_at=starts_at,
                    ends_at=starts_at + timedelta(hours=1),
                    status=status,
                    plan_credit=credit,
                    confirmed_at=credit.period_start,
                    completed_at=starts_at + timedelta(hours=1)
                    if status == BookingStatus.COMPLETED
                    else None,
                )
            )
    Booking.objects.bulk_create(bookings, batch_size=BATCH)
    return {
        "plan_subscriptions": len(plan_subscriptions),
        "invoices": len(invoices),
        "payments": len(payments),
        "credits": len(credits),
        "bookings": len(bookings),
    }
