"""Booking and paying: topic -> review -> Checkout -> confirmed, and where Checkout's
"back" lands."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode
from zoneinfo import available_timezones

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from bookings import selectors
from bookings.forms import TopicForm
from bookings.models import Booking, Package, PackagePurchase, PlanSubscription
from bookings.notifications import local_time
from bookings.services import checkout, holds
from bookings.views.common import booking_or_404, signed_in_user, zone_of
from coaches.models import SessionType
from marketplace.errors import DomainError
from marketplace.money import format_money
from marketplace.timeparse import parse_instant

DRAFT_KEY = "booking_draft"


def _parse_start(value: str | None) -> datetime | None:
    """The slot's start from a link or the draft; ``None`` when there is none.

    A start that is not an ISO 8601 instant in 2000-2100 raises ``DomainError``."""
    if not value:
        return None
    return parse_instant(value, field="start")


def _id(value: str | None) -> int:
    """A row id typed in a link or a form; 0 (matches nothing) when it is not one."""
    value = value or ""
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else 0


def _known_zone(name: str | None) -> str:
    return name if name and name in available_timezones() else ""


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
    try:
        starts_at = _parse_start(draft.get("start"))
    except DomainError:
        starts_at = None
    session_type = (
        SessionType.objects.select_related("coach__user")
        .filter(pk=_id(str(draft.get("session_type") or "")), is_active=True)
        .first()
    )
    if session_type is None or starts_at is None:
        raise Http404("Pick a time on a coach's profile first.")
    return session_type, starts_at, draft


@login_required
def new_booking(request: HttpRequest) -> HttpResponse:
    """Step 1: what the client wants to work on, for the slot picked on the profile."""
    session_type_id = request.GET.get("session_type") or request.POST.get("session_type")
    try:
        starts_at = _parse_start(request.GET.get("start") or request.POST.get("start"))
    except DomainError as error:
        return render(request, "bookings/invalid_slot.html", {"message": error.message}, status=400)
    session_type = (
        SessionType.objects.select_related("coach__user")
        .filter(pk=_id(session_type_id), is_active=True)
        .first()
    )
    if session_type is None or starts_at is None:
        return render(
            request,
            "bookings/invalid_slot.html",
            {"message": "That link does not name a session type and a start time."},
            status=400,
        )
    zone = _known_zone(request.POST.get("client_time_zone") or request.GET.get("tz")) or zone_of(
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
        # The zone the slot was picked in (the calendar's link carries it) is the one the
        # booking keeps; without one, the browser fills it in (static/js/app.js).
        form = TopicForm(initial={"client_time_zone": _known_zone(request.GET.get("tz"))})
    context = _slot_context(session_type, starts_at, zone)
    context["form"] = form
    context["zone_known"] = "tz" in request.GET or request.method == "POST"
    return render(request, "bookings/new.html", context)


def _credit_chosen(request: HttpRequest) -> tuple[str, PlanSubscription | PackagePurchase] | None:
    """The plan or package the review's form pays with (``("plan_subscription", row)``),
    none for a paid booking; 404 for one that is not the client's."""
    for field, kind, model in (
        ("use_plan", "plan_subscription", PlanSubscription),
        ("use_package", "package_purchase", PackagePurchase),
    ):
        if request.POST.get(field):
            row = model.objects.filter(  # type: ignore[attr-defined]
                pk=_id(request.POST[field]), client_id=request.user.pk
            ).first()
            if row is None:
                raise Http404("No such plan or package.")
            return kind, row
    return None


@login_required
def review(request: HttpRequest) -> HttpResponse:
    """Step 2: price, coach, the time in both zones, the policy; "Pay" holds and goes to
    Checkout."""
    session_type, starts_at, draft = _draft_slot(request)
    zone = draft.get("client_time_zone") or zone_of(request)
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
    context["plans_owned"] = [
        standing
        for standing in selectors.plan_standings(client=signed_in_user(request), live_only=True)
        if standing.plan_subscription.plan.session_type_id == session_type.pk
        and (standing.credits_left > 0 or standing.plan_subscription.status == "past_due")
    ]
    context["packages_for_sale"] = [
        {"package": package, "price": format_money(package.price, package.currency)}
        for package in Package.objects.filter(session_type=session_type, is_active=True)
    ]
    paid_with = _credit_chosen(request) if request.method == "POST" else None
    if paid_with is not None:
        kind, row = paid_with
        try:
            booking = holds.booking_hold(
                client=signed_in_user(request),
                session_type=session_type,
                starts_at=starts_at,
                topic=draft.get("topic", ""),
                client_time_zone=zone,
                **{kind: row},  # type: ignore[arg-type]
            )
        except DomainError as error:
            context["error"] = error.message
            return render(request, "bookings/review.html", context, status=error.status_code)
        request.session.pop(DRAFT_KEY, None)
        messages.success(
            request,
            "Booked with your plan."
            if kind == "plan_subscription"
            else "Booked with your package.",
        )
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
    booking = booking_or_404(request, pk)
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
            "hold_minutes_left": max(
                1, int((booking.hold_expires_at - timezone.now()).total_seconds() // 60)
            )
            if booking.hold_expires_at
            else 0,
        }
    )
    return render(request, "bookings/pay.html", context)


def _status_context(booking: Booking) -> dict:
    """The thank-you page's block: the session in both zones and the ways to put it in a
    calendar, once confirmed."""
    utc = "%Y%m%dT%H%M%SZ"
    coach_name = booking.coach.user.display_name
    google = "https://calendar.google.com/calendar/render?" + urlencode(
        {
            "action": "TEMPLATE",
            "text": f"{booking.session_type.name} with {coach_name}",
            "dates": f"{booking.starts_at.astimezone(UTC):{utc}}/"
            f"{booking.ends_at.astimezone(UTC):{utc}}",
            "details": f"Video meeting: {booking.meeting_url}",
        }
    )
    return {
        "booking": booking,
        "payment": selectors.booking_payment(booking),
        "client_when": local_time(booking.starts_at, booking.client_time_zone),
        "coach_when": local_time(booking.starts_at, booking.coach.time_zone),
        "google_calendar_url": google,
    }


@login_required
def paid(request: HttpRequest, pk: int) -> HttpResponse:
    """Checkout's success URL: shows "confirming..." until the webhook confirms. It never
    confirms anything itself."""
    booking = booking_or_404(request, pk)
    return render(request, "bookings/paid.html", _status_context(booking))


@login_required
def status_fragment(request: HttpRequest, pk: int) -> HttpResponse:
    """The booking's status, polled by htmx from the success page until it is final."""
    booking = booking_or_404(request, pk)
    return render(request, "bookings/_status.html", _status_context(booking))
