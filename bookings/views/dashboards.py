"""Dashboards: the client's sessions and packages, the coach's agenda and cancellation
policy."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from bookings import selectors
from bookings.forms import PolicyForm
from bookings.models import BookingStatus, CancellationPolicy, PackagePurchase
from bookings.notifications import local_time
from bookings.views.common import signed_in_user, zone_of
from coaches.models import CoachProfile


@login_required
def my_sessions(request: HttpRequest) -> HttpResponse:
    sessions = selectors.client_sessions(client=request.user)  # type: ignore[arg-type]
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
    packages = PackagePurchase.objects.filter(client_id=request.user.pk).select_related(
        "package__session_type", "coach__user"
    )
    return render(request, "bookings/my_sessions.html", {**sessions, "packages": packages})


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
