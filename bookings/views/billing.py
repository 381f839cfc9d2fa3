"""A client's Billing page: their coaching plans, saved cards and invoices."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from bookings import selectors
from bookings.views.common import signed_in_user
from payments import selectors as payments_selectors


@login_required
def billing(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    standings = selectors.plan_standings(client=user)
    return render(
        request,
        "bookings/billing.html",
        {
            "standings": standings,
            "switch_options": selectors.plan_switch_options(standings),
            # back from Checkout while Stripe's confirmation is still on its way
            "subscribed": request.GET.get("subscribed") == "1"
            and any(s.plan_subscription.status == "pending" for s in standings),
            "invoices": payments_selectors.invoices_page(
                payments_selectors.invoices_of_customer(user), request.GET.get("invoices_page")
            ),
        },
    )
