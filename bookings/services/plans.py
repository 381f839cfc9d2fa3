"""Coaching plans: a coach's offer of N sessions a period, a client's subscription to it
(a Connect subscription on Stripe Checkout), the credits each paid period grants, and the
subscriber's changes (cancel at period end, resume, switch plan, pause).

Stripe decides what a subscription is; ``payments.services.subscriptions`` keeps its copy
and tells this module (the plan purpose, ``bookings.purposes``) every change and every paid
or failed invoice. Sessions are booked against credits with ``holds.booking_hold``.

Lock order: coach → plan subscription → subscription → payment.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from bookings import notifications
from bookings.models import (
    PLAN_MAX_SESSIONS_PER_PERIOD,
    PLAN_SUBSCRIPTION_LIVE,
    CoachingPlan,
    PlanCredit,
    PlanInterval,
    PlanSubscription,
    PlanSubscriptionStatus,
)
from bookings.selectors import plan_credit_sessions_used
from bookings.services.holds import lock_coach
from coaches.models import CoachProfile, SessionType
from coaches.selectors import coach_fee_terms
from marketplace import states
from marketplace.errors import Conflict, DomainError, NotAllowed
from marketplace.models import User
from marketplace.money import MAX_CHARGE_AMOUNT, format_money, minimum_charge
from marketplace.queue import enqueue
from payments import designs
from payments.models import (
    ConnectedAccount,
    Invoice,
    Subscription,
    SubscriptionKind,
    SubscriptionStatus,
)
from payments.services import catalog, charges, subscriptions

logger = logging.getLogger("bookings.plans")


# --- the coach's plans ---------------------------------------------------------------------


@dataclass(frozen=True)
class PlanTerms:
    """What a coach offers in a plan (validated by ``check_plan_terms``)."""

    name: str
    session_type: SessionType
    sessions_per_period: int
    interval: str
    price: int
    rollover: bool = False
    rollover_cap: int = 0
    minimum_periods: int = 0


def check_plan_terms(*, coach: CoachProfile, terms: PlanTerms) -> dict[str, list[str]]:
    """The field errors of ``terms`` (empty when they are fine)."""
    errors: dict[str, list[str]] = {}
    if not terms.name.strip():
        errors["name"] = ["Give the plan a name."]
    if terms.session_type.coach_id != coach.pk:
        errors["session_type"] = ["Choose one of your own session types."]
    if not 1 <= terms.sessions_per_period <= PLAN_MAX_SESSIONS_PER_PERIOD:
        errors["sessions_per_period"] = [
            f"A plan grants 1 to {PLAN_MAX_SESSIONS_PER_PERIOD} sessions a period."
        ]
    if terms.interval not in PlanInterval.values:
        errors["interval"] = ["Choose a month or a week."]
    currency = coach.currency.lower()
    if terms.price < minimum_charge(currency):
        errors["price"] = [
            "Stripe charges at least "
            f"{format_money(minimum_charge(currency), currency)} in {currency.upper()}."
        ]
    elif terms.price > MAX_CHARGE_AMOUNT:
        errors["price"] = [
            f"Stripe charges at most {format_money(MAX_CHARGE_AMOUNT, currency)} at once."
        ]
    if terms.rollover_cap < 0:
        errors["rollover_cap"] = ["The rollover cap cannot be below 0."]
    if terms.minimum_periods < 0:
        errors["minimum_periods"] = ["The minimum commitment cannot be below 0."]
    return errors


def _stripe_price_for(plan: CoachingPlan) -> str:
    """The plan's Stripe Product and current Price (made once; a new price makes a new
    Price). Outside any transaction."""
    key = f"coaching-plan-{plan.pk}"
    metadata = {"coaching_plan_id": str(plan.pk)}
    product_id = catalog.product_ensure(
        product_id=plan.stripe_product_id,
        name=f"{plan.name} with {plan.coach.user.display_name}",
        key=key,
        metadata=metadata,
    )
    price_id = catalog.recurring_price_create(
        product_id=product_id,
        unit_amount=plan.price,
        currency=plan.currency,
        interval=plan.interval,
        key=key,
        metadata=metadata,
    )
    CoachingPlan.objects.filter(pk=plan.pk).update(
        stripe_product_id=product_id, stripe_price_id=price_id
    )
    plan.stripe_product_id, plan.stripe_price_id = product_id, price_id
    return price_id


def coaching_plan_create(*, coach: CoachProfile, terms: PlanTerms) -> CoachingPlan:
    """A new plan of the coach, on sale once its Stripe Price exists."""
    errors = check_plan_terms(coach=coach, terms=terms)
    if errors:
        raise DomainError("The plan has errors.", code="invalid_plan", fields=errors)
    plan = CoachingPlan.objects.create(
        coach=coach,
        session_type=terms.session_type,
        name=terms.name.strip(),
        sessions_per_period=terms.sessions_per_period,
        interval=terms.interval,
        price=terms.price,
        currency=coach.currency.lower(),
        rollover=terms.rollover,
        rollover_cap=terms.rollover_cap if terms.rollover else 0,
        minimum_periods=terms.minimum_periods,
    )
    _stripe_price_for(plan)
    return plan


def coaching_plan_update(*, plan: CoachingPlan, terms: PlanTerms) -> CoachingPlan:
    """Change a plan. A new price or interval is a new Stripe Price for new subscribers;
    current subscribers keep theirs."""
    errors = check_plan_terms(coach=plan.coach, terms=terms)
    if errors:
        raise DomainError("The plan has errors.", code="invalid_plan", fields=errors)
    price_changed = (terms.price, terms.interval) != (plan.price, plan.interval)
    for name, value in (
        ("name", terms.name.strip()),
        ("session_type", terms.session_type),
        ("sessions_per_period", terms.sessions_per_period),
        ("interval", terms.interval),
        ("price", terms.price),
        ("rollover", terms.rollover),
        ("rollover_cap", terms.rollover_cap if terms.rollover else 0),
        ("minimum_periods", terms.minimum_periods),
    ):
        setattr(plan, name, value)
    plan.save()
    if price_changed or not plan.stripe_price_id:
        _stripe_price_for(plan)
    return plan


def coaching_plan_set_active(*, plan: CoachingPlan, active: bool) -> CoachingPlan:
    """Take a plan off sale (current subscribers keep it) or back on."""
    CoachingPlan.objects.filter(pk=plan.pk).update(is_active=active, updated_at=timezone.now())
    plan.is_active = active
    return plan


# --- subscribing ---------------------------------------------------------------------------


def _destination(coach: CoachProfile) -> tuple[ConnectedAccount, str]:
    """The coach's account and the ``on_behalf_of`` the country rules ask for."""
    account = ConnectedAccount.objects.filter(coach_id=coach.user_id).first()
    if account is None or not account.stripe_account_id or not account.can_take_charges:
        raise Conflict(
            "This coach cannot take payments right now.", code="coach_cannot_take_payments"
        )
    design = designs.design_for_account(account)
    on_behalf_of = account.stripe_account_id if design.booking_on_behalf_of else ""
    return account, on_behalf_of


def plan_subscribe(
    *, client: User, plan: CoachingPlan, urls: charges.CheckoutUrls
) -> PlanSubscription:
    """Start a client's subscription to ``plan``: a pending plan subscription and a Checkout
    Session (``mode=subscription``) paying the coach's account, the platform keeping its fee
    percent. ``PaymentProviderError`` (503) when Stripe cannot make the session; a retry
    of the same pending subscription returns the same session."""
    if plan.coach.user_id == client.pk:
        raise DomainError("You cannot subscribe to your own plan.", code="own_plan")
    if not plan.is_active or not plan.stripe_price_id:
        raise DomainError("This plan is not offered any more.", code="plan_inactive")
    with transaction.atomic():
        coach = lock_coach(plan.coach_id)
        if not coach.is_bookable:
            raise Conflict("This coach cannot be booked right now.", code="coach_not_bookable")
        existing = (
            PlanSubscription.objects.select_for_update()
            .filter(client=client, plan=plan, status__in=PLAN_SUBSCRIPTION_LIVE)
            .select_related("subscription")
            .first()
        )
        if existing is not None:
            if existing.status != PlanSubscriptionStatus.PENDING:
                raise Conflict("You already subscribe to this plan.", code="already_subscribed")
            plan_subscription = existing
        else:
            account, on_behalf_of = _destination(coach)
            subscription = subscriptions.subscription_create(
                kind=SubscriptionKind.PLAN,
                customer_user=client,
                payee=coach.user,
                stripe_price_id=plan.stripe_price_id,
                amount=plan.price,
                currency=plan.currency,
                # A percent cannot carry the minimum fee; the coach's membership lowers it.
                application_fee_bps=coach_fee_terms(coach).fee_bps,
                destination_account_id=account.stripe_account_id or "",
                on_behalf_of=on_behalf_of,
            )
            try:
                with transaction.atomic():
                    plan_subscription = PlanSubscription.objects.create(
                        plan=plan, client=client, coach=coach, subscription=subscription
                    )
            except IntegrityError:
                raise Conflict(
                    "You already subscribe to this plan.", code="already_subscribed"
                ) from None
    subscriptions.subscription_start_checkout(
        subscription=plan_subscription.subscription,
        urls=urls,
        metadata={"plan_subscription_id": str(plan_subscription.pk)},
    )
    plan_subscription.subscription.refresh_from_db()
    return plan_subscription


def _own(plan_subscription: PlanSubscription, by: User) -> None:
    if plan_subscription.client_id != by.pk and not by.is_staff:
        raise NotAllowed("This plan is not yours.")


def periods_left_in_commitment(plan_subscription: PlanSubscription) -> int:
    """Paid periods still owed under the plan's minimum commitment (0: free to cancel)."""
    return max(0, plan_subscription.plan.minimum_periods - plan_subscription.periods_paid)


def plan_cancel(*, plan_subscription: PlanSubscription, by: User) -> PlanSubscription:
    """Stop renewing at the end of the paid period (credits stay bookable until then). Within
    a minimum commitment it is refused, saying how many periods are left."""
    _own(plan_subscription, by)
    if not plan_subscription.is_live or plan_subscription.status == PlanSubscriptionStatus.PENDING:
        raise Conflict("This plan is not running.", code="plan_not_running")
    owed = periods_left_in_commitment(plan_subscription)
    if owed and not by.is_staff:
        raise Conflict(
            f"This plan commits you to {plan_subscription.plan.minimum_periods} periods; "
            f"{owed} more must be paid before it can be cancelled.",
            code="minimum_commitment",
        )
    subscriptions.subscription_cancel_at_period_end(subscription=plan_subscription.subscription)
    plan_subscription.refresh_from_db()
    return plan_subscription


def plan_resume(*, plan_subscription: PlanSubscription, by: User) -> PlanSubscription:
    """Undo a cancellation before the period ends, or resume a paused plan."""
    _own(plan_subscription, by)
    subscription = plan_subscription.subscription
    if not plan_subscription.is_live or not (
        subscription.cancel_at_period_end or subscription.pause_collection
    ):
        raise Conflict("This plan is neither cancelled nor paused.", code="plan_not_resumable")
    if plan_subscription.paused_reason and not by.is_staff:
        raise Conflict(plan_subscription.paused_reason, code="plan_paused_by_platform")
    subscriptions.subscription_resume(subscription=subscription)
    plan_subscription.refresh_from_db()
    return plan_subscription


def plan_pause(*, plan_subscription: PlanSubscription, by: User) -> PlanSubscription:
    """Pause the plan: nothing is charged (Stripe voids the paused periods' invoices) and no
    credits are granted until it resumes; credits granted stay bookable until they end."""
    _own(plan_subscription, by)
    if plan_subscription.status not in (PlanSubscriptionStatus.ACTIVE,):
        raise Conflict("Only an active plan can be paused.", code="plan_not_active")
    subscriptions.subscription_pause(subscription=plan_subscription.subscription)
    plan_subscription.refresh_from_db()
    return plan_subscription


def plan_change(
    *, plan_subscription: PlanSubscription, to_plan: CoachingPlan, by: User
) -> PlanSubscription:
    """Switch to another plan of the same coach: Stripe prorates the rest of the period and
    invoices the difference at once; a bigger plan's extra sessions for this period are
    granted when that invoice is paid, the new count applies from the next period."""
    _own(plan_subscription, by)
    if to_plan.coach_id != plan_subscription.coach_id:
        raise DomainError(
            "You can only switch to another plan of the same coach.", code="plan_other_coach"
        )
    if to_plan.pk == plan_subscription.plan_id:
        raise DomainError("This is already your plan.", code="plan_same")
    if not to_plan.is_active or not to_plan.stripe_price_id:
        raise DomainError("This plan is not offered any more.", code="plan_inactive")
    if to_plan.currency != plan_subscription.plan.currency:
        raise DomainError("That plan is in another currency.", code="plan_other_currency")
    if plan_subscription.status not in (
        PlanSubscriptionStatus.ACTIVE,
        PlanSubscriptionStatus.PAUSED,
    ):
        raise Conflict("Only a running, paid-up plan can be switched.", code="plan_not_active")
    with transaction.atomic():
        lock_coach(plan_subscription.coach_id)
        locked = PlanSubscription.objects.select_for_update().get(pk=plan_subscription.pk)
        clash = (
            PlanSubscription.objects.filter(
                client=locked.client, plan=to_plan, status__in=PLAN_SUBSCRIPTION_LIVE
            )
            .exclude(pk=locked.pk)
            .exists()
        )
        if clash:
            raise Conflict("You already subscribe to that plan.", code="already_subscribed")
        from_plan_id = locked.plan_id
        # The new plan is ours before Stripe invoices the change, so the change's invoice
        # (paid at once) grants the new plan's sessions; a refusal puts the old one back.
        locked.plan = to_plan
        locked.save(update_fields=["plan", "updated_at"])
    try:
        subscriptions.subscription_change_price(
            subscription=plan_subscription.subscription, stripe_price_id=to_plan.stripe_price_id
        )
    except DomainError:
        PlanSubscription.objects.filter(pk=plan_subscription.pk, plan=to_plan).update(
            plan_id=from_plan_id
        )
        raise
    plan_subscription.refresh_from_db()
    return plan_subscription


# --- what Stripe tells us (the plan purpose, bookings.purposes) -----------------------------


def lock_plan_subscription_of(subscription: Subscription) -> PlanSubscription | None:
    """The plan subscription of a payments subscription, locked (the purpose's owner lock)."""
    return PlanSubscription.objects.select_for_update().filter(subscription=subscription).first()


def _plan_status(subscription: Subscription) -> str:
    """What Stripe's status means for booking with the plan."""
    status = subscription.status
    if status in (SubscriptionStatus.CHECKOUT, SubscriptionStatus.INCOMPLETE):
        return PlanSubscriptionStatus.PENDING
    if status == SubscriptionStatus.CHECKOUT_EXPIRED:
        return PlanSubscriptionStatus.EXPIRED
    if status in (
        SubscriptionStatus.CANCELED,
        SubscriptionStatus.UNPAID,
        SubscriptionStatus.INCOMPLETE_EXPIRED,
    ):
        return PlanSubscriptionStatus.ENDED
    if status == SubscriptionStatus.PAST_DUE:
        return PlanSubscriptionStatus.PAST_DUE
    if status == SubscriptionStatus.PAUSED or subscription.pause_collection:
        return PlanSubscriptionStatus.PAUSED
    return PlanSubscriptionStatus.ACTIVE


def plan_subscription_follow(subscription: Subscription) -> None:
    """Stripe's copy of the subscription changed: the plan follows (inside the recording
    transaction, holding the plan subscription's lock). Idempotent."""
    locked = lock_plan_subscription_of(subscription)
    if locked is None:
        return
    wanted = _plan_status(subscription)
    if wanted == locked.status:
        return
    machine = states.machine_for(PlanSubscription)
    if not machine.allows(locked.status, wanted):
        logger.info("plan subscription %s stays %s (Stripe: %s)", locked.pk, locked.status, wanted)
        return
    previous = locked.status
    changes: dict[str, object] = {}
    if wanted == PlanSubscriptionStatus.ACTIVE and locked.started_at is None:
        changes["started_at"] = timezone.now()
    if wanted == PlanSubscriptionStatus.ENDED:
        changes["ended_at"] = subscription.ended_at or timezone.now()
    if wanted != PlanSubscriptionStatus.PAUSED:
        changes["paused_reason"] = ""
    states.transition(locked, wanted, source="stripe", changes=changes, locked=True)
    if wanted == PlanSubscriptionStatus.ENDED and previous != PlanSubscriptionStatus.EXPIRED:
        transaction.on_commit(lambda: notifications.plan_ended(locked))
    elif wanted == PlanSubscriptionStatus.ACTIVE and previous == PlanSubscriptionStatus.PAST_DUE:
        transaction.on_commit(lambda: notifications.plan_restored(locked))


def _service_period(invoice: Invoice) -> tuple[datetime, datetime] | None:
    """The period an invoice pays for: its first line that is not a proration."""
    for line in invoice.lines:
        if not line.get("proration") and line.get("period_start") and line.get("period_end"):
            return (
                datetime.fromtimestamp(line["period_start"], tz=UTC),
                datetime.fromtimestamp(line["period_end"], tz=UTC),
            )
    return None


def _proration_end(invoice: Invoice) -> datetime | None:
    """The end of the period an invoice's prorations are for (the period a change was made
    in)."""
    ends = [line["period_end"] for line in invoice.lines if line.get("proration")]
    return datetime.fromtimestamp(max(ends), tz=UTC) if ends else None


def plan_invoice_paid(invoice: Invoice) -> PlanCredit | None:
    """A plan invoice is paid: grant its period's sessions, once (keyed by the invoice).

    An invoice that bills a period (the first, a renewal, or the one that starts a new
    period when a paused subscription resumes) grants the plan's sessions for that period,
    plus, with rollover, the previous period's unused sessions up to the cap (those move out
    of the previous period's credit). A plan change's invoice, only prorations, grants the
    new plan's extra sessions for the rest of the current period. Holding the plan
    subscription's lock.
    """
    assert invoice.subscription is not None
    locked = lock_plan_subscription_of(invoice.subscription)
    if locked is None or PlanCredit.objects.filter(stripe_invoice_id=invoice.stripe_invoice_id):
        return None
    plan = locked.plan
    period = _service_period(invoice)
    # A change's reason (``subscription_update``) is also that of invoices billing a whole new
    # period: a paused subscription's resumption, a switch to another interval. The lines
    # tell them apart.
    if period is None and invoice.billing_reason == "subscription_update":
        # the period the prorations are for (they run to its end), whenever this is recorded
        prorated_until = _proration_end(invoice)
        if prorated_until is None:
            return None
        current = list(
            locked.credits.filter(period_end=prorated_until).order_by("period_start", "pk")
        )
        if not current:
            return None
        period_start, period_end = current[0].period_start, current[0].period_end
        base = sum(c.sessions - c.rolled_over for c in current)
        extra = plan.sessions_per_period - base
        if extra <= 0:
            return None
        return PlanCredit.objects.create(
            plan_subscription=locked,
            stripe_invoice_id=invoice.stripe_invoice_id,
            sessions=extra,
            period_start=period_start,
            period_end=period_end,
        )
    if period is None or (invoice.amount_paid == 0 and invoice.total > 0):
        return None
    period_start, period_end = period
    rolled = 0
    if plan.rollover and plan.rollover_cap:
        # the period just before (Stripe's periods follow each other exactly)
        for previous in locked.credits.select_for_update().filter(period_end=period_start):
            unused = (
                previous.sessions - previous.carried_forward - plan_credit_sessions_used(previous)
            )
            take = max(0, min(unused, plan.rollover_cap - rolled))
            if take:
                previous.carried_forward += take
                previous.save(update_fields=["carried_forward"])
                rolled += take
    credit = PlanCredit.objects.create(
        plan_subscription=locked,
        stripe_invoice_id=invoice.stripe_invoice_id,
        sessions=plan.sessions_per_period + rolled,
        rolled_over=rolled,
        period_start=period_start,
        period_end=period_end,
    )
    locked.periods_paid += 1
    locked.save(update_fields=["periods_paid", "updated_at"])
    return credit


def plan_invoice_failed(invoice: Invoice) -> None:
    """An attempt to charge a plan invoice failed: the client is told, with the link to pay
    (booking with the plan stops while Stripe marks it past due)."""
    assert invoice.subscription is not None
    plan_subscription = PlanSubscription.objects.filter(subscription=invoice.subscription).first()
    if plan_subscription is not None and invoice.billing_reason != "subscription_create":
        transaction.on_commit(lambda: notifications.plan_payment_failed(plan_subscription, invoice))


# --- the coach can no longer be paid ---------------------------------------------------------


PAUSED_COACH_UNPAYABLE = (
    "your coach cannot take payments at the moment. We will tell you when you can resume."
)


def plans_coach_payable_changed(*, coach: CoachProfile, payable: bool, **_: object) -> None:
    """``coaches.services.profiles.coach_payable_changed``: a task, after the change commits,
    pauses the running plans of a coach who can no longer be paid and resumes them when they
    can again."""
    enqueue("bookings.plans_follow_coach_payable", coach.pk)


def plans_follow_coach_payable(*, coach_id: int) -> int:
    """Pause the coach's running plans while they cannot be paid; resume the plans the
    platform paused once they can. Returns how many plans moved. Safe to run twice."""
    coach = CoachProfile.objects.get(pk=coach_id)
    if not coach.can_take_charges:
        return plans_pause_for_coach(coach=coach, reason=PAUSED_COACH_UNPAYABLE)
    resumed = 0
    for plan_subscription in (
        PlanSubscription.objects.filter(coach=coach, status__in=PLAN_SUBSCRIPTION_LIVE)
        .exclude(paused_reason="")
        .select_related("subscription", "plan", "client", "coach__user")
    ):
        try:
            subscriptions.subscription_resume(subscription=plan_subscription.subscription)
        except DomainError as error:
            logger.warning("plan subscription %s not resumed: %s", plan_subscription.pk, error)
            continue
        PlanSubscription.objects.filter(pk=plan_subscription.pk).update(paused_reason="")
        resumed += 1
        notifications.plan_restored(plan_subscription)
    return resumed


def plans_pause_for_coach(*, coach: CoachProfile, reason: str) -> int:
    """The coach's account cannot take payments (restricted, deauthorized): their running
    plans are paused at Stripe (nothing charged) and the clients told. Returns how many.
    New subscriptions are refused meanwhile (``plan_subscribe`` checks the coach)."""
    paused = 0
    for plan_subscription in PlanSubscription.objects.filter(
        coach=coach, status__in=(PlanSubscriptionStatus.ACTIVE, PlanSubscriptionStatus.PAST_DUE)
    ).select_related("subscription", "plan", "client", "coach__user"):
        if plan_subscription.subscription.pause_collection:
            continue
        PlanSubscription.objects.filter(pk=plan_subscription.pk).update(paused_reason=reason)
        try:
            subscriptions.subscription_pause(subscription=plan_subscription.subscription)
        except DomainError as error:
            logger.warning("plan subscription %s not paused: %s", plan_subscription.pk, error)
            continue
        paused += 1
        notifications.plan_paused_by_platform(plan_subscription, reason)
    return paused
