"""Bookings' part of the staff operations page (``marketplace.operations``): coaches whose
Stripe account is restricted or deauthorized while clients still have sessions booked with
them, so staff reach them before the sessions (and their payouts) go wrong. Registered in
``BookingsConfig.ready()``."""

from __future__ import annotations

from django.db.models import Count, Min
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking, BookingStatus
from marketplace.operations import OperationsSection, changelist, register
from payments import reports


def coaches_at_risk_context(request: HttpRequest) -> dict:
    now = timezone.now()
    accounts = {account.coach_id: account for account in reports.accounts_that_cannot_be_paid()}
    ahead = (
        Booking.objects.filter(
            coach__user_id__in=list(accounts), status=BookingStatus.CONFIRMED, starts_at__gt=now
        )
        .values("coach_id", "coach__user_id", "coach__slug")
        .annotate(sessions=Count("pk"), next_session=Min("starts_at"))
        .order_by("next_session")
    )
    since = now.isoformat(timespec="seconds")
    rows = [
        {
            "account": accounts[row["coach__user_id"]],
            "sessions": row["sessions"],
            "next_session": row["next_session"],
            "bookings_url": changelist(
                "bookings.booking",
                coach__id__exact=row["coach_id"],
                status__exact=BookingStatus.CONFIRMED,
                starts_at__gt=since,
            ),
            "account_url": reverse(
                "admin:payments_connectedaccount_change", args=[accounts[row["coach__user_id"]].pk]
            ),
        }
        for row in ahead
    ]
    return {
        "rows": rows,
        "accounts": len(accounts),
        "accounts_url": changelist(
            "payments.connectedaccount", state__in="restricted,deauthorized"
        ),
    }


def register_sections() -> None:
    register(
        OperationsSection(
            key="coaches_at_risk",
            title="Coaches who cannot be paid, with sessions ahead",
            template="admin/operations/coaches_at_risk.html",
            context=coaches_at_risk_context,
            order=15,
        )
    )
