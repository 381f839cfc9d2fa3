"""The client's Billing page and the coach's plans page read a fixed number of queries
whatever the history behind them (plans over the years, their invoices, credits and
sessions; a coach's hundreds of subscribers), and show a bounded part of it: the live
plans, a page of ended ones with a link to older ones, a page of subscribers."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bookings.models import PlanSubscriptionStatus as Status
from bookings.selectors import PAST_PLANS_PER_PAGE
from bookings.views.plans import SUBSCRIBERS_PER_PAGE
from tests.bookings.plan_history import (
    Story,
    clients,
    coach_with_plans,
    plan_histories,
    saved_cards,
)

pytestmark = pytest.mark.django_db


def _queries(client, user, url: str) -> tuple[int, str]:
    client.force_login(user)
    client.get(url)  # what a first visit caches (the navigation's badge) is not counted
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries.captured_queries), response.content.decode()


@pytest.fixture
def history():
    """A client with one plan in each state and two ended ones, two saved cards and their
    invoices; the coach of most of them with a few subscribers: every part of both pages
    shows something."""
    coach, plans = coach_with_plans(name="maya", plans=3)
    _other, other_plans = coach_with_plans(name="omar", plans=3)
    [client] = clients(1, prefix="nina")
    saved_cards(client, cards=2)
    plan_histories(
        [
            Story(client, plans[0], Status.ACTIVE, periods=2),
            Story(client, plans[1], Status.PAST_DUE, periods=2),
            Story(client, other_plans[0], Status.PAUSED, periods=2),
            Story(client, other_plans[1], Status.PENDING, periods=0),
            Story(client, plans[0], Status.ENDED, periods=2, ended_periods_ago=3),
            Story(client, other_plans[2], Status.ENDED, periods=1, ended_periods_ago=0),
        ]
        + [
            Story(subscriber, plans[index % 3], Status.ACTIVE, periods=1)
            for index, subscriber in enumerate(clients(2, prefix="early"))
        ]
    )
    return {"coach": coach, "plans": plans + other_plans, "client": client}


def _grow(history) -> None:
    """Years more: 20 ended plans of the client with a year of invoices each, and 60 more
    subscribers of the coach in every state."""
    client, plans = history["client"], history["plans"]
    statuses = [Status.ACTIVE, Status.PAST_DUE, Status.PAUSED, Status.ENDED, Status.PENDING]
    plan_histories(
        [
            Story(
                client, plans[number % len(plans)], Status.ENDED, 12, ended_periods_ago=4 + number
            )
            for number in range(20)
        ]
        + [
            Story(subscriber, plans[number % 3], statuses[number % len(statuses)], periods=3)
            for number, subscriber in enumerate(clients(60, prefix="later"))
        ],
        bookings_per_period=1,
    )


def test_billing_reads_as_many_queries_for_a_long_history_as_for_a_short_one(client, history):
    url = reverse("bookings:billing")
    small, small_page = _queries(client, history["client"], url)
    _grow(history)

    full, page = _queries(client, history["client"], url)

    assert full == small
    # the four live plans and one page of the 22 ended ones, the newest first
    assert small_page.count('data-testid="billing-plan"') == 4 + 2
    assert page.count('data-testid="billing-plan"') == 4 + PAST_PLANS_PER_PAGE
    assert "Older plans" in page and "Older plans" not in small_page
    # the plan whose renewal failed links to its open invoice
    notice = page.split("The last payment failed")[1].split("</p>")[0]
    assert 'href="https://invoice.stripe.test/i/in_' in notice and "Pay now" in notice


def test_the_plans_page_reads_as_many_queries_for_many_subscribers_as_for_a_few(client, history):
    coach = history["coach"]
    url = reverse("bookings:coach_plans")
    small, small_page = _queries(client, coach.user, url)
    _grow(history)

    full, page = _queries(client, coach.user, url)
    last, last_page = _queries(client, coach.user, f"{url}?page=3")

    assert full == small == last
    rows = re.compile(r"<tr>\s*<th scope=\"row\">")
    table = 'data-testid="coach-plan-subscribers"'
    # the client's three plans of the coach (one ended) and two others'; then 11 more ended
    # ones of the client's and 48 of the 60 new subscribers (not those awaiting payment)
    assert len(rows.findall(small_page.split(table)[1])) == 5
    assert len(rows.findall(page.split(table)[1])) == SUBSCRIBERS_PER_PAGE
    assert "Page 1 of 3" in page
    assert len(rows.findall(last_page.split(table)[1])) == 5 + 11 + 48 - 2 * SUBSCRIBERS_PER_PAGE


def test_older_ended_plans_are_a_page_further_and_live_ones_stay_first(client, history):
    _grow(history)
    client.force_login(history["client"])
    url = reverse("bookings:billing")

    first = client.get(url).content.decode()
    second = client.get(url, {"past_plans": "2"}).content.decode()
    beyond = client.get(url, {"past_plans": "99"}).content.decode()

    # the live plans lead every page, before "Past plans"
    for page in (first, second):
        live, past = page.split('id="past-plans-heading"')
        assert live.count('data-testid="billing-plan"') == 4
        assert past.count('data-testid="billing-plan"') == PAST_PLANS_PER_PAGE
    # 22 ended plans: the last page holds the oldest ones left
    pages = -(-22 // PAST_PLANS_PER_PAGE)
    assert f"Page 2 of {pages}" in second and "Newer plans" in second
    assert f"Page {pages} of {pages}" in beyond
    oldest = 22 - (pages - 1) * PAST_PLANS_PER_PAGE
    assert beyond.split('id="past-plans-heading"')[1].count('data-testid="billing-plan"') == oldest
    assert "Ended on" in first


def test_a_client_with_only_ended_plans_sees_them_under_past_plans(client):
    _coach, plans = coach_with_plans(name="ines", plans=2)
    [former] = clients(1, prefix="former")
    plan_histories(
        [
            Story(former, plans[0], Status.ENDED, periods=3, ended_periods_ago=2),
            Story(former, plans[1], Status.ENDED, periods=1, ended_periods_ago=6),
        ]
    )
    client.force_login(former)

    page = client.get(reverse("bookings:billing")).content.decode()

    live, past = page.split('id="past-plans-heading"')
    assert "No current plans." in live and 'data-testid="billing-plan"' not in live
    assert past.count('data-testid="billing-plan"') == 2 and "Ended on" in past
    assert "Older plans" not in page
    # a page number that is not one is the first page
    assert client.get(reverse("bookings:billing"), {"past_plans": "x"}).status_code == 200
