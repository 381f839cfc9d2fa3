"""The plan pages: the coach's plans page (its form refuses bad terms and stores nothing),
subscribing from the profile, and the client's Billing page and plan actions (only their
own)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from bookings.models import CoachingPlan, PlanSubscription
from tests.bookings import plan_setup
from tests.bookings.plan_setup import plan_of
from tests.factories import UserFactory
from tests.mfa import sign_in_with_totp

pytestmark = pytest.mark.django_db


def _form(session_type, **overrides):
    values = {
        "name": "Weekly momentum",
        "session_type": session_type.pk,
        "sessions_per_period": "2",
        "interval": "week",
        "price": "95.00",
        "rollover_cap": "0",
        "minimum_periods": "0",
    }
    return {**values, **overrides}


def test_the_coach_creates_a_plan_from_the_plans_page(client, paid_coach):
    coach, session_type = paid_coach
    client.force_login(coach.user)
    new_plan = reverse("bookings:coach_plan_new")
    # with no plan yet, the plans page is the form for the first one
    first = client.get(reverse("bookings:coach_plans")).content.decode()
    assert f'action="{new_plan}"' in first and "Create the plan" in first

    response = client.post(new_plan, _form(session_type))

    assert response.status_code == 302
    plan = CoachingPlan.objects.get()
    assert (plan.price, plan.sessions_per_period, plan.interval) == (9500, 2, "week")
    assert plan.stripe_price_id
    page = client.get(reverse("bookings:coach_plans")).content.decode()
    assert "Weekly momentum" in page
    assert "No subscribers yet." in page
    # then the form is a page of its own, linked from the list
    assert f'href="{new_plan}"' in page and "Create the plan" not in page
    assert "Create the plan" in client.get(new_plan).content.decode()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"sessions_per_period": "0"}, "1 to 31 sessions a period"),
        ({"sessions_per_period": "32"}, "1 to 31 sessions a period"),
        ({"price": "0.49"}, "Enter an amount from $0.50"),
        ({"price": "1000000.00"}, "Enter an amount from $0.50"),
        ({"rollover": "on", "rollover_cap": "-1"}, "cannot be below 0"),
    ],
)
def test_bad_plan_terms_are_form_errors_and_store_nothing(client, paid_coach, overrides, message):
    coach, session_type = paid_coach
    client.force_login(coach.user)

    response = client.post(reverse("bookings:coach_plan_new"), _form(session_type, **overrides))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not CoachingPlan.objects.exists()


def test_a_client_has_no_plans_page(client, paid_coach):
    client.force_login(UserFactory())
    assert client.get(reverse("bookings:coach_plans")).status_code == 403


def test_subscribing_from_the_profile_goes_to_checkout(client, paid_coach):
    coach, session_type = paid_coach
    plan = plan_of(coach, session_type)
    client.force_login(UserFactory())

    profile = client.get(coach.get_absolute_url()).content.decode()
    assert "Subscribe to “Monthly focus”" in profile
    response = client.post(reverse("bookings:plan_subscribe", args=[plan.pk]))

    assert response.status_code == 303
    plan_subscription = PlanSubscription.objects.get(plan=plan)
    assert response["Location"] == plan_subscription.subscription.checkout_url


def test_billing_shows_empty_states_and_a_plan_only_to_its_client(
    client, paid_coach, django_capture_on_commit_callbacks
):
    coach, session_type = paid_coach
    plan = plan_of(coach, session_type)
    user, _clock = plan_setup.clock_client()
    plan_subscription = plan_setup.subscribe_and_pay(user, plan, django_capture_on_commit_callbacks)
    stranger = UserFactory()

    client.force_login(stranger)
    page = client.get(reverse("bookings:billing")).content.decode()
    assert "No coaching plans yet." in page
    refused = client.post(reverse("bookings:plan_action", args=[plan_subscription.pk, "cancel"]))
    assert refused.status_code == 404

    client.force_login(user)
    page = client.get(reverse("bookings:billing")).content.decode()
    assert "Monthly focus" in page
    assert "Cancel at period end" in page


def test_staff_read_plans_subscriptions_and_invoices_in_admin_and_cannot_edit_them(
    client, paid_coach, django_capture_on_commit_callbacks
):
    coach, session_type = paid_coach
    plan = plan_of(coach, session_type)
    user, _clock = plan_setup.clock_client()
    plan_subscription = plan_setup.subscribe_and_pay(user, plan, django_capture_on_commit_callbacks)
    sign_in_with_totp(client, UserFactory(is_staff=True, is_superuser=True))
    invoice = plan_subscription.subscription.invoices.get()

    for path in (
        f"/admin/bookings/coachingplan/{plan.pk}/change/",
        f"/admin/bookings/plansubscription/{plan_subscription.pk}/change/",
        f"/admin/payments/subscription/{plan_subscription.subscription_id}/change/",
        f"/admin/payments/invoice/{invoice.pk}/change/",
    ):
        page = client.get(path)
        assert page.status_code == 200, path
    assert client.get("/admin/payments/invoice/add/").status_code == 403
    assert client.get("/admin/bookings/plansubscription/add/").status_code == 403
