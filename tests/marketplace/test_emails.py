"""Plain-text e-mails carry what people typed as they typed it; pages still escape it."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse

from bookings import notifications
from bookings.models import BookingStatus
from marketplace.emails import render_plain_text, send_templated_email
from messaging import services as messaging
from tests.bookings.factories import BookingFactory
from tests.factories import CoachUserFactory, UserFactory
from tests.messaging.factories import ThreadFactory, add_message

TYPED = '<b>"Tom & Jerry"</b>'
ENTITIES = ("&lt;", "&gt;", "&quot;", "&amp;", "&#x27;", "&#39;")

pytestmark = pytest.mark.django_db


def assert_verbatim(body: str) -> None:
    assert TYPED in body
    assert not any(entity in body for entity in ENTITIES), body


def test_a_plain_text_template_keeps_markup_characters():
    assert render_plain_text("emails/test_hello.txt", {"name": TYPED, "site_url": ""}).startswith(
        f"Hello {TYPED},"
    )


def test_every_text_template_relies_on_the_renderer_not_its_own_autoescape_tag():
    # One mechanism: the renderer turns escaping off for every plain-text e-mail, so a new
    # template cannot forget it.
    templates = sorted((Path(settings.BASE_DIR) / "templates" / "emails").glob("*.txt"))
    assert templates
    for template in templates:
        assert "autoescape" not in template.read_text(), template.name


def test_a_topic_arrives_verbatim_in_the_confirmation(django_capture_on_commit_callbacks):
    booking = BookingFactory(topic=TYPED, status=BookingStatus.CONFIRMED)
    with django_capture_on_commit_callbacks(execute=True):
        notifications.booking_confirmed(booking)
    assert len(mail.outbox) == 2
    for message in mail.outbox:
        assert_verbatim(message.body)


def test_a_cancellation_reason_arrives_verbatim(django_capture_on_commit_callbacks):
    booking = BookingFactory(cancellation_reason=TYPED, status=BookingStatus.CANCELLED_BY_CLIENT)
    with django_capture_on_commit_callbacks(execute=True):
        notifications.booking_cancelled(booking, refund=None, by_client=True)
    for message in mail.outbox:
        assert_verbatim(message.body)


def test_a_report_reason_arrives_verbatim_to_staff(django_capture_on_commit_callbacks):
    client_user, coach_user = UserFactory(), CoachUserFactory()
    thread = ThreadFactory(client=client_user, coach=coach_user)
    message = add_message(thread, coach_user, TYPED)
    with django_capture_on_commit_callbacks(execute=True):
        messaging.message_report(message=message, reporter=client_user, reason=TYPED)
    assert_verbatim(mail.outbox[-1].body)


def test_a_moderators_note_and_a_senders_name_arrive_verbatim(
    django_capture_on_commit_callbacks,
):
    sender = CoachUserFactory(first_name='Tom & "Jerry"', last_name="<b>")
    moderator = UserFactory(is_staff=True)
    with django_capture_on_commit_callbacks(execute=True):
        messaging.user_warn(user=sender, moderator=moderator, note=TYPED)
    body = mail.outbox[-1].body
    assert_verbatim(body)
    assert f"Hello {sender.display_name}," in body


def test_the_page_showing_the_same_topic_still_escapes_it(client):
    booking = BookingFactory(topic=TYPED)
    client.force_login(booking.client)
    page = client.get(reverse("bookings:detail", args=[booking.pk])).content.decode()
    assert "&lt;b&gt;&quot;Tom &amp; Jerry&quot;&lt;/b&gt;" in page
    assert TYPED not in page


def test_the_sent_text_is_queued_as_rendered(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        send_templated_email(
            to="coach@example.test", subject=TYPED, template="test_hello", context={"name": TYPED}
        )
    assert mail.outbox[0].subject == f"[Coach Connect] {TYPED}"
    assert_verbatim(mail.outbox[0].body)
