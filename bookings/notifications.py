"""Booking e-mails: rendered from ``templates/emails/bookings_*.txt`` and sent by Celery
after the surrounding transaction commits (``marketplace.emails.send_templated_email``).

Times are shown in each recipient's time zone, with its name.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.urls import reverse

from bookings.ical import booking_attachment
from marketplace.dates import format_when
from marketplace.emails import send_templated_email
from marketplace.models import EmailKind
from marketplace.money import format_money
from marketplace.preferences import email_recipients_allowed

if TYPE_CHECKING:
    from bookings.models import Booking, PlanSubscription
    from payments.models import Invoice, Refund


def local_time(moment: datetime, zone_name: str) -> str:
    """The moment in the zone, with the zone's name, in the reader's locale."""
    return format_when(moment, zone_name)


def _context(booking: Booking, *, for_coach: bool) -> dict:
    zone = booking.coach.time_zone if for_coach else booking.client_time_zone
    return {
        "booking": booking,
        "coach_name": booking.coach.user.display_name,
        "client_name": booking.client.display_name,
        "session_name": booking.session_type.name,
        "when": local_time(booking.starts_at, zone),
        "meeting_url": booking.meeting_url,
        "booking_url": f"{settings.SITE_URL}{booking.get_absolute_url()}",
        "for_coach": for_coach,
    }


def booking_confirmed(booking: Booking) -> None:
    for user, for_coach in ((booking.client, False), (booking.coach.user, True)):
        context = _context(booking, for_coach=for_coach)
        send_templated_email(
            to=user.email,
            subject=f"Confirmed: {booking.session_type.name} on {context['when']}",
            template="bookings_confirmed",
            context=context,
            attachments=[booking_attachment(booking, for_user_id=user.pk)],
        )


def hold_expired(booking: Booking) -> None:
    send_templated_email(
        to=booking.client.email,
        subject="Your hold expired",
        template="bookings_hold_expired",
        context=_context(booking, for_coach=False),
    )


def slot_lost_refund(booking: Booking, refund: Refund | None) -> None:
    context = _context(booking, for_coach=False)
    context["refund_amount"] = format_money(refund.amount, refund.currency) if refund else ""
    send_templated_email(
        to=booking.client.email,
        subject="Your payment is refunded: the time was taken",
        template="bookings_slot_lost",
        context=context,
    )


def booking_cancelled(
    booking: Booking, *, refund: Refund | None, by_client: bool, refund_note: str = ""
) -> None:
    """``refund_note`` says why no money is refunded (the policy, a dispute, a package)."""
    for user, for_coach in ((booking.client, False), (booking.coach.user, True)):
        context = _context(booking, for_coach=for_coach)
        context["by_client"] = by_client
        context["refund_note"] = refund_note
        context["refund_amount"] = format_money(refund.amount, refund.currency) if refund else ""
        send_templated_email(
            to=user.email,
            subject=f"Cancelled: {booking.session_type.name}",
            template="bookings_cancelled",
            context=context,
            attachments=[booking_attachment(booking, for_user_id=user.pk)],
        )


def booking_rescheduled(booking: Booking, *, previous_starts_at: datetime) -> None:
    for user, for_coach in ((booking.client, False), (booking.coach.user, True)):
        context = _context(booking, for_coach=for_coach)
        zone = booking.coach.time_zone if for_coach else booking.client_time_zone
        context["previous_when"] = local_time(previous_starts_at, zone)
        send_templated_email(
            to=user.email,
            subject=f"Rescheduled: {booking.session_type.name}",
            template="bookings_rescheduled",
            context=context,
            attachments=[booking_attachment(booking, for_user_id=user.pk)],
        )


def reminder(booking: Booking, *, hours: int) -> None:
    """Reminders are optional: someone who turned them off in the account settings gets none."""
    wanted = email_recipients_allowed(
        [booking.client, booking.coach.user], EmailKind.SESSION_REMINDERS
    )
    for user, for_coach in ((booking.client, False), (booking.coach.user, True)):
        if user not in wanted:
            continue
        context = _context(booking, for_coach=for_coach)
        context["hours"] = hours
        send_templated_email(
            to=user.email,
            subject=f"In {hours} hour{'s' if hours != 1 else ''}: {booking.session_type.name}",
            template="bookings_reminder",
            context=context,
        )


def refund_sent(refund: Refund) -> None:
    send_templated_email(
        to=refund.payment.client.email,
        subject=f"Refund of {format_money(refund.amount, refund.currency)}",
        template="bookings_refund",
        context={"amount": format_money(refund.amount, refund.currency), "refund": refund},
    )


def refund_failed(refund: Refund) -> None:
    send_templated_email(
        to=refund.payment.client.email,
        subject=f"Your refund of {format_money(refund.amount, refund.currency)} did not go through",
        template="bookings_refund_failed",
        context={"amount": format_money(refund.amount, refund.currency), "refund": refund},
    )


def issue_raised(booking: Booking) -> None:
    if settings.STAFF_ALERT_EMAILS:
        context = _context(booking, for_coach=True)
        context["description"] = booking.issue_description
        send_templated_email(
            to=list(settings.STAFF_ALERT_EMAILS),
            subject=f"Issue raised on booking {booking.pk}",
            template="bookings_issue_raised",
            context=context,
        )


# --- coaching plans ------------------------------------------------------------------------


def _plan_context(plan_subscription: PlanSubscription) -> dict:
    plan = plan_subscription.plan
    return {
        "client_name": plan_subscription.client.display_name,
        "coach_name": plan_subscription.coach.user.display_name,
        "plan_name": plan.name,
        "plan_price": format_money(plan.price, plan.currency),
        "interval": plan.get_interval_display().lower(),
        "billing_url": f"{settings.SITE_URL}{reverse('bookings:billing')}",
    }


def plan_payment_failed(plan_subscription: PlanSubscription, invoice: Invoice) -> None:
    context = _plan_context(plan_subscription)
    context["amount"] = format_money(invoice.amount_remaining or invoice.total, invoice.currency)
    context["pay_url"] = invoice.hosted_invoice_url or context["billing_url"]
    context["next_attempt"] = (
        format_when(invoice.next_payment_attempt, plan_subscription.client.time_zone)
        if invoice.next_payment_attempt
        else ""
    )
    send_templated_email(
        to=plan_subscription.client.email,
        subject=f"Payment failed: {plan_subscription.plan.name}",
        template="bookings_plan_payment_failed",
        context=context,
    )


def plan_restored(plan_subscription: PlanSubscription) -> None:
    send_templated_email(
        to=plan_subscription.client.email,
        subject=f"Paid: {plan_subscription.plan.name} is active again",
        template="bookings_plan_restored",
        context=_plan_context(plan_subscription),
    )


def plan_ended(plan_subscription: PlanSubscription) -> None:
    for user, for_coach in (
        (plan_subscription.client, False),
        (plan_subscription.coach.user, True),
    ):
        context = _plan_context(plan_subscription)
        context["for_coach"] = for_coach
        send_templated_email(
            to=user.email,
            subject=f"Ended: {plan_subscription.plan.name}",
            template="bookings_plan_ended",
            context=context,
        )


def plan_paused_by_platform(plan_subscription: PlanSubscription, reason: str) -> None:
    context = _plan_context(plan_subscription)
    context["reason"] = reason
    send_templated_email(
        to=plan_subscription.client.email,
        subject=f"Paused: {plan_subscription.plan.name}",
        template="bookings_plan_paused",
        context=context,
    )
