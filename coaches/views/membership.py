"""The coach's Membership page: the platform fee they pay now, the plans staff offer and what
each would make it, their membership (pay, cancel at period end, resume) and past ones."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from coaches import selectors
from coaches.forms import MembershipStartForm
from coaches.models import CoachMembership, CoachProfile, MembershipStatus
from coaches.services import memberships
from coaches.views.common import own_application, signed_in_user
from marketplace.errors import DomainError
from marketplace.money import format_money, format_percent, to_minor
from payments.services.charges import CheckoutUrls


def _coach(request: HttpRequest) -> CoachProfile | None:
    if not signed_in_user(request).is_coach:
        return None
    return own_application(request).coach


def _to_checkout(url: str) -> HttpResponseRedirect:
    # A 303 sends the browser on to Stripe with a GET after the form's POST.
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


def _checkout_urls() -> CheckoutUrls:
    page = settings.SITE_URL + reverse("coaches:membership")
    return CheckoutUrls(
        success_url=page + "?checkout=done", cancel_url=page + "?checkout=cancelled"
    )


def _page(
    request: HttpRequest,
    coach: CoachProfile,
    *,
    form: MembershipStartForm | None = None,
    status: int = 200,
) -> HttpResponse:
    terms = selectors.coach_fee_terms(coach)
    live = selectors.coach_live_membership(coach)
    example = to_minor(100, coach.currency)
    fee_now, kept_now = terms.split(example)
    # What each plan would make the fee, against what the coach pays without a membership.
    without = selectors.fee_terms_of(
        fee_bps_override=coach.fee_bps_override, minimum_fee_override=coach.minimum_fee_override
    )
    offers = []
    for plan in selectors.membership_plans_offered():
        member_terms = selectors.fee_terms_of(
            fee_bps_override=coach.fee_bps_override,
            minimum_fee_override=coach.minimum_fee_override,
            membership_fee_bps=plan.fee_bps,
            membership=plan.name,
        )
        _member_fee, member_kept = member_terms.split(example)
        offers.append(
            {
                "plan": plan,
                "fee": format_percent(member_terms.fee_bps),
                "lowers": member_terms.fee_bps < without.fee_bps,
                "is_current": live is not None and live.plan_id == plan.pk,
                "example_kept": format_money(member_kept, coach.currency),
            }
        )
    context = {
        "coach": coach,
        "fee": {
            "rate": format_percent(terms.fee_bps),
            "membership": terms.membership,
            "minimum": format_money(terms.minimum_fee, coach.currency) if terms.minimum_fee else "",
            "example_price": format_money(example, coach.currency),
            "example_fee": format_money(fee_now, coach.currency),
            "example_kept": format_money(kept_now, coach.currency),
            "without_rate": format_percent(without.fee_bps),
        },
        "live": live,
        "live_fee": format_percent(live.fee_bps) if live else "",
        "offers": offers,
        "past": selectors.coach_past_memberships(coach),
        "form": form or MembershipStartForm(),
        "checkout": request.GET.get("checkout", ""),
        "grace_days": settings.MEMBERSHIP_PAST_DUE_GRACE_DAYS,
    }
    return render(request, "coaches/membership.html", context, status=status)


@login_required
@require_GET
def membership(request: HttpRequest) -> HttpResponse:
    coach = _coach(request)
    if coach is None:
        return render(request, "coaches/not_a_coach.html", status=403)
    return _page(request, coach)


@login_required
@require_POST
def membership_subscribe(request: HttpRequest) -> HttpResponse:
    """Start the chosen membership and go to Stripe's Checkout to pay for it."""
    coach = _coach(request)
    if coach is None:
        return render(request, "coaches/not_a_coach.html", status=403)
    form = MembershipStartForm(request.POST)
    if not form.is_valid():
        return _page(request, coach, form=form, status=400)
    try:
        started = memberships.membership_start(
            coach=coach, plan=form.cleaned_data["plan"], urls=_checkout_urls()
        )
    except DomainError as error:
        form.add_error(None, error.message)
        return _page(request, coach, form=form, status=error.status_code)
    return _to_checkout(started.subscription.checkout_url)


def _own_membership(coach: CoachProfile, pk: int) -> CoachMembership | None:
    return (
        CoachMembership.objects.filter(pk=pk, coach=coach)
        .select_related("coach", "plan", "subscription")
        .first()
    )


@login_required
@require_POST
def membership_pay(request: HttpRequest, pk: int) -> HttpResponse:
    """Back to Checkout for a membership awaiting payment (its session, made once)."""
    coach = _coach(request)
    if coach is None:
        return render(request, "coaches/not_a_coach.html", status=403)
    found = _own_membership(coach, pk)
    if found is None or found.status != MembershipStatus.PENDING:
        messages.error(request, "That membership is not awaiting payment.")
        return redirect("coaches:membership")
    try:
        found = memberships.membership_checkout(membership=found, urls=_checkout_urls())
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("coaches:membership")
    return _to_checkout(found.subscription.checkout_url)


@login_required
@require_POST
def membership_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Stop renewing at the end of the paid period."""
    return _change(request, pk, cancel=True)


@login_required
@require_POST
def membership_resume(request: HttpRequest, pk: int) -> HttpResponse:
    """Keep renewing a membership cancelled at period end."""
    return _change(request, pk, cancel=False)


def _change(request: HttpRequest, pk: int, *, cancel: bool) -> HttpResponse:
    coach = _coach(request)
    if coach is None:
        return render(request, "coaches/not_a_coach.html", status=403)
    found = _own_membership(coach, pk)
    if found is None:
        messages.error(request, "That membership is not yours.")
        return redirect("coaches:membership")
    try:
        if cancel:
            memberships.membership_cancel_at_period_end(
                membership=found, by=signed_in_user(request)
            )
            messages.success(request, "Your membership will end when the paid period does.")
        else:
            memberships.membership_resume(membership=found, by=signed_in_user(request))
            messages.success(request, "Your membership renews again.")
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("coaches:membership")
