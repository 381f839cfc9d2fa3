"""Application transitions, decisions history, e-mails and who may do what."""

from __future__ import annotations

import pytest
from django.core import mail

from coaches.models import ApplicationDecision, ApplicationStatus, CoachProfile
from coaches.services import applications, profiles
from marketplace.errors import DomainError, InvalidTransition, NotAllowed
from tests.coaches.factories import complete_application
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff():
    return UserFactory(is_staff=True, email="staff@example.test")


@pytest.fixture
def draft():
    return complete_application()


def test_draft_to_submitted_records_history_and_mails_the_coach(
    draft, django_capture_on_commit_callbacks
):
    coach_user = draft.coach.user
    with django_capture_on_commit_callbacks(execute=True):
        applications.application_submit(application=draft, by=coach_user)
    draft.refresh_from_db()
    assert draft.status == ApplicationStatus.SUBMITTED
    assert draft.submitted_at is not None
    decision = ApplicationDecision.objects.get(application=draft)
    assert (decision.from_status, decision.to_status, decision.actor) == (
        "draft",
        "submitted",
        coach_user,
    )
    assert mail.outbox[-1].to == [coach_user.email]
    assert "received" in mail.outbox[-1].subject


def test_submit_refuses_an_incomplete_application():
    application = complete_application()
    application.completed_steps = ["personal"]
    application.save()
    with pytest.raises(DomainError, match="certification step"):
        applications.application_submit(application=application, by=application.coach.user)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.DRAFT


def test_only_the_coach_submits(draft):
    with pytest.raises(NotAllowed):
        applications.application_submit(application=draft, by=UserFactory())


def test_approve_makes_the_coach_approved_and_mails_them(
    draft, staff, django_capture_on_commit_callbacks
):
    applications.application_submit(application=draft, by=draft.coach.user)
    with django_capture_on_commit_callbacks(execute=True):
        applications.application_approve(application=draft, by=staff)
    draft.refresh_from_db()
    assert draft.status == ApplicationStatus.APPROVED
    assert draft.decided_by == staff
    assert CoachProfile.objects.get(pk=draft.coach_id).is_approved
    assert mail.outbox[-1].to == [draft.coach.user.email]
    assert "verified coach" in mail.outbox[-1].subject
    history = list(draft.decisions.values_list("from_status", "to_status", "actor"))
    assert history == [
        ("draft", "submitted", draft.coach.user.pk),
        ("submitted", "approved", staff.pk),
    ]


def test_reject_needs_a_reason(draft, staff):
    applications.application_submit(application=draft, by=draft.coach.user)
    with pytest.raises(DomainError, match="reason"):
        applications.application_reject(application=draft, by=staff, reason="  ")
    draft.refresh_from_db()
    assert draft.status == ApplicationStatus.SUBMITTED


def test_reject_then_resubmit_then_approve(draft, staff, django_capture_on_commit_callbacks):
    applications.application_submit(application=draft, by=draft.coach.user)
    with django_capture_on_commit_callbacks(execute=True):
        applications.application_reject(
            application=draft, by=staff, reason="Certificate unreadable"
        )
    draft.refresh_from_db()
    assert draft.status == ApplicationStatus.REJECTED
    assert draft.rejection_reason == "Certificate unreadable"
    assert "Certificate unreadable" in mail.outbox[-1].body
    # the coach corrects a step and resubmits
    applications.application_save_step(
        application=draft, step="experience", values={"years_experience": 7}
    )
    applications.application_submit(application=draft, by=draft.coach.user)
    applications.application_approve(application=draft, by=staff)
    draft.refresh_from_db()
    assert draft.status == ApplicationStatus.APPROVED
    assert [d.to_status for d in draft.decisions.all()] == [
        "submitted",
        "rejected",
        "submitted",
        "approved",
    ]
    assert draft.decisions.get(to_status="rejected").reason == "Certificate unreadable"


def test_revoking_an_approval_hides_the_coach(draft, staff):
    applications.application_submit(application=draft, by=draft.coach.user)
    applications.application_approve(application=draft, by=staff)
    applications.application_reject(application=draft, by=staff, reason="Licence withdrawn")
    assert not CoachProfile.objects.get(pk=draft.coach_id).is_approved
    assert not CoachProfile.objects.bookable().filter(pk=draft.coach_id).exists()


@pytest.mark.parametrize(
    ("status", "move"),
    [
        ("draft", "approve"),
        ("draft", "reject"),
        ("rejected", "approve"),
        ("rejected", "reject"),
        ("approved", "submit"),
    ],
)
def test_transitions_outside_the_table_are_refused(draft, staff, status, move):
    draft.status = status
    draft.rejection_reason = "x" if status == "rejected" else ""
    draft.save()
    call = {
        "approve": lambda: applications.application_approve(application=draft, by=staff),
        "reject": lambda: applications.application_reject(application=draft, by=staff, reason="r"),
        "submit": lambda: applications.application_submit(application=draft, by=draft.coach.user),
    }[move]
    with pytest.raises(InvalidTransition):
        call()
    draft.refresh_from_db()
    assert draft.status == status


def test_a_submitted_or_approved_application_cannot_be_edited(draft, staff):
    applications.application_submit(application=draft, by=draft.coach.user)
    with pytest.raises(InvalidTransition):
        applications.application_save_step(
            application=draft, step="personal", values={"phone": "+1 555 0000"}
        )


def test_approve_twice_is_a_no_op(draft, staff):
    applications.application_submit(application=draft, by=draft.coach.user)
    applications.application_approve(application=draft, by=staff)
    applications.application_approve(application=draft, by=staff)
    assert draft.decisions.filter(to_status="approved").count() == 1


def test_a_client_account_cannot_start_an_application():
    with pytest.raises(NotAllowed):
        profiles.coach_profile_start(user=UserFactory())


def test_charges_enabled_and_approval_together_make_a_coach_bookable(draft, staff):
    coach = draft.coach
    coach.can_take_charges = False
    coach.save()
    applications.application_submit(application=draft, by=coach.user)
    applications.application_approve(application=draft, by=staff)
    assert not CoachProfile.objects.bookable().filter(pk=coach.pk).exists()
    profiles.coach_set_charges_enabled(coach=coach.user, enabled=True)
    assert CoachProfile.objects.bookable().filter(pk=coach.pk).exists()
