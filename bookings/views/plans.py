"""Coaching plans: the coach's plans and subscribers, subscribing on Checkout, and the
client's changes to their plan (cancel at period end, resume, pause, switch)."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from bookings import selectors
from bookings.forms import CoachingPlanForm
from bookings.models import CoachingPlan, PlanSubscription
from bookings.services import checkout, plans
from bookings.views.common import signed_in_user
from coaches.models import CoachProfile
from marketplace.errors import DomainError
from marketplace.money import to_major

SUBSCRIBERS_PER_PAGE = 25


def _coach_or_none(request: HttpRequest) -> CoachProfile | None:
    return CoachProfile.objects.filter(user=signed_in_user(request)).first()


def _terms(form: CoachingPlanForm) -> plans.PlanTerms:
    data = form.cleaned_data
    return plans.PlanTerms(
        name=data["name"],
        session_type=data["session_type"],
        sessions_per_period=data["sessions_per_period"],
        interval=data["interval"],
        price=data["price"],
        rollover=data["rollover"],
        rollover_cap=data.get("rollover_cap") or 0,
        minimum_periods=data["minimum_periods"],
    )


def _save(form: CoachingPlanForm, save: Callable[[plans.PlanTerms], object]) -> bool:
    """Run ``save(terms)``; a refusal's field errors go back onto the form."""
    try:
        save(_terms(form))
    except DomainError as error:
        for field, field_errors in (error.fields or {}).items():
            for message in field_errors:
                form.add_error(field if field in form.fields else None, message)
        if not error.fields:
            form.add_error(None, error.message)
        return False
    return True


@login_required
def coach_plans(request: HttpRequest) -> HttpResponse:
    """The coach's plans and their subscribers (paginated). The form for a new plan has its
    own page once the coach has a plan; before that, it is this page's empty state."""
    coach = _coach_or_none(request)
    if coach is None:
        return render(request, "bookings/not_a_coach.html", status=403)
    page = Paginator(selectors.coach_plan_subscribers(coach=coach), SUBSCRIBERS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    coach_plans = selectors.coach_plans_with_counts(coach=coach)
    return render(
        request,
        "bookings/coach_plans.html",
        {
            "coach": coach,
            "plans": coach_plans,
            "form": None if coach_plans else CoachingPlanForm(coach=coach),
            "subscribers": page,
        },
    )


@login_required
def coach_plan_new(request: HttpRequest) -> HttpResponse:
    coach = _coach_or_none(request)
    if coach is None:
        return render(request, "bookings/not_a_coach.html", status=403)
    form = CoachingPlanForm(request.POST or None, coach=coach)
    if (
        request.method == "POST"
        and form.is_valid()
        and _save(form, lambda terms: plans.coaching_plan_create(coach=coach, terms=terms))
    ):
        messages.success(request, "Your plan is on offer on your profile.")
        return redirect("bookings:coach_plans")
    return render(
        request,
        "bookings/coach_plan_new.html",
        {"form": form},
        status=400 if request.method == "POST" else 200,
    )


@login_required
def coach_plan_edit(request: HttpRequest, pk: int) -> HttpResponse:
    coach = _coach_or_none(request)
    if coach is None:
        return render(request, "bookings/not_a_coach.html", status=403)
    plan = get_object_or_404(CoachingPlan, pk=pk, coach=coach)
    initial = {
        "name": plan.name,
        "session_type": plan.session_type_id,
        "sessions_per_period": plan.sessions_per_period,
        "interval": plan.interval,
        "price": to_major(plan.price, plan.currency),
        "rollover": plan.rollover,
        "rollover_cap": plan.rollover_cap,
        "minimum_periods": plan.minimum_periods,
    }
    form = CoachingPlanForm(request.POST or None, coach=coach, initial=initial)
    if (
        request.method == "POST"
        and form.is_valid()
        and _save(form, lambda terms: plans.coaching_plan_update(plan=plan, terms=terms))
    ):
        messages.success(request, "The plan is saved; current subscribers keep their price.")
        return redirect("bookings:coach_plans")
    return render(
        request,
        "bookings/coach_plan_edit.html",
        {"plan": plan, "form": form},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def coach_plan_active(request: HttpRequest, pk: int) -> HttpResponse:
    coach = _coach_or_none(request)
    plan = get_object_or_404(CoachingPlan, pk=pk, coach=coach) if coach else None
    if plan is None:
        raise Http404("No such plan.")
    active = request.POST.get("active") == "1"
    plans.coaching_plan_set_active(plan=plan, active=active)
    messages.success(
        request,
        "The plan is on offer again." if active else "The plan is off sale; subscribers keep it.",
    )
    return redirect("bookings:coach_plans")


@login_required
@require_POST
def plan_subscribe(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_object_or_404(CoachingPlan.objects.select_related("coach__user"), pk=pk)
    try:
        plan_subscription = plans.plan_subscribe(
            client=signed_in_user(request),
            plan=plan,
            urls=checkout.CheckoutUrls(
                success_url=request.build_absolute_uri(reverse("bookings:billing"))
                + "?subscribed=1",
                cancel_url=request.build_absolute_uri(plan.coach.get_absolute_url()),
            ),
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect(plan.coach.get_absolute_url())
    return HttpResponseRedirect(plan_subscription.subscription.checkout_url, status=303)


def _own_plan_subscription(request: HttpRequest, pk: int) -> PlanSubscription:
    return get_object_or_404(
        PlanSubscription.objects.select_related("plan", "subscription", "coach"),
        pk=pk,
        client_id=request.user.pk,
    )


_ACTIONS = {
    "cancel": (
        plans.plan_cancel,
        "Your plan ends with the period you paid; nothing more is charged.",
    ),
    "resume": (plans.plan_resume, "Your plan continues."),
    "pause": (plans.plan_pause, "Your plan is paused: nothing is charged until you resume it."),
}


@login_required
@require_POST
def plan_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    plan_subscription = _own_plan_subscription(request, pk)
    user = signed_in_user(request)
    try:
        if action == "change":
            wanted = _int(request.POST.get("plan"))
            to_plan = CoachingPlan.objects.filter(pk=wanted).first() if wanted else None
            if to_plan is None:
                raise DomainError("Choose the plan to switch to.", code="plan_missing")
            plans.plan_change(plan_subscription=plan_subscription, to_plan=to_plan, by=user)
            messages.success(
                request,
                f"You are on “{to_plan.name}” now; the difference for this period is charged "
                "at once.",
            )
        elif action in _ACTIONS:
            service, done = _ACTIONS[action]
            service(plan_subscription=plan_subscription, by=user)
            messages.success(request, done)
        else:
            raise Http404("No such action.")
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("bookings:billing")


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 12 else None
