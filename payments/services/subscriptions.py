"""Subscriptions: starting one on Checkout (``mode=subscription``), following Stripe's copy,
and the changes a subscriber asks for.

Payments keeps the Stripe side (``payments.Subscription``); the owner of the subscription's
purpose (a coaching plan, a platform membership) hears every change through
``payments.purposes`` (``subscription_updated``) inside the transaction that recorded it.

No transaction or lock is held across a Stripe call: a change is asked of Stripe first and
Stripe's answer is then recorded in a short transaction (``subscription_apply``), as a
webhook's re-read is. Stripe's current state is the truth, so recording an old answer after
a newer one is harmless: the next sync records the newer again.

Lock order: the purpose's owner (``purposes.lock_subscription_owner``) → subscription →
payment.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from marketplace import states
from marketplace.errors import Conflict
from marketplace.models import User
from payments import gateway, purposes
from payments.errors import stripe_errors
from payments.models import Subscription, SubscriptionStatus
from payments.services import customers
from payments.services.charges import CHECKOUT_UNAVAILABLE, CheckoutUrls

logger = logging.getLogger("payments.subscriptions")


def subscription_create(
    *,
    kind: str,
    customer_user: User,
    stripe_price_id: str,
    amount: int,
    currency: str,
    payee: User | None = None,
    application_fee_bps: int = 0,
    destination_account_id: str = "",
    on_behalf_of: str = "",
) -> Subscription:
    """Our row of a subscription about to be started on Checkout (status ``checkout``).
    Call inside the owner's transaction; its id keys the Checkout Session."""
    return Subscription.objects.create(
        kind=kind,
        customer_user=customer_user,
        payee=payee,
        stripe_price_id=stripe_price_id,
        amount=amount,
        currency=currency.lower(),
        application_fee_bps=application_fee_bps,
        destination_account_id=destination_account_id,
        on_behalf_of=on_behalf_of,
    )


def subscription_start_checkout(
    *, subscription: Subscription, urls: CheckoutUrls, metadata: dict[str, str] | None = None
) -> Subscription:
    """Make the subscription's Checkout Session (outside any transaction) and remember it.
    Idempotent (keyed by the row); raises ``PaymentProviderError`` (503) when Stripe cannot
    make it."""
    if subscription.stripe_checkout_session_id and subscription.checkout_url:
        return subscription
    customer = customers.customer_of(subscription.customer_user)
    with stripe_errors(message=CHECKOUT_UNAVAILABLE, code="payment_unavailable", status_code=503):
        session = gateway.subscription_checkout_session_create(
            idempotency_key=f"subscription-{subscription.pk}-checkout",
            price_id=subscription.stripe_price_id,
            customer_id=customer.stripe_customer_id if customer is not None else "",
            customer_email=subscription.customer_user.email,
            success_url=urls.success_url,
            cancel_url=urls.cancel_url,
            metadata={"subscription_id": str(subscription.pk), **(metadata or {})},
            application_fee_bps=(
                subscription.application_fee_bps if subscription.destination_account_id else None
            ),
            destination=subscription.destination_account_id,
            on_behalf_of=subscription.on_behalf_of,
        )
    Subscription.objects.filter(pk=subscription.pk).update(
        stripe_checkout_session_id=session.id,
        checkout_url=session.url,
        checkout_expires_at=session.expires_at,
        updated_at=timezone.now(),
    )
    subscription.refresh_from_db()
    return subscription


def subscription_for_checkout(session: gateway.CheckoutSession) -> Subscription | None:
    """Our subscription a Checkout Session was made for (by its id, else its metadata)."""
    found = Subscription.objects.filter(stripe_checkout_session_id=session.id).first()
    if found is None and session.metadata.get("subscription_id", "").isdigit():
        found = Subscription.objects.filter(pk=int(session.metadata["subscription_id"])).first()
    return found


def subscription_checkout_completed(*, session: gateway.CheckoutSession) -> Subscription | None:
    """A ``mode=subscription`` Checkout Session completed: the client's Customer is recorded,
    our row linked to Stripe's subscription and synced. None when the session is not ours."""
    subscription = subscription_for_checkout(session)
    if subscription is None:
        return None
    if session.customer_id:
        customers.customer_record(
            user=subscription.customer_user, stripe_customer_id=session.customer_id
        )
    if not session.subscription_id:
        return subscription
    if subscription.stripe_subscription_id != session.subscription_id:
        Subscription.objects.filter(pk=subscription.pk, stripe_subscription_id=None).update(
            stripe_subscription_id=session.subscription_id,
            stripe_customer_id=session.customer_id,
        )
    return subscription_sync(stripe_subscription_id=session.subscription_id)


def subscription_checkout_expired(*, session: gateway.CheckoutSession) -> Subscription | None:
    """The Checkout Session expired unpaid: there is no subscription (its owner is told)."""
    subscription = subscription_for_checkout(session)
    if subscription is None or subscription.status != SubscriptionStatus.CHECKOUT:
        return subscription
    with transaction.atomic():
        purposes.lock_subscription_owner(subscription)
        locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
        if locked.status != SubscriptionStatus.CHECKOUT:
            return locked
        states.transition(
            locked, SubscriptionStatus.CHECKOUT_EXPIRED, source="checkout_expired", locked=True
        )
        purposes.subscription_updated(locked)
        return locked


def subscription_checkout_abandon(*, subscription: Subscription) -> Subscription:
    """The subscriber chose not to pay: its open Checkout Session is expired at Stripe
    (outside any transaction) and Stripe's answer recorded: expired (the owner is told, as
    when the session times out), or completed meanwhile (the subscription it started is
    recorded: the caller re-reads the status)."""
    if subscription.status != SubscriptionStatus.CHECKOUT:
        return subscription
    if subscription.stripe_checkout_session_id:
        with stripe_errors(message=CHECKOUT_UNAVAILABLE, code="payment_unavailable"):
            gateway.checkout_session_expire(session_id=subscription.stripe_checkout_session_id)
            session = gateway.checkout_session_retrieve(subscription.stripe_checkout_session_id)
        if session.status == "complete":
            return subscription_checkout_completed(session=session) or subscription
        if session.status == "expired":
            return subscription_checkout_expired(session=session) or subscription
        return subscription
    # No session was ever made (Stripe could not be reached): nothing to expire there.
    with transaction.atomic():
        purposes.lock_subscription_owner(subscription)
        locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
        if locked.status == SubscriptionStatus.CHECKOUT:
            states.transition(
                locked, SubscriptionStatus.CHECKOUT_EXPIRED, source="abandoned", locked=True
            )
            purposes.subscription_updated(locked)
        return locked


def subscription_sync(*, stripe_subscription_id: str) -> Subscription | None:
    """Re-read a subscription from Stripe and record it (webhooks, a missed event, a poll).
    Our row is found by Stripe's id, else through the subscription's metadata
    (``subscription_id``: made by our Checkout Session) and linked. None when it is not
    ours."""
    with stripe_errors():
        snapshot = gateway.subscription_retrieve(stripe_subscription_id)
    subscription = Subscription.objects.filter(stripe_subscription_id=snapshot.id).first()
    if subscription is None:
        ours = snapshot.metadata.get("subscription_id", "")
        if not ours.isdigit():
            return None
        Subscription.objects.filter(pk=int(ours), stripe_subscription_id=None).update(
            stripe_subscription_id=snapshot.id
        )
        subscription = Subscription.objects.filter(stripe_subscription_id=snapshot.id).first()
        if subscription is None:
            return None
    return subscription_apply(subscription=subscription, snapshot=snapshot)


def subscription_apply(
    *, subscription: Subscription, snapshot: gateway.SubscriptionSnapshot
) -> Subscription:
    """Record Stripe's state of the subscription and tell its owner, in one transaction.
    Locks the owner → the subscription."""
    with transaction.atomic():
        purposes.lock_subscription_owner(subscription)
        locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
        fields = {
            "stripe_customer_id": snapshot.customer_id or locked.stripe_customer_id,
            "stripe_price_id": snapshot.price_id or locked.stripe_price_id,
            "amount": snapshot.amount or locked.amount,
            "current_period_start": snapshot.current_period_start,
            "current_period_end": snapshot.current_period_end,
            "cancel_at_period_end": snapshot.cancel_at_period_end,
            "pause_collection": snapshot.pause_collection,
            "canceled_at": snapshot.canceled_at,
            "ended_at": snapshot.ended_at,
            "latest_invoice_id": snapshot.latest_invoice_id,
        }
        changed = [name for name, value in fields.items() if getattr(locked, name) != value]
        for name in changed:
            setattr(locked, name, fields[name])
        if changed:
            locked.save(update_fields=[*changed, "updated_at"])
        machine = states.machine_for(Subscription)
        if snapshot.status and snapshot.status != locked.status:
            if machine.allows(locked.status, snapshot.status):
                states.transition(locked, snapshot.status, source="stripe", locked=True)
            else:
                logger.warning(
                    "subscription %s: Stripe says %s, ours is %s (final); kept",
                    locked.pk,
                    snapshot.status,
                    locked.status,
                )
        purposes.subscription_updated(locked)
        return locked


def _update(*, subscription: Subscription, params: dict[str, object], message: str) -> Subscription:
    """Ask Stripe for a change of the subscription, then record Stripe's answer. Each request
    has its own idempotency key (``subscription-<id>-update-<n>``)."""
    if not subscription.stripe_subscription_id:
        raise Conflict("This subscription has not started.", code="subscription_not_started")
    Subscription.objects.filter(pk=subscription.pk).update(
        updates_requested=F("updates_requested") + 1
    )
    sequence = Subscription.objects.values_list("updates_requested", flat=True).get(
        pk=subscription.pk
    )
    with stripe_errors(message=message, code="subscription_change_failed"):
        snapshot = gateway.subscription_update(
            subscription_id=subscription.stripe_subscription_id,
            idempotency_key=f"subscription-{subscription.pk}-update-{sequence}",
            params=params,
        )
    return subscription_apply(subscription=subscription, snapshot=snapshot)


def subscription_cancel_at_period_end(*, subscription: Subscription) -> Subscription:
    """Stop renewing: the subscription ends when the paid period does."""
    return _update(
        subscription=subscription,
        params=gateway.cancel_at_period_end_params(True),
        message="Stripe could not cancel the subscription; please try again.",
    )


def subscription_resume(*, subscription: Subscription) -> Subscription:
    """Undo a cancellation at period end (before the period ends), or resume a paused
    collection."""
    params: dict[str, object] = {}
    if subscription.cancel_at_period_end:
        params.update(gateway.cancel_at_period_end_params(False))
    if subscription.pause_collection:
        params.update(gateway.pause_params(None))
    if not params:
        return subscription
    return _update(
        subscription=subscription,
        params=params,
        message="Stripe could not resume the subscription; please try again.",
    )


def subscription_set_application_fee(*, subscription: Subscription, fee_bps: int) -> Subscription:
    """The platform's fee on a Connect subscription's invoices from the next one on (its
    payee's fee changed: a platform membership began or ended). Outside any transaction; a
    subscription that is not running, pays the platform alone or has that fee already is
    left as it is."""
    if (
        not subscription.destination_account_id
        or not subscription.stripe_subscription_id
        or not subscription.is_running
        or subscription.application_fee_bps == fee_bps
    ):
        return subscription
    updated = _update(
        subscription=subscription,
        params=gateway.application_fee_params(fee_bps),
        message="Stripe could not change the subscription's fee; please try again.",
    )
    Subscription.objects.filter(pk=subscription.pk).update(application_fee_bps=fee_bps)
    updated.application_fee_bps = fee_bps
    return updated


def subscription_pause(*, subscription: Subscription) -> Subscription:
    """Pause collection: Stripe voids the invoices of the paused periods (nothing is charged,
    nothing granted) until it is resumed."""
    return _update(
        subscription=subscription,
        params=gateway.pause_params("void"),
        message="Stripe could not pause the subscription; please try again.",
    )


def subscription_change_price(*, subscription: Subscription, stripe_price_id: str) -> Subscription:
    """Move the subscription to another Price of the same payee: Stripe prorates the rest of
    the period and invoices the difference at once."""
    with stripe_errors():
        current = gateway.subscription_retrieve(subscription.stripe_subscription_id or "")
    return _update(
        subscription=subscription,
        params=gateway.price_change_params(item_id=current.item_id, price_id=stripe_price_id),
        message="Stripe could not change the plan; please try again.",
    )


def subscription_cancel_now(*, subscription: Subscription) -> Subscription:
    """End the subscription at once (staff, or a coach who can no longer be paid)."""
    if not subscription.stripe_subscription_id:
        raise Conflict("This subscription has not started.", code="subscription_not_started")
    with stripe_errors():
        snapshot = gateway.subscription_cancel_now(
            subscription_id=subscription.stripe_subscription_id,
            idempotency_key=f"subscription-{subscription.pk}-cancel",
        )
    return subscription_apply(subscription=subscription, snapshot=snapshot)


def subscription_poll(*, subscription_id: int) -> Subscription | None:
    """Re-read a subscription a webhook may have been lost for (``payments.selectors.
    subscriptions_due_for_poll``): its Checkout Session when it has not started, else the
    subscription. Marks it read (``updated_at``) so it is not polled again for a while; its
    latest invoice is re-read by the caller."""
    subscription = Subscription.objects.filter(pk=subscription_id).first()
    if subscription is None:
        return None
    Subscription.objects.filter(pk=subscription.pk).update(updated_at=timezone.now())
    if subscription.status == SubscriptionStatus.CHECKOUT:
        with stripe_errors():
            session = gateway.checkout_session_retrieve(
                subscription.stripe_checkout_session_id or ""
            )
        if session.status == "complete":
            return subscription_checkout_completed(session=session)
        if session.status == "expired":
            return subscription_checkout_expired(session=session)
        return subscription
    if not subscription.stripe_subscription_id:
        return subscription
    return subscription_sync(stripe_subscription_id=subscription.stripe_subscription_id)
