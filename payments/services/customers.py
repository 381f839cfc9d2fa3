"""Stripe Customers: one per client, made by Checkout on their first payment and recorded
from the completed session; it holds the cards the client chose to save."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from marketplace.models import User
from payments.models import Customer


def customer_of(user: User) -> Customer | None:
    """The client's Stripe Customer, or None before their first payment."""
    return Customer.objects.filter(user=user).first()


def customer_by_stripe_id(stripe_customer_id: str) -> Customer | None:
    """Our record of a Stripe Customer, or None (not a client's, or not recorded yet)."""
    if not stripe_customer_id:
        return None
    return Customer.objects.filter(stripe_customer_id=stripe_customer_id).first()


def stripe_customer_id_of(user: User) -> str:
    """The id of the client's Stripe Customer; empty before their first payment."""
    return (
        Customer.objects.filter(user_id=user.pk)
        .values_list("stripe_customer_id", flat=True)
        .first()
        or ""
    )


def customer_record(*, user: User, stripe_customer_id: str, email: str = "") -> Customer:
    """Keep ``stripe_customer_id`` as the client's Customer (a completed Checkout Session
    names it). Idempotent; the first Customer recorded stays the client's one."""
    existing = customer_of(user)
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return Customer.objects.create(
                user=user, stripe_customer_id=stripe_customer_id, email=email or user.email
            )
    except IntegrityError:
        # Recorded meanwhile by another event of the same checkout.
        return Customer.objects.get(user=user)
