"""Dashboards: the client's sessions and packages, the coach's agenda and cancellation
policy."""

from __future__ import annotations

from babel.dates import format_timedelta
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from bookings import insights, selectors
from bookings.forms import PolicyForm, SessionNoteForm
from bookings.models import (
    BookingStatus,
    CancellationPolicy,
    PackagePurchase,
    PackagePurchaseStatus,
)
from bookings.notifications import local_time
from bookings.services import notes
from bookings.views.common import booking_or_404, signed_in_user, zone_of
from coaches.models import CoachProfile
from marketplace.errors import DomainError
from marketplace.money import babel_locale, format_money
from payments import reports


@login_required
def my_sessions(request: HttpRequest) -> HttpResponse:
    """The client's dashboard: upcoming sessions with their join link and a countdown, the
    past ones with the client's private notes, packages and their sessions left, the coaches
    booked (to book again) and what was spent in each currency. Its query count does not
    grow with the history."""
    client = signed_in_user(request)
    sessions = selectors.client_sessions(client=client)
    zone = zone_of(request)
    now = timezone.now()
    for group in sessions.values():
        for booking in group:
            booking.local_when = local_time(booking.starts_at, booking.client_time_zone or zone)  # type: ignore[attr-defined]
            # a live hold's time left, for "Continue to payment"
            booking.hold_minutes_left = (  # type: ignore[attr-defined]
                max(1, int((booking.hold_expires_at - now).total_seconds() // 60))
                if booking.status == BookingStatus.HELD
                and booking.hold_expires_at
                and booking.hold_expires_at > now
                else 0
            )
            booking.starts_in = (  # type: ignore[attr-defined]
                format_timedelta(
                    booking.starts_at - now, add_direction=True, locale=babel_locale(None)
                )
                if booking.starts_at > now
                else "now"
            )
    for booking in sessions["past"]:
        note = getattr(booking, "client_note", None)
        booking.note_form = SessionNoteForm(  # type: ignore[attr-defined]
            initial={"text": note.text if note else ""}, auto_id=f"note-{booking.pk}-%s"
        )
    packages = list(
        PackagePurchase.objects.filter(client_id=client.pk)
        .select_related("package__session_type", "coach__user")
        .order_by("-created_at")
    )
    used = insights.sessions_used_by_purchase([purchase.pk for purchase in packages])
    for purchase in packages:
        purchase.sessions_left = max(  # type: ignore[attr-defined]
            purchase.session_count - used.get(purchase.pk, 0) - purchase.sessions_refunded, 0
        )
    spending = [
        {
            "currency": item.currency,
            "paid": format_money(item.paid, item.currency),
            "refunded": format_money(item.refunded, item.currency),
            "net": format_money(item.net, item.currency),
        }
        for item in reports.client_spending(client_id=client.pk)
    ]
    context = {
        **sessions,
        "packages": packages,
        "active_packages": [
            purchase
            for purchase in packages
            if purchase.status == PackagePurchaseStatus.ACTIVE and purchase.sessions_left  # type: ignore[attr-defined]
        ],
        "coaches": insights.coaches_booked(client_id=client.pk),
        "spending": spending,
        "completed_count": sum(
            1 for booking in sessions["past"] if booking.status == BookingStatus.COMPLETED
        ),
    }
    return render(request, "bookings/my_sessions.html", context)


@login_required
@require_POST
def session_note(request: HttpRequest, pk: int) -> HttpResponse:
    """Save the client's private notes on one of their sessions (theirs only: 404 else)."""
    booking = booking_or_404(request, pk)
    form = SessionNoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(error) for error in form.errors.get("text", [])))
        return redirect(f"{reverse('bookings:my_sessions')}#session-{booking.pk}")
    try:
        notes.session_note_save(
            booking=booking, client=signed_in_user(request), text=form.cleaned_data["text"]
        )
    except DomainError as error:
        if error.status_code == 404:
            raise Http404(error.message) from error
        messages.error(request, error.message)
    else:
        messages.success(request, "Your notes are saved.")
    return redirect(f"{reverse('bookings:my_sessions')}#session-{booking.pk}")


@login_required
def agenda(request: HttpRequest) -> HttpResponse:
    coach = CoachProfile.objects.filter(user=signed_in_user(request)).first()
    if coach is None:
        return render(request, "bookings/not_a_coach.html", status=403)
    groups = selectors.coach_agenda(coach=coach)
    for group in groups.values():
        for booking in group:
            booking.local_when = local_time(booking.starts_at, coach.time_zone)  # type: ignore[attr-defined]
    return render(request, "bookings/agenda.html", {"coach": coach, **groups})


@login_required
def policy_edit(request: HttpRequest) -> HttpResponse:
    coach = CoachProfile.objects.filter(user=signed_in_user(request)).first()
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
