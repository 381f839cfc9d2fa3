"""A client's Billing page (``/billing/``): their coaching plans, saved cards and invoices,
one include each; and the saved cards' actions (make one the default, remove one, open
Stripe's customer portal).

The cards live at Stripe on the client's Customer; ``payments.services.cards`` changes them
there and mirrors them back. Removing the only card a running plan renews with is refused
until the client confirms (the page asks, saying the next renewal will then fail).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from bookings import selectors
from bookings.views.common import signed_in_user
from marketplace.errors import Conflict, DomainError, NotFound
from marketplace.models import User
from payments import selectors as payment_selectors
from payments.services import cards, customers

# The newest invoices Billing shows, older ones a page further (the page also holds the
# plans and the cards).
INVOICES_PER_PAGE = 10


@login_required
def billing(request: HttpRequest) -> HttpResponse:
    return _billing_page(request)


def _billing_page(
    request: HttpRequest, *, confirm_removal: dict[str, Any] | None = None, status: int = 200
) -> HttpResponse:
    user = signed_in_user(request)
    plans = selectors.billing_plans(client=user, past_page=request.GET.get("past_plans"))
    return render(
        request,
        "bookings/billing.html",
        {
            "plans": plans,
            "switch_options": selectors.plan_switch_options(plans.live),
            # back from Checkout while Stripe's confirmation is still on its way
            "subscribed": request.GET.get("subscribed") == "1"
            and any(s.plan_subscription.status == "pending" for s in plans.live),
            # back from Stripe's page with a new card, which its webhook adds here
            "card_added": request.GET.get("card_added") == "1",
            "invoices": payment_selectors.invoices_page(
                payment_selectors.invoices_of_customer(user),
                request.GET.get("invoices_page"),
                per_page=INVOICES_PER_PAGE,
            ),
            **_cards_context(user, confirm_removal=confirm_removal),
        },
        status=status,
    )


def _cards_context(user: User, *, confirm_removal: dict[str, Any] | None) -> dict[str, Any]:
    """What ``bookings/billing/_cards.html`` shows."""
    saved = payment_selectors.saved_cards_of(user)
    today = timezone.localdate()
    only_card_need = (
        payment_selectors.card_needed_for_renewal(saved[0]) if len(saved) == 1 else None
    )
    return {
        "saved_cards": [
            {"card": card, "expired": card.has_expired(today), "is_default": card.is_default}
            for card in saved
        ],
        "has_customer": bool(saved) or customers.customer_of(user) is not None,
        "only_card_need": only_card_need,
        "confirm_removal": confirm_removal,
    }


def _card_or_404(request: HttpRequest, pk: int) -> Any:
    try:
        return cards.saved_card_of(user=signed_in_user(request), card_id=pk)
    except NotFound as error:
        raise Http404(error.message) from error


@login_required
@require_POST
def card_make_default(request: HttpRequest, pk: int) -> HttpResponse:
    card = _card_or_404(request, pk)
    try:
        cards.saved_card_make_default(user=signed_in_user(request), card_id=card.pk)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            f"{card.brand_label} •••• {card.last4} is now your default card: "
            "renewals are charged to it.",
        )
    return redirect("bookings:billing")


@login_required
@require_POST
def card_remove(request: HttpRequest, pk: int) -> HttpResponse:
    card = _card_or_404(request, pk)
    try:
        removed = cards.saved_card_remove(
            user=signed_in_user(request),
            card_id=card.pk,
            confirm_renewal_may_fail=request.POST.get("confirm_renewal_may_fail") == "1",
        )
    except Conflict as error:
        if error.code != "card_needed_for_renewal":
            messages.error(request, error.message)
            return redirect("bookings:billing")
        # Ask first: the page says why, with a button that confirms.
        return _billing_page(
            request, confirm_removal={"card": card, "message": error.message}, status=409
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("bookings:billing")
    if removed.warning:
        messages.warning(request, removed.warning)
    else:
        messages.success(request, f"{card.brand_label} •••• {removed.last4} is removed.")
    return redirect("bookings:billing")


@login_required
@require_POST
def card_add(request: HttpRequest) -> HttpResponse:
    """Stripe's page to save another card (Checkout in setup mode); it returns to Billing."""
    billing_url = request.build_absolute_uri(reverse("bookings:billing"))
    try:
        url = cards.card_add_url(
            user=signed_in_user(request),
            success_url=f"{billing_url}?card_added=1",
            cancel_url=billing_url,
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("bookings:billing")
    return HttpResponseRedirect(url, status=303)


@login_required
@require_POST
def card_portal(request: HttpRequest) -> HttpResponse:
    """Open Stripe's customer portal for the client's Customer; it returns to Billing."""
    try:
        url = cards.customer_portal_url(
            user=signed_in_user(request),
            return_url=request.build_absolute_uri(reverse("bookings:billing")),
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("bookings:billing")
    return HttpResponseRedirect(url, status=303)
