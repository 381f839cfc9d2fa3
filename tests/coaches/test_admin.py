"""Verification in Django admin: queue, filters, search, preview, single and bulk decisions."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from coaches.models import ApplicationStatus, CoachProfile
from coaches.services import applications
from tests.coaches.factories import complete_application
from tests.factories import UserFactory
from tests.mfa import sign_in_with_totp

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    sign_in_with_totp(client, UserFactory(is_staff=True, is_superuser=True))
    return client


def submitted():
    application = complete_application()
    return applications.application_submit(application=application, by=application.coach.user)


def test_the_queue_filters_searches_and_previews(staff_client):
    first, second = submitted(), submitted()
    complete_application()  # a draft
    url = reverse("admin:coaches_coachapplication_changelist")
    page = staff_client.get(url + "?status__exact=submitted").content.decode()
    assert page.count('class="action-select"') == 2
    found = staff_client.get(url + f"?q={second.coach.user.email}").content.decode()
    assert found.count('class="action-select"') == 1
    detail = staff_client.get(
        reverse("admin:coaches_coachapplication_change", args=[first.pk])
    ).content.decode()
    assert reverse("coaches:certificate", args=[first.pk]) in detail
    assert "Open the PDF" in detail
    assert "Approve" in detail and "Reject" in detail


def test_bulk_approve_mails_each_coach(staff_client, django_capture_on_commit_callbacks):
    selected = [submitted(), submitted()]
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("admin:coaches_coachapplication_changelist"),
            {"action": "approve_selected", "_selected_action": [a.pk for a in selected]},
        )
    assert response.status_code == 302
    for application in selected:
        application.refresh_from_db()
        assert application.status == ApplicationStatus.APPROVED
        assert CoachProfile.objects.get(pk=application.coach_id).is_approved
    approved_mails = [m for m in mail.outbox if "verified coach" in m.subject]
    assert sorted(m.to[0] for m in approved_mails) == sorted(a.coach.user.email for a in selected)


def test_bulk_reject_asks_for_a_reason_first(staff_client, django_capture_on_commit_callbacks):
    selected = [submitted(), submitted()]
    url = reverse("admin:coaches_coachapplication_changelist")
    ids = [a.pk for a in selected]
    page = staff_client.post(url, {"action": "reject_selected", "_selected_action": ids})
    assert page.status_code == 200
    assert "Reason (sent to the coach)" in page.content.decode()
    # no reason: asked again, nothing changes
    staff_client.post(
        url, {"action": "reject_selected", "_selected_action": ids, "apply": "1", "reason": ""}
    )
    for application in selected:
        application.refresh_from_db()
    assert {a.status for a in selected} == {ApplicationStatus.SUBMITTED}
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(
            url,
            {
                "action": "reject_selected",
                "_selected_action": ids,
                "apply": "1",
                "reason": "Number does not match",
            },
        )
    for application in selected:
        application.refresh_from_db()
        assert application.status == ApplicationStatus.REJECTED
        assert application.rejection_reason == "Number does not match"
    assert sum("Number does not match" in m.body for m in mail.outbox) == 2


def test_single_decisions_from_the_application_page(staff_client):
    application = submitted()
    reject_url = reverse("admin:coaches_coachapplication_decide", args=[application.pk, "reject"])
    assert "Reason" in staff_client.get(reject_url).content.decode()
    staff_client.post(reject_url, {"reason": "Expired certificate"})
    application.refresh_from_db()
    assert application.status == ApplicationStatus.REJECTED
    applications.application_submit(application=application, by=application.coach.user)
    staff_client.post(
        reverse("admin:coaches_coachapplication_decide", args=[application.pk, "approve"])
    )
    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED
    detail = staff_client.get(
        reverse("admin:coaches_coachapplication_change", args=[application.pk])
    ).content.decode()
    assert "Expired certificate" in detail  # the history of decisions


def test_non_staff_cannot_reach_the_decisions(client):
    application = submitted()
    client.force_login(application.coach.user)
    url = reverse("admin:coaches_coachapplication_decide", args=[application.pk, "approve"])
    client.post(url)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED
