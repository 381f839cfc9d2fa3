"""Bookings pages: the journey (topic -> review -> pay -> confirmed), dashboards, feeds.

Views are thin: parse input, check who may see what (``booking_for_user`` gives 404 to
everyone else), call one service, render. Domain errors become form errors or messages.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast
from zoneinfo import ZoneInfo, available_timezones

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_POST

from bookings import ical, selectors
from bookings.forms import CancelForm, IssueForm, PolicyForm, RescheduleForm, TopicForm
from bookings.models import (
    Booking,
    BookingStatus,
    CalendarFeed,
    CancellationPolicy,
    Package,
    PackagePurchase,
)
from bookings.notifications import local_time
from bookings.services import (
    after_session,
    calendar,
    cancellation,
    checkout,
    holds,
    packages,
    rescheduling,
)
from coaches.models import CoachProfile, SessionType
from coaches.selectors import available_slots
from marketplace.errors import DomainError
from marketplace.models import User
from marketplace.money import format_money

DRAFT_KEY = "booking_draft"


def _parse_start(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = parse_datetime(value.replace(" ", "+"))
    if moment is None or moment.tzinfo is None:
        return None
    return moment.astimezone(ZoneInfo("UTC"))


def _user(request: HttpRequest) -> User:
    """The signed-in user (the views below are all ``login_required``)."""
    return cast(User, request.user)


def _booking_for(request: HttpRequest, pk: int) -> Booking:
    """The booking if the signed-in user is its client, its coach or staff; 404 otherwise."""
    try:
        return selectors.booking_for_user(user=request.user, booking_id=pk)  # type: ignore[arg-type]
    except DomainError as error:
        raise Http404(error.message) from error


def _known_zone(name: str | None) -> str:
    return name if name and name in available_timezones() else ""


def _zone_of(request: HttpRequest) -> str:
    return getattr(request.user, "time_zone", "") or "UTC"


def _checkout_urls(request: HttpRequest, booking: Booking) -> checkout.CheckoutUrls:
    return checkout.CheckoutUrls(
        success_url=request.build_absolute_uri(reverse("bookings:paid", args=[booking.pk]))
        + "?session_id={CHECKOUT_SESSION_ID}",
        cancel_url=request.build_absolute_uri(reverse("bookings:pay", args=[booking.pk])),
    )


def _slot_context(session_type: SessionType, starts_at: datetime, client_zone: str) -> dict:
    coach = session_type.coach
    return {
        "coach": coach,
        "session_type": session_type,
        "starts_at": starts_at,
        "client_when": local_time(starts_at, client_zone),
        "coach_when": local_time(starts_at, coach.time_zone),
        "price": format_money(session_type.price, session_type.currency),
        "policy": selectors.policy_summary(coach),
    }


def _draft_slot(request: HttpRequest) -> tuple[SessionType, datetime, dict]:
    draft = request.session.get(DRAFT_KEY) or {}
    starts_at = _parse_start(draft.get("start"))
    session_type = (
        SessionType.objects.select_related("coach__user")
        .filter(pk=int(draft.get("session_type") or 0), is_active=True)
        .first()
    )
    if session_type is None or starts_at is None:
        raise Http404("Pick a time on a coach's profile first.")
    return session_type, starts_at, draft


# --- the journey -----------------------------------------------------------------------------


@login_required
def new_booking(request: HttpRequest) -> HttpResponse:
    """Step 1: what the client wants to work on, for the slot picked on the profile."""
    session_type_id = request.GET.get("session_type") or request.POST.get("session_type")
    starts_at = _parse_start(request.GET.get("start") or request.POST.get("start"))
    session_type = (
        SessionType.objects.select_related("coach__user")
        .filter(
            pk=int(session_type_id) if session_type_id and session_type_id.isdigit() else 0,
            is_active=True,
        )
        .first()
    )
    if session_type is None or starts_at is None:
        return render(
            request,
            "bookings/invalid_slot.html",
            {"message": "That link does not name a session type and a start time."},
            status=400,
        )
    zone = _known_zone(request.POST.get("client_time_zone") or request.GET.get("tz")) or _zone_of(
        request
    )
    if request.method == "POST":
        form = TopicForm(request.POST)
        if form.is_valid():
            request.session[DRAFT_KEY] = {
                "session_type": session_type.pk,
                "start": starts_at.isoformat(),
                "topic": form.cleaned_data["topic"],
                "client_time_zone": form.cleaned_data["client_time_zone"] or zone,
            }
            return redirect("bookings:review")
    else:
        form = TopicForm(initial={"client_time_zone": ""})
    context = _slot_context(session_type, starts_at, zone)
    context["form"] = form
    context["zone_known"] = "tz" in request.GET or request.method == "POST"
    return render(request, "bookings/new.html", context)


@login_required
def review(request: HttpRequest) -> HttpResponse:
    """Step 2: price, coach, the time in both zones, the policy; "Pay" holds and goes to
    Checkout."""
    session_type, starts_at, draft = _draft_slot(request)
    zone = draft.get("client_time_zone") or _zone_of(request)
    context = _slot_context(session_type, starts_at, zone)
    context["topic"] = draft.get("topic", "")
    context["packages_owned"] = [
        {"purchase": purchase, "left": left}
        for purchase in PackagePurchase.objects.filter(
            client_id=request.user.pk,
            status="active",
            package__session_type=session_type,
        ).select_related("package")
        if (
            left := purchase.session_count
            - purchase.sessions_refunded
            - selectors.package_sessions_used(purchase)
        )
        > 0
    ]
    context["packages_for_sale"] = [
        {"package": package, "price": format_money(package.price, package.currency)}
        for package in Package.objects.filter(session_type=session_type, is_active=True)
    ]
    if request.method == "POST" and request.POST.get("use_package"):
        purchase = PackagePurchase.objects.filter(
            pk=int(request.POST["use_package"]) if request.POST["use_package"].isdigit() else 0,
            client_id=request.user.pk,
        ).first()
        if purchase is None:
            raise Http404("No such package.")
        try:
            booking = holds.booking_hold(
                client=_user(request),
                session_type=session_type,
                starts_at=starts_at,
                topic=draft.get("topic", ""),
                client_time_zone=zone,
                package_purchase=purchase,
            )
        except DomainError as error:
            context["error"] = error.message
            return render(request, "bookings/review.html", context, status=error.status_code)
        request.session.pop(DRAFT_KEY, None)
        messages.success(request, "Booked with your package.")
        return redirect("bookings:detail", pk=booking.pk)
    if request.method == "POST":
        try:
            _booking, payment = checkout.booking_book(
                client=request.user,  # type: ignore[arg-type]
                session_type=session_type,
                starts_at=starts_at,
                topic=draft.get("topic", ""),
                client_time_zone=zone,
                urls_for=lambda booking: _checkout_urls(request, booking),
            )
        except holds.SlotTaken as error:
            context["error"] = error.message
            context["nearest"] = [
                {
                    "start": slot.isoformat(),
                    "label": local_time(slot, zone),
                }
                for slot in error.nearest
            ]
            return render(request, "bookings/review.html", context, status=409)
        except DomainError as error:
            context["error"] = error.message
            return render(request, "bookings/review.html", context, status=error.status_code)
        request.session.pop(DRAFT_KEY, None)
        return HttpResponseRedirect(payment.checkout_url, status=303)
    return render(request, "bookings/review.html", context)


@login_required
def pay(request: HttpRequest, pk: int) -> HttpResponse:
    """Where Checkout's "back" lands: the review of a live hold, with the way back to pay
    and why the last attempt failed (a declined card keeps the hold)."""
    booking = _booking_for(request, pk)
    if booking.client_id != request.user.pk:
        raise Http404
    payment = selectors.booking_payment(booking)
    context = _slot_context(booking.session_type, booking.starts_at, booking.client_time_zone)
    context.update(
        {
            "booking": booking,
            "payment": payment,
            "hold_expires": local_time(booking.hold_expires_at, booking.client_time_zone)
            if booking.hold_expires_at
            else "",
        }
    )
    return render(request, "bookings/pay.html", context)


@login_required
def paid(request: HttpRequest, pk: int) -> HttpResponse:
    """Checkout's success URL: shows "confirming..." until the webhook confirms. It never
    confirms anything itself."""
    booking = _booking_for(request, pk)
    return render(request, "bookings/paid.html", {"booking": booking})


@login_required
def status_fragment(request: HttpRequest, pk: int) -> HttpResponse:
    """The booking's status, polled by htmx from the success page until it is final."""
    booking = _booking_for(request, pk)
    return render(
        request,
        "bookings/_status.html",
        {"booking": booking, "payment": selectors.booking_payment(booking)},
    )


# --- one booking -------------------------------------------------------------------------------


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    booking = _booking_for(request, pk)
    if booking.status == BookingStatus.RESCHEDULED and hasattr(booking, "rescheduled_to"):
        return redirect("bookings:detail", pk=booking.rescheduled_to.pk)
    is_client = booking.client_id == request.user.pk
    is_coach = booking.coach.user_id == request.user.pk
    now = timezone.now()
    context = {
        "booking": booking,
        "is_client": is_client,
        "is_coach": is_coach,
        "client_when": local_time(booking.starts_at, booking.client_time_zone),
        "coach_when": local_time(booking.starts_at, booking.coach.time_zone),
        "payment": selectors.booking_payment(booking),
        "refund_terms": selectors.refund_terms(booking=booking, now=now)
        if booking.status == BookingStatus.CONFIRMED
        else None,
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


def _act(request: HttpRequest, pk: int, action) -> HttpResponse:
    booking = _booking_for(request, pk)
    try:
        result = action(booking)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("bookings:detail", pk=booking.pk)
    return redirect("bookings:detail", pk=(result or booking).pk)


@login_required
@require_POST
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    form = CancelForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""

    def action(booking: Booking) -> Booking:
        cancelled = cancellation.booking_cancel(booking=booking, by=request.user, reason=reason)  # type: ignore[arg-type]
        messages.success(request, "The session is cancelled.")
        return cancelled

    return _act(request, pk, action)


@login_required
def reschedule(request: HttpRequest, pk: int) -> HttpResponse:
    booking = _booking_for(request, pk)
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
    now = timezone.now()
    slots = available_slots(
        coach=booking.coach,
        session_type=booking.session_type,
        start=max(now, booking.starts_at - timedelta(days=7)),
        end=booking.starts_at + timedelta(days=14),
    )[:40]
    return render(
        request,
        "bookings/reschedule.html",
        {
            "booking": booking,
            "form": form,
            "error": error,
            "slots": [
                {"start": slot.isoformat(), "label": local_time(slot, zone)} for slot in slots
            ],
        },
        status=409 if error else 200,
    )


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
    description = request.POST.get("description", "")
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
    booking = _booking_for(request, pk)
    payment = selectors.booking_payment(booking)
    if payment is None or payment.status in ("pending", "cancelled", "failed"):
        raise Http404("No receipt for this booking.")
    refunds = [
        {"amount": format_money(r.amount, r.currency), "refund": r}
        for r in payment.refunds.filter(status="succeeded")
    ]
    return render(
        request,
        "bookings/receipt.html",
        {
            "booking": booking,
            "payment": payment,
            "total": format_money(payment.amount, payment.currency),
            "refunded": format_money(payment.refunded_amount, payment.currency),
            "refunds": refunds,
            "when": local_time(booking.starts_at, booking.client_time_zone),
        },
    )


# --- dashboards -------------------------------------------------------------------------------


@login_required
def my_sessions(request: HttpRequest) -> HttpResponse:
    sessions = selectors.client_sessions(client=request.user)  # type: ignore[arg-type]
    zone = _zone_of(request)
    for group in sessions.values():
        for booking in group:
            booking.local_when = local_time(booking.starts_at, booking.client_time_zone or zone)  # type: ignore[attr-defined]
    packages = PackagePurchase.objects.filter(client_id=request.user.pk).select_related(
        "package__session_type", "coach__user"
    )
    return render(request, "bookings/my_sessions.html", {**sessions, "packages": packages})


@login_required
def agenda(request: HttpRequest) -> HttpResponse:
    coach = CoachProfile.objects.filter(user=_user(request)).first()
    if coach is None:
        return render(request, "bookings/not_a_coach.html", status=403)
    groups = selectors.coach_agenda(coach=coach)
    for group in groups.values():
        for booking in group:
            booking.local_when = local_time(booking.starts_at, coach.time_zone)  # type: ignore[attr-defined]
    return render(request, "bookings/agenda.html", {"coach": coach, **groups})


@login_required
def policy_edit(request: HttpRequest) -> HttpResponse:
    coach = CoachProfile.objects.filter(user=_user(request)).first()
    if coach is None:
        return render(request, "bookings/not_a_coach.html", status=403)
    instance = CancellationPolicy.objects.filter(coach=coach).first() or CancellationPolicy(
        coach=coach
    )
    form = PolicyForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Your cancellation policy is saved.")
        return redirect("bookings:policy")
    return render(request, "bookings/policy.html", {"form": form})


# --- calendar feeds ------------------------------------------------------------------------------


@login_required
def calendar_settings(request: HttpRequest) -> HttpResponse:
    rotate = request.method == "POST"
    feed = calendar.calendar_feed_for(user=request.user, rotate=rotate)  # type: ignore[arg-type]
    if rotate:
        messages.success(request, "A new calendar address was made; the old one stopped working.")
        return redirect("bookings:calendar_settings")
    url = request.build_absolute_uri(reverse("bookings:calendar_feed", args=[feed.token]))
    return render(request, "bookings/calendar.html", {"feed_url": url})


def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The personal iCal feed: the secret token is the credential (no session needed)."""
    feed = get_object_or_404(CalendarFeed.objects.select_related("user"), token=token)
    body = ical.calendar(
        selectors.calendar_bookings(user=feed.user),
        for_user_id=feed.user_id,
        name="Coach Connect sessions",
    )
    return HttpResponse(body, content_type="text/calendar; charset=utf-8")


# --- packages -----------------------------------------------------------------------------------


@login_required
@require_POST
def package_buy(request: HttpRequest, pk: int) -> HttpResponse:
    package = get_object_or_404(Package.objects.select_related("coach__user"), pk=pk)
    try:
        _purchase, payment = packages.package_purchase_start(
            client=request.user,  # type: ignore[arg-type]
            package=package,
            urls=checkout.CheckoutUrls(
                success_url=request.build_absolute_uri(reverse("bookings:my_sessions")),
                cancel_url=request.build_absolute_uri(package.coach.get_absolute_url()),
            ),
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect(package.coach.get_absolute_url())
    return HttpResponseRedirect(payment.checkout_url, status=303)


@login_required
def package_purchase_detail(request: HttpRequest, pk: int) -> HttpResponse:
    purchase = get_object_or_404(
        PackagePurchase.objects.select_related("package__session_type", "coach__user"),
        pk=pk,
        client_id=request.user.pk,
    )
    return render(
        request,
        "bookings/package_purchase.html",
        {
            "purchase": purchase,
            "price": format_money(purchase.price, purchase.currency),
            "used": selectors.package_sessions_used(purchase),
            "bookings": purchase.bookings.order_by("starts_at"),
        },
    )


@login_required
@require_POST
def package_refund(request: HttpRequest, pk: int) -> HttpResponse:
    purchase = get_object_or_404(PackagePurchase, pk=pk, client_id=request.user.pk)
    try:
        packages.package_refund_unused(purchase=purchase, by=request.user)  # type: ignore[arg-type]
        messages.success(request, "The unused sessions are refunded.")
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("bookings:package_purchase", pk=purchase.pk)
