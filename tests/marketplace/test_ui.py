"""The design system's components: a status badge's tone follows what the status means."""

from __future__ import annotations

import pytest
from django.template import Context, Template

from bookings.models import BookingStatus, PlanSubscription, PlanSubscriptionStatus
from marketplace.templatetags.ui import STATUS_TONES, status_tone


def render(source: str, **context) -> str:
    return Template("{% load ui %}" + source).render(Context(context))


@pytest.mark.parametrize(
    ("status", "tone"),
    [
        ("confirmed", "success"),
        ("completed", "success"),
        ("held", "pending"),
        ("no_show", "warning"),
        ("cancelled_by_client", "neutral"),
        ("cancelled_by_coach", "danger"),
        ("expired", "neutral"),
        ("failed", "danger"),
        ("something_new", "neutral"),
    ],
)
def test_each_status_has_the_tone_of_its_meaning(status, tone):
    assert status_tone(status) == tone


def test_every_booking_status_has_a_tone_and_not_all_the_same():
    tones = {STATUS_TONES[status] for status in BookingStatus.values}
    assert {"success", "pending", "warning", "neutral", "danger"} <= tones


def test_a_badge_carries_its_label_and_tone():
    class Row:
        status = "held"

        def get_status_display(self):
            return "Held"

    html = render('{% status_badge row testid="badge" %}', row=Row())
    assert 'class="status-badge status-pending"' in html
    assert 'data-testid="badge"' in html
    assert ">Held</span>" in html
    assert "status-warning" in render('{% status_badge "disputed" "Disputed" %}')


@pytest.mark.parametrize("status", [*PlanSubscriptionStatus, "no_such_status"])
def test_a_model_rows_badge_says_what_its_status_display_says(status):
    row = PlanSubscription(status=status)

    html = render("{% status_badge row %}", row=row)

    assert f">{row.get_status_display()}</span>" in html


def test_the_stepper_marks_done_and_current_steps():
    html = render('{% stepper "Pick a time,Topic,Review,Pay" 3 %}')
    assert html.count('class="done"') == 2
    assert '<li aria-current="step"><span class="step-label">Review</span></li>' in html
