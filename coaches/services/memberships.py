"""Platform memberships: staff's plans as Stripe Products and Prices, a coach subscribing on
Checkout (``mode=subscription`` on the platform: no transfer, no application fee),
cancelling at period end and resuming, and the membership following its Stripe subscription
(the ``membership`` subscription purpose, registered in ``CoachesConfig.ready``), and the
coach's running coaching plans taking the fee the membership gives.

No transaction is open across a Stripe call: a plan's Product and Price are made after the
plan is saved (``membership_plan_stripe_sync``, a task queued on commit), a membership's
rows are made in one short transaction before its Checkout Session.

Lock order: coach → subscription (``payments``) → membership. The purpose's ``lock_owner``
locks the coach before payments locks the subscription, so a webhook, a hold (which locks
the coach and reads the fee) and the coach's own changes queue on the same row.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from coaches.models import (
    MEMBERSHIP_LIVE,
    MEMBERSHIP_STATUS_OF,
    CoachMembership,
    CoachProfile,
    MembershipPlan,
    MembershipStatus,
)
from coaches.selectors import coach_fee_terms
from marketplace import states
from marketplace.dates import format_when
from marketplace.emails import send_templated_email
from marketplace.errors import Conflict, NotAllowed
from marketplace.models import User
from marketplace.money import format_money, format_percent
from marketplace.queue import enqueue
from payments import purposes
from payments import selectors as payment_selectors
from payments.models import (
    Invoice,
    Payment,
    PaymentKind,
    StaffAlert,
    Subscription,
    SubscriptionKind,
)
from payments.services import alerts, catalog, subscriptions
from payments.services.charges import CheckoutUrls

logger = logging.getLogger("coaches.memberships")

SYNC_TASK = "coaches.membership_plan_stripe_sync"
FEES_TASK = "coaches.coach_subscription_fees_refresh"


# --- staff's plans -------------------------------------------------------------------------


def membership_plan_save(*, plan: MembershipPlan) -> MembershipPlan:
    """Save staff's plan; its Stripe Product, and a new Price when the price, currency or
    interval is not the current Price's, are made once the save commits."""
    plan.currency = plan.currency.lower()
    plan.full_clean()
    with transaction.atomic():
        plan.save()
        if not plan.has_current_price or plan.stripe_product_name != plan.name:
            enqueue(SYNC_TASK, plan.pk)
    return plan


def _next_stripe_update(plan_id: int) -> int:
    MembershipPlan.objects.filter(pk=plan_id).update(stripe_updates=F("stripe_updates") + 1)
    return MembershipPlan.objects.values_list("stripe_updates", flat=True).get(pk=plan_id)


def membership_plan_stripe_sync(*, plan_id: int) -> MembershipPlan:
    """Bring Stripe's side of a plan in step with it, outside any transaction: its Product
    (made once, renamed with the plan) and a recurring Price of its price, currency and
    interval (a new one whenever they changed; members keep the Price they subscribed to).
    Safe to run twice; raises ``PaymentProviderError`` when Stripe cannot be reached."""
    plan = MembershipPlan.objects.get(pk=plan_id)
    metadata = {"membership_plan_id": str(plan.pk)}
    key = f"membership-plan-{plan.pk}"
    if not plan.stripe_product_id:
        product_id = catalog.product_ensure(
            product_id="", name=plan.name, key=key, metadata=metadata
        )
        MembershipPlan.objects.filter(pk=plan.pk, stripe_product_id="").update(
            stripe_product_id=product_id, stripe_product_name=plan.name
        )
        plan.refresh_from_db()
    elif plan.stripe_product_name != plan.name:
        sequence = _next_stripe_update(plan.pk)
        catalog.product_rename(
            product_id=plan.stripe_product_id, name=plan.name, key=f"{key}-rename-{sequence}"
        )
        MembershipPlan.objects.filter(pk=plan.pk, name=plan.name).update(
            stripe_product_name=plan.name
        )
    if not plan.has_current_price:
        amount, currency, interval = plan.price, plan.currency.lower(), plan.interval
        # The same terms under the same key give the same Price back (a retried sync).
        price_id = catalog.recurring_price_create(
            product_id=plan.stripe_product_id,
            unit_amount=amount,
            currency=currency,
            interval=interval,
            key=key,
            metadata=metadata,
        )
        # Recorded only while the plan still asks for this Price: a sync that read an older
        # price and finishes after a newer one's does not overwrite it.
        MembershipPlan.objects.filter(
            pk=plan.pk, price=amount, currency=currency, interval=interval
        ).update(
            stripe_price_id=price_id,
            stripe_price_amount=amount,
            stripe_price_currency=currency,
            stripe_price_interval=interval,
        )
    plan.refresh_from_db()
    return plan


# --- a coach's membership ------------------------------------------------------------------


def _lock_coach(coach_id: int) -> CoachProfile:
    return (
        CoachProfile.objects.select_for_update(of=("self",)).select_related("user").get(pk=coach_id)
    )


def _live_membership(coach_id: int) -> CoachMembership | None:
    return (
        CoachMembership.objects.filter(coach_id=coach_id, status__in=MEMBERSHIP_LIVE)
        .select_related("plan", "subscription")
        .first()
    )


def membership_start(
    *, coach: CoachProfile, plan: MembershipPlan, urls: CheckoutUrls
) -> CoachMembership:
    """The coach subscribes to ``plan``: the membership and its subscription are made under
    the coach's lock (one live membership per coach), then its Checkout Session on the
    platform. The coach pays on ``membership.subscription.checkout_url``.

    Subscribing again to the plan already awaiting payment returns its Checkout Session; to
    another plan, ends that Checkout first.
    Raises ``Conflict`` when the plan is not offered or the coach already has a live
    membership, ``PaymentProviderError`` when Stripe cannot make the session (the membership
    stays pending; ``membership_checkout`` tries again).
    """
    if not plan.is_active:
        raise Conflict("This membership is not offered any more.", code="membership_plan_inactive")
    if not plan.has_current_price:
        plan = membership_plan_stripe_sync(plan_id=plan.pk)
    waiting = _live_membership(coach.pk)
    if (
        waiting is not None
        and waiting.status == MembershipStatus.PENDING
        and waiting.plan_id != plan.pk
    ):
        # The coach chose another plan before paying for this one: its Checkout ends first
        # (unless it was paid meanwhile, which the check below then refuses).
        subscriptions.subscription_checkout_abandon(subscription=waiting.subscription)
    with transaction.atomic():
        locked = _lock_coach(coach.pk)
        live = _live_membership(locked.pk)
        if live is None:
            membership = _membership_create(coach=locked, plan=plan)
        elif live.status == MembershipStatus.PENDING and live.plan_id == plan.pk:
            membership = live
        else:
            raise Conflict(
                f"You already have the {live.plan.name} membership "
                f"({live.get_status_display().lower()}). A coach holds one membership at a "
                "time: cancel it and subscribe again when it has ended.",
                code="membership_exists",
            )
    return membership_checkout(membership=membership, urls=urls)


def _membership_create(*, coach: CoachProfile, plan: MembershipPlan) -> CoachMembership:
    """A pending membership and its subscription (the caller holds the coach's lock)."""
    subscription = subscriptions.subscription_create(
        kind=SubscriptionKind.MEMBERSHIP,
        customer_user=coach.user,
        stripe_price_id=plan.stripe_price_id,
        amount=plan.price,
        currency=plan.currency,
    )
    return CoachMembership.objects.create(
        coach=coach, plan=plan, subscription=subscription, fee_bps=plan.fee_bps
    )


def membership_checkout(*, membership: CoachMembership, urls: CheckoutUrls) -> CoachMembership:
    """The pending membership's Checkout Session, made once (outside any transaction)."""
    if membership.status != MembershipStatus.PENDING:
        raise Conflict("This membership is not awaiting payment.", code="membership_not_pending")
    membership.subscription = subscriptions.subscription_start_checkout(
        subscription=membership.subscription,
        urls=urls,
        metadata={"coach_membership_id": str(membership.pk)},
    )
    return membership


def _own(membership: CoachMembership, by: User) -> None:
    if membership.coach.user_id != by.pk:
        raise NotAllowed("This is not your membership.")


def membership_cancel_at_period_end(*, membership: CoachMembership, by: User) -> CoachMembership:
    """Stop renewing: the membership (and its fee) lasts until the paid period ends."""
    _own(membership, by)
    if membership.status not in (MembershipStatus.ACTIVE, MembershipStatus.PAST_DUE):
        raise Conflict("Only a running membership can be cancelled.", code="membership_not_running")
    subscriptions.subscription_cancel_at_period_end(subscription=membership.subscription)
    membership.refresh_from_db()
    return membership


def membership_resume(*, membership: CoachMembership, by: User) -> CoachMembership:
    """Keep renewing a membership cancelled at period end (before the period ends)."""
    _own(membership, by)
    if membership.status not in (MembershipStatus.ACTIVE, MembershipStatus.PAST_DUE):
        raise Conflict("This membership has ended; subscribe again.", code="membership_ended")
    subscriptions.subscription_resume(subscription=membership.subscription)
    membership.refresh_from_db()
    return membership


def coach_subscription_fees_refresh(*, coach_id: int) -> int:
    """Give the coach's running coaching plan subscriptions the fee the coach pays now (a
    membership began or ended), for their invoices from the next one on. Outside any
    transaction; returns how many Stripe changed. Safe to run twice."""
    coach = CoachProfile.objects.select_related("user").get(pk=coach_id)
    fee_bps = coach_fee_terms(coach).fee_bps
    changed = 0
    for subscription in payment_selectors.payee_running_connect_subscriptions(coach.user):
        if subscription.application_fee_bps != fee_bps:
            subscriptions.subscription_set_application_fee(
                subscription=subscription, fee_bps=fee_bps
            )
            changed += 1
    return changed


# --- the membership purpose: following Stripe ----------------------------------------------


def lock_coach_of(subscription: Subscription) -> None:
    """The purpose's ``lock_owner``: the member's coach row, before payments locks the
    subscription."""
    coach_id = (
        CoachMembership.objects.filter(subscription_id=subscription.pk)
        .values_list("coach_id", flat=True)
        .first()
    )
    if coach_id is not None:
        list(
            CoachProfile.objects.select_for_update(of=("self",))
            .filter(pk=coach_id)
            .values_list("pk", flat=True)
        )


def membership_subscription_updated(subscription: Subscription) -> None:
    """The purpose's ``subscription_updated``: the membership's status follows its
    subscription's (``MEMBERSHIP_STATUS_OF``). Called inside payments' transaction with the
    coach and the subscription locked, on every sync: idempotent."""
    membership = (
        CoachMembership.objects.select_for_update(of=("self",))
        .filter(subscription_id=subscription.pk)
        .first()
    )
    if membership is None:
        return
    target = MEMBERSHIP_STATUS_OF.get(subscription.status)
    if target is None or target == membership.status:
        return
    if not states.machine_for(CoachMembership).allows(membership.status, target):
        logger.warning(
            "membership %s: its subscription is %s, the membership %s (final); kept",
            membership.pk,
            subscription.status,
            membership.status,
        )
        return
    if target in MEMBERSHIP_LIVE and membership.status not in MEMBERSHIP_LIVE:
        # A Checkout completed after its session had expired, while the coach had started
        # another membership: two paid subscriptions, one of which staff end and refund.
        other = _live_membership(membership.coach_id)
        if other is not None:
            alerts.staff_alert_raise(
                kind=StaffAlert.Kind.OTHER,
                message=(
                    f"{membership.coach} paid for the {membership.plan.name} membership "
                    f"(subscription {subscription.stripe_subscription_id}) while holding "
                    f"membership {other.pk}: cancel and refund one of them in Stripe."
                ),
            )
            return
    now = timezone.now()
    changes: dict[str, object] = {}
    if target == MembershipStatus.ACTIVE:
        changes["past_due_since"] = None
        if membership.started_at is None:
            changes["started_at"] = subscription.current_period_start or now
    elif target == MembershipStatus.PAST_DUE:
        changes["past_due_since"] = now
        if membership.started_at is None:
            changes["started_at"] = subscription.current_period_start or now
    elif target == MembershipStatus.ENDED:
        changes["ended_at"] = subscription.ended_at or now
    states.transition(
        membership,
        target,
        source="stripe",
        reference=subscription.stripe_subscription_id or "",
        changes=changes,
        locked=True,
    )
    # The coach's fee may have changed: their coaching plans' invoices follow it.
    enqueue(FEES_TASK, membership.coach_id)


def _membership_page(subscription: Subscription) -> str:
    """Where the payer manages the subscription (payments' e-mails about it link here)."""
    return reverse("coaches:membership")


def _lock_coach_of_payment(payment: Payment) -> None:
    """A membership invoice's payment: its coach's row, before payments locks the payment."""
    subscription = Subscription.objects.filter(invoices__payment=payment).first()
    if subscription is not None:
        lock_coach_of(subscription)


def membership_invoice_failed(invoice: Invoice) -> None:
    """The purpose's ``invoice_failed``: a renewal's attempt failed; the coach is e-mailed
    the invoice's link to pay it (once per failed attempt), after the commit."""
    if invoice.subscription_id is None:
        return
    membership = (
        CoachMembership.objects.filter(subscription_id=invoice.subscription_id)
        .select_related("coach__user", "plan")
        .first()
    )
    if membership is None:
        return
    coach = membership.coach.user
    page = settings.SITE_URL + reverse("coaches:membership")
    context = {
        "coach_name": coach.display_name,
        "plan_name": membership.plan.name,
        "amount": format_money(invoice.amount_remaining or invoice.total, invoice.currency),
        "fee": format_percent(membership.fee_bps),
        "grace_days": settings.MEMBERSHIP_PAST_DUE_GRACE_DAYS,
        "next_attempt": format_when(invoice.next_payment_attempt, coach.time_zone)
        if invoice.next_payment_attempt
        else "",
        "pay_url": invoice.hosted_invoice_url or page,
        "membership_url": page,
    }
    send_templated_email(
        to=coach.email,
        subject=f"Payment failed: your {membership.plan.name} membership",
        template="coaches_membership_payment_failed",
        context=context,
    )


def register() -> None:
    purposes.register_subscription(
        purposes.SubscriptionPurpose(
            kind=SubscriptionKind.MEMBERSHIP,
            lock_owner=lock_coach_of,
            subscription_updated=membership_subscription_updated,
            invoice_failed=membership_invoice_failed,
            billing_path=_membership_page,
        )
    )
    # A membership invoice's charge is a payment on the platform; nothing of the
    # membership changes with its refunds or disputes (Stripe's subscription says).
    purposes.register(
        purposes.Purpose(kind=PaymentKind.MEMBERSHIP, lock_owner=_lock_coach_of_payment)
    )
