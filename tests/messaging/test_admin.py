"""The moderation queue in Django admin: report -> hide message, warn or suspend the sender."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from messaging import services
from messaging.models import Message, Report, ReportStatus, Sanction, SanctionKind
from tests.factories import UserFactory
from tests.messaging.factories import add_message
from tests.mfa import sign_in_with_totp

pytestmark = pytest.mark.django_db


@pytest.fixture
def moderator():
    return UserFactory(is_staff=True, is_superuser=True, first_name="Mo", last_name="Derator")


@pytest.fixture
def report(thread, client_user, coach_user):
    add_message(thread, client_user, "context before")
    message = add_message(thread, coach_user, "Send me your card number")
    add_message(thread, client_user, "context after")
    return services.message_report(message=message, reporter=client_user, reason="Scam")


def run_action(client, action, report):
    return client.post(
        reverse("admin:messaging_report_changelist"),
        {"action": action, "_selected_action": [report.pk]},
        follow=True,
    )


def test_the_queue_lists_open_reports_with_context(client, moderator, report):
    sign_in_with_totp(client, moderator)
    listing = client.get(reverse("admin:messaging_report_changelist") + "?status__exact=open")
    assert b"Send me your card number" in listing.content
    detail = client.get(reverse("admin:messaging_report_change", args=[report.pk]))
    html = detail.content.decode()
    assert "context before" in html and "context after" in html and "Scam" in html
    assert f"/messages/{report.message.thread_id}/" in html


def test_hide_action_hides_the_message_and_resolves(client, moderator, report):
    sign_in_with_totp(client, moderator)
    response = run_action(client, "hide_message", report)
    assert b"Hid 1 message(s)." in response.content
    report.refresh_from_db()
    assert report.status == ReportStatus.RESOLVED and report.resolved_by == moderator
    message = Message.objects.get(pk=report.message_id)
    assert message.is_hidden
    # the participants now see the placeholder, not the text
    client.force_login(report.reporter)
    page = client.get(message.thread.get_absolute_url()).content.decode()
    assert "Send me your card number" not in page
    assert "This message was hidden by a moderator." in page


def test_warn_action_records_and_mails_the_sender(
    client, moderator, report, django_capture_on_commit_callbacks
):
    sign_in_with_totp(client, moderator)
    with django_capture_on_commit_callbacks(execute=True):
        run_action(client, "warn_sender", report)
    sanction = Sanction.objects.get()
    assert sanction.kind == SanctionKind.WARNING and sanction.user == report.message.sender
    assert mail.outbox[-1].to == [report.message.sender.email]
    assert "warning" in mail.outbox[-1].subject


def test_suspend_action_stops_the_sender_from_writing(client, moderator, report):
    # the moderator and the sender, each in a browser of their own
    staff_browser = Client()
    sign_in_with_totp(staff_browser, moderator)
    run_action(staff_browser, "suspend_sender", report)
    sender = report.message.sender
    client.force_login(sender)
    response = client.post(
        f"/api/messages/threads/{report.message.thread_id}/messages/",
        {"body": "hello?"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "messaging_suspended"
    # lifting the suspension in admin restores it
    staff_browser.post(
        reverse("admin:messaging_sanction_changelist"),
        {"action": "lift", "_selected_action": [Sanction.objects.get().pk]},
    )
    again = client.post(
        f"/api/messages/threads/{report.message.thread_id}/messages/",
        {"body": "hello?"},
        content_type="application/json",
    )
    assert again.status_code == 201


def test_dismiss_action(client, moderator, report):
    sign_in_with_totp(client, moderator)
    run_action(client, "dismiss", report)
    assert Report.objects.get().status == ReportStatus.DISMISSED
    assert not Message.objects.get(pk=report.message_id).is_hidden


def test_non_staff_cannot_reach_the_queue(client, client_user, report):
    client.force_login(client_user)
    response = client.get(reverse("admin:messaging_report_changelist"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
