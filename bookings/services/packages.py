"""Packages: buying several sessions at once, the purchase's payment, and refunding the
sessions not used. Sessions are booked against a purchase with ``holds.booking_hold``.

Lock order: coach → package purchase → payment.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from bookings.models import Package, PackagePurchase, PackagePurchaseStatus
from bookings.selectors import package_sessions_used
from bookings.services.holds import lock_coach
from coaches.selectors import coach_fee_split
from marketplace import states
from marketplace.errors import Conflict, DomainError, NotAllowed
from marketplace.models import User
from payments import selectors as payment_selectors
from payments.models import Payment, PaymentKind, PaymentStatus, Refund
from payments.services import charges, refunds


def package_purchase_start(
    *, client: User, package: Package, urls: charges.CheckoutUrls
) -> tuple[PackagePurchase, Payment]:
    """Buy a package: a pending purchase and a Checkout Session charged on the platform
    (``PaymentProviderError``, 503, when Stripe cannot make it)."""
    if not package.is_active:
        raise DomainError("This package is not offered any more.", code="package_inactive")
    with transaction.atomic():
        coach = lock_coach(package.coach_id)
        if not coach.is_bookable:
            raise Conflict("This coach cannot be booked right now.", code="coach_not_bookable")
        fee, coach_amount = coach_fee_split(coach=coach, total=package.price)
        purchase = PackagePurchase.objects.create(
            package=package,
            client=client,
            coach=coach,
            session_count=package.session_count,
            price=package.price,
            application_fee=fee,
            coach_amount=coach_amount,
            currency=package.currency.lower(),
        )
        payment = charges.payment_create(
            kind=PaymentKind.PACKAGE,
            client=client,
            coach_user=coach.user,
            amount=purchase.price,
            application_fee=purchase.application_fee,
            currency=purchase.currency,
            package_purchase_id=purchase.pk,
        )
    payment = charges.payment_start_checkout(
        payment=payment,
        product_name=f"{package.name} with {coach.user.display_name}",
        urls=urls,
    )
    return purchase, payment


def lock_purchase_of(payment: Payment) -> PackagePurchase | None:
    """The package purchase a payment is for, locked (the package purpose's owner lock)."""
    if payment.package_purchase_id is None:
        return None
    return PackagePurchase.objects.select_for_update().get(pk=payment.package_purchase_id)


def package_purchase_paid(*, payment: Payment) -> PackagePurchase | None:
    """The package's payment succeeded: its sessions can be booked. Idempotent."""
    with transaction.atomic():
        purchase = lock_purchase_of(payment)
        if purchase is not None and purchase.status in (
            PackagePurchaseStatus.PENDING,
            PackagePurchaseStatus.EXPIRED,
        ):
            states.transition(
                purchase,
                PackagePurchaseStatus.ACTIVE,
                source="payment",
                changes={"paid_at": timezone.now()},
                locked=True,
            )
        return purchase


def package_purchase_expire(*, payment: Payment) -> PackagePurchase | None:
    """The package's Checkout Session expired unpaid: the purchase and its payment end.
    Locks package purchase → payment."""
    with transaction.atomic():
        purchase = lock_purchase_of(payment)
        cancelled = charges.payment_cancel_pending(payment_id=payment.pk)
        if purchase is None or cancelled.status != PaymentStatus.CANCELLED:
            return None
        if purchase.status == PackagePurchaseStatus.PENDING:
            states.transition(
                purchase, PackagePurchaseStatus.EXPIRED, source="checkout_expired", locked=True
            )
        return purchase


def package_refund_unused(*, purchase: PackagePurchase, by: User) -> Refund | None:
    """Refund the sessions of a package not used yet: the package price less the price share
    of the sessions used. The coach was not paid for them (transfers follow completions);
    a package paid to the coach at purchase gets the refunded part back from the coach
    (the transfer reversed in proportion, with the application fee). Locks package purchase
    → payment."""
    with transaction.atomic():
        locked = PackagePurchase.objects.select_for_update().get(pk=purchase.pk)
        if by.pk != locked.client_id and not by.is_staff:
            raise NotAllowed("This package is not yours.")
        if locked.status != PackagePurchaseStatus.ACTIVE:
            raise Conflict("Nothing to refund on this package.", code="package_not_active")
        used = package_sessions_used(locked)
        unused = locked.session_count - locked.sessions_refunded - used
        if unused <= 0:
            raise Conflict("Every session of this package is used.", code="package_used_up")
        price_share = locked.price // locked.session_count
        amount = locked.price - price_share * used
        refund = refunds.refund_request(
            payment=payment_selectors.payment_of_package(locked.pk),
            amount=amount,
            reason=Refund.Reason.PACKAGE_UNUSED,
            refund_application_fee=True,
            requested_by=by,
        )
        states.transition(
            locked,
            PackagePurchaseStatus.REFUNDED,
            by=by,
            source="refund_unused",
            changes={"sessions_refunded": locked.sessions_refunded + unused},
            locked=True,
        )
        return refund
