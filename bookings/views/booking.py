"""One booking's page and its actions: cancel, reschedule, complete, no-show, raise an
issue; the receipt."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from bookings import selectors
from bookings.forms import CancelForm, IssueForm, RescheduleForm
from bookings.models import Booking, BookingStatus
from bookings.notifications import local_time
from bookings.services import after_session, cancellation, holds, rescheduling
from bookings.views.common import booking_or_404
from coaches.selectors import coach_slot_week
from marketplace.errors import DomainError
from marketplace.money import format_money
from marketplace.timeparse import parse_day
from payments.models import Payment


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    booking = booking_or_404(request, pk)
    if booking.status == BookingStatus.RESCHEDULED and hasattr(booking, "rescheduled_to"):
        return redirect("bookings:detail", pk=booking.rescheduled_to.pk)
    is_client = booking.client_id == request.user.pk
    is_coach = booking.coach.user_id == request.user.pk
    now = timezone.now()
    payment = selectors.booking_payment(booking)
    context = {
        **_next_actions(booking, payment, is_client=is_client, now=now),
        "booking": booking,
        "money": selectors.booking_money_state(payment),
        "is_client": is_client,
        "is_coach": is_coach,
        "client_when": local_time(booking.starts_at, booking.client_time_zone),
        "coach_when": local_time(booking.starts_at, booking.coach.time_zone),
        "payment": payment,
        "refund_terms": selectors.refund_terms(booking=booking, now=now)
        if booking.status == BookingStatus.CONFIRMED
        else None,
        "disputed": selectors.payment_is_disputed(booking),
        "disputed_note": selectors.DISPUTED_REFUND_NOTE,
        "coach_cancel_terms": selectors.coach_cancellation_terms(booking=booking)
        if is_coach and booking.status == BookingStatus.CONFIRMED
        else "",
        "policy": selectors.policy_summary(booking.coach),
        "can_change": booking.status == BookingStatus.CONFIRMED and booking.starts_at > now,
        "can_mark": booking.status == BookingStatus.CONFIRMED and booking.ends_at <= now,
        "can_raise_issue": is_client
        and booking.status in (BookingStatus.CONFIRMED, BookingStatus.COMPLETED)
        and booking.ends_at <= now
        and not booking.has_open_issue,
        "cancel_form": CancelForm(),
        "issue_form": IssueForm(),
    }
    return render(request, "bookings/detail.html", context)


def _next_actions(
    booking: Booking, payment: Payment | None, *, is_client: bool, now: datetime
) -> dict:
    """What the booking's page offers next: a live hold's way to pay or release, with its
    time left; the refunds a cancellation made."""
    hold_live = (
        booking.status == BookingStatus.HELD
        and booking.hold_expires_at is not None
        and booking.hold_expires_at > now
    )
    refunds = []
    if payment is not None and booking.status in (
        BookingStatus.CANCELLED_BY_CLIENT,
        BookingStatus.CANCELLED_BY_COACH,
        BookingStatus.NO_SHOW,
        BookingStatus.EXPIRED,
    ):
        refunds = [
            {"amount": format_money(refund.amount, refund.currency), "refund": refund}
            for refund in payment.refunds.order_by("created_at")
        ]
    return {
        "hold_live": hold_live and is_client,
        "hold_minutes_left": max(1, int((booking.hold_expires_at - now).total_seconds() // 60))
        if hold_live and booking.hold_expires_at
        else 0,
        "hold_until": local_time(booking.hold_expires_at, booking.client_time_zone)
        if hold_live and booking.hold_expires_at
        else "",
        "refunds": refunds,
    }


def _form_errors(form: forms.Form) -> str:
    return " ".join(str(error) for errors in form.errors.values() for error in errors)


def _act(request: HttpRequest, pk: int, action) -> HttpResponse:
    booking = booking_or_404(request, pk)
    try:
        result = action(booking)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("bookings:detail", pk=booking.pk)
    return redirect("bookings:detail", pk=(result or booking).pk)


@login_required
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: what cancelling now would refund, to confirm; POST: cancel."""
    booking = booking_or_404(request, pk)
    if request.method != "POST":
        if booking.status != BookingStatus.CONFIRMED or booking.starts_at <= timezone.now():
            messages.error(request, "This session can no longer be cancelled here.")
            return redirect("bookings:detail", pk=booking.pk)
        return render(
            request,
            "bookings/cancel.html",
            {
                "booking": booking,
                "is_coach": booking.coach.user_id == request.user.pk,
                "preview": cancellation.cancellation_preview(booking=booking, by=request.user),  # type: ignore[arg-type]
                "when": local_time(booking.starts_at, _viewer_zone(request, booking)),
                "form": CancelForm(),
            },
        )
    form = CancelForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect("bookings:detail", pk=booking.pk)
    reason = form.cleaned_data["reason"]

    def action(booking: Booking) -> Booking:
        cancelled = cancellation.booking_cancel(booking=booking, by=request.user, reason=reason)  # type: ignore[arg-type]
        messages.success(request, "The session is cancelled.")
        return cancelled

    return _act(request, pk, action)


@login_required
@require_POST
def release(request: HttpRequest, pk: int) -> HttpResponse:
    """The client gives back a time held for them and not paid."""

    def action(booking: Booking) -> Booking:
        released = holds.booking_release(booking=booking, by=request.user)  # type: ignore[arg-type]
        messages.success(request, "The time is released; it is free for others again.")
        return released

    return _act(request, pk, action)


def _viewer_zone(request: HttpRequest, booking: Booking) -> str:
    return (
        booking.client_time_zone
        if booking.client_id == request.user.pk
        else booking.coach.time_zone
    )


@login_required
def reschedule(request: HttpRequest, pk: int) -> HttpResponse:
    booking = booking_or_404(request, pk)
    zone = (
        booking.client_time_zone
        if booking.client_id == request.user.pk
        else booking.coach.time_zone
    )
    form = RescheduleForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            moved = rescheduling.booking_reschedule(
                booking=booking,
                by=request.user,  # type: ignore[arg-type]
                starts_at=form.cleaned_data["starts_at"],
            )
        except DomainError as failure:
            error = failure.message
        else:
            messages.success(request, "The session is moved.")
            return redirect("bookings:detail", pk=moved.pk)
    week_of = (
        _query_day(request.GET.get("week")) or booking.starts_at.astimezone(ZoneInfo(zone)).date()
    )
    week = coach_slot_week(
        coach=booking.coach, session_type=booking.session_type, zone=zone, week_of=week_of
    )
    return render(
        request,
        "bookings/reschedule.html",
        {
            "booking": booking,
            "form": form,
            "error": error,
            "week": week,
            "zone": zone,
            "current_when": local_time(booking.starts_at, zone),
            "nav_url": reverse("bookings:reschedule", args=[booking.pk]),
        },
        status=409 if error else 200,
    )


def _query_day(value: str | None) -> date | None:
    """A ``YYYY-MM-DD`` day from a calendar link; None when absent or not a day the parser
    takes (the calendar then opens on this week)."""
    try:
        return parse_day(value or "", field="week")
    except DomainError:
        return None


@login_required
@require_POST
def complete(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda booking: after_session.booking_complete(booking=booking, by=request.user),  # type: ignore[arg-type]
    )


@login_required
@require_POST
def no_show(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda booking: after_session.booking_mark_no_show(booking=booking, by=request.user),  # type: ignore[arg-type]
    )


@login_required
@require_POST
def raise_issue(request: HttpRequest, pk: int) -> HttpResponse:
    form = IssueForm(request.POST)
    if not form.is_valid():
        booking = booking_or_404(request, pk)
        messages.error(request, _form_errors(form))
        return redirect("bookings:detail", pk=booking.pk)
    description = form.cleaned_data["description"]
    return _act(
        request,
        pk,
        lambda booking: after_session.booking_raise_issue(
            booking=booking,
            by=request.user,  # type: ignore[arg-type]
            description=description,
        ),
    )


@login_required
def receipt(request: HttpRequest, pk: int) -> HttpResponse:
    booking = booking_or_404(request, pk)
    payment = selectors.booking_payment(booking)
    if payment is None or payment.status in ("pending", "cancelled", "failed"):
        raise Http404("No receipt for this booking.")
    refunds = [
        {"amount": format_money(r.amount, r.currency), "refund": r}
        for r in payment.refunds.filter(status="succeeded")
    ]
    # The client's and the coach's own zones for the session; staff read it in theirs.
    if booking.client_id == request.user.pk:
        zone = booking.client_time_zone
    elif booking.coach.user_id == request.user.pk:
        zone = booking.coach.time_zone
    else:
        zone = request.viewer_time_zone  # type: ignore[attr-defined]
    return render(
        request,
        "bookings/receipt.html",
        {
            "booking": booking,
            "payment": payment,
            "total": format_money(payment.amount, payment.currency),
            "refunded": format_money(payment.refunded_amount, payment.currency),
            "refunds": refunds,
            "when": local_time(booking.starts_at, zone),
            "zone": zone,
        },
    )
