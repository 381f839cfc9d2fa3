"""Pages: inbox, conversation, the forms posted from them, attachments, the nav badge."""

from __future__ import annotations

import io

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from messaging import services
from messaging.models import Block, Message, ReadState, Report, Thread
from tests.bookings.factories import BookingFactory
from tests.factories import CoachUserFactory, UserFactory
from tests.messaging.factories import ThreadFactory, add_message

pytestmark = pytest.mark.django_db


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "blue").save(buffer, format="PNG")
    return buffer.getvalue()


def test_inbox_empty_state(client, client_user):
    client.force_login(client_user)
    response = client.get(reverse("messaging:inbox"))
    assert response.status_code == 200
    assert b"No conversations yet." in response.content


def test_inbox_lists_threads_with_unread_counts_and_previews(client, thread, client_user):
    add_message(thread, thread.coach, "Welcome <b>aboard</b>")
    client.force_login(client_user)
    response = client.get(reverse("messaging:inbox"))
    html = response.content.decode()
    assert "Maya Brooks" in html
    assert "Welcome &lt;b&gt;aboard&lt;/b&gt;" in html
    assert f'data-thread-unread="{thread.pk}">1<' in html
    # the navigation badge from the context processor
    assert 'id="unread-badge" data-count="1"' in html


def test_the_badge_is_empty_for_a_user_with_nothing_unread(client, client_user):
    client.force_login(client_user)
    html = client.get("/").content.decode()
    assert 'id="unread-badge" data-count="0"' in html
    assert "messaging/live.js" in html


def test_conversation_page_shows_messages_escaped_with_links_and_marks_read(
    client, thread, client_user, coach_user
):
    add_message(thread, coach_user, "<script>alert(1)</script> see https://example.com/x")
    client.force_login(client_user)
    response = client.get(thread.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<a href="https://example.com/x" rel="nofollow noopener">' in html
    assert "Conversation with Maya Brooks" in html
    assert "times in Europe/London" in html
    assert ReadState.objects.get(thread=thread, user=client_user).last_read_seq == 1


def test_conversation_shows_the_booking_it_is_about(client):
    booking = BookingFactory()
    thread = services.thread_open(by=booking.client, booking=booking)
    client.force_login(booking.client)
    html = client.get(thread.get_absolute_url()).content.decode()
    assert "About the session on" in html
    assert booking.get_status_display() in html


def test_older_messages_are_paged(client, thread, client_user):
    Message.objects.bulk_create(
        Message(thread=thread, sender=client_user, seq=i, body=f"line {i}") for i in range(1, 61)
    )
    Thread.objects.filter(pk=thread.pk).update(last_seq=60)
    client.force_login(client_user)
    html = client.get(thread.get_absolute_url()).content.decode()
    assert "line 60" in html and "line 11<" in html and "line 10<" not in html
    assert '?before=11"' in html
    older = client.get(thread.get_absolute_url() + "?before=11").content.decode()
    assert "line 10<" in older and "line 1<" in older and "line 11<" not in older


def test_start_from_a_coach_profile_finds_or_creates_and_redirects(client, client_user):
    coach = CoachUserFactory()
    client.force_login(client_user)
    first = client.post(reverse("messaging:start"), {"coach": coach.pk})
    thread = Thread.objects.get()
    assert first.status_code == 302 and first["Location"] == thread.get_absolute_url()
    second = client.post(reverse("messaging:start"), {"coach": coach.pk})
    assert second["Location"] == thread.get_absolute_url() and Thread.objects.count() == 1


def test_start_from_a_booking(client):
    booking = BookingFactory()
    client.force_login(booking.coach.user)
    response = client.post(
        reverse("messaging:start"), {"coach": booking.coach.user_id, "booking": booking.pk}
    )
    thread = Thread.objects.get()
    assert response["Location"] == thread.get_absolute_url()
    assert thread.booking == booking and thread.client == booking.client


def test_start_bad_input(client, client_user):
    client.force_login(client_user)
    assert client.get(reverse("messaging:start")).status_code == 405
    missing = client.post(reverse("messaging:start"), {}, follow=True)
    assert b"Choose a coach to message." in missing.content
    assert client.post(reverse("messaging:start"), {"coach": "x"}).status_code == 302
    assert client.post(reverse("messaging:start"), {"coach": UserFactory().pk}).status_code == 404
    yourself = client.post(reverse("messaging:start"), {"coach": client_user.pk})
    assert yourself.status_code == 404  # a client is not a coach
    assert not Thread.objects.exists()


def test_send_form_without_javascript(client, thread, client_user, settings):
    settings.MESSAGES_BEFORE_BOOKING_LIMIT = 1
    client.force_login(client_user)
    url = reverse("messaging:send", args=[thread.pk])
    ok = client.post(url, {"body": "Hello from a plain form"})
    assert ok.status_code == 302 and Message.objects.get().body == "Hello from a plain form"
    refused = client.post(url, {"body": "again"}, follow=True)
    assert b"Before your first booking you can send this coach up to 1 messages" in refused.content
    empty = client.post(url, {"body": ""}, follow=True)
    assert b"Write a message or attach a file." in empty.content
    assert Message.objects.count() == 1


def test_report_form(client, thread, client_user, coach_user):
    message = add_message(thread, coach_user, "buy my crypto")
    client.force_login(client_user)
    url = reverse("messaging:report", args=[thread.pk, message.pk])
    response = client.post(url, {"reason": "Spam"}, follow=True)
    assert b"A moderator will look at this message." in response.content
    assert Report.objects.get().reason == "Spam"
    again = client.post(url, {"reason": "Spam"}, follow=True)
    assert b"already reported" in again.content
    own = add_message(thread, client_user, "mine")
    client.post(reverse("messaging:report", args=[thread.pk, own.pk]), {"reason": "x"})
    assert Report.objects.count() == 1


def test_block_and_unblock(client, thread, client_user, coach_user):
    client.force_login(coach_user)
    client.post(reverse("messaging:block", args=[thread.pk]))
    assert Block.objects.filter(blocker=coach_user, blocked=client_user).exists()
    page = client.get(thread.get_absolute_url()).content.decode()
    assert "You blocked Chloe Client." in page and 'id="send-form"' not in page
    assert "Unblock Chloe Client" in page
    client.force_login(client_user)
    other_side = client.get(thread.get_absolute_url()).content.decode()
    assert "Maya Brooks is not accepting messages from you." in other_side
    client.force_login(coach_user)
    client.post(reverse("messaging:unblock", args=[thread.pk]))
    assert not Block.objects.exists()


def test_attachments_are_served_only_through_the_view(
    client, thread, client_user, coach_user, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    image = services.message_send(
        thread=thread,
        sender=coach_user,
        attachment=SimpleUploadedFile("chart.png", png_bytes()),
    )
    pdf = services.message_send(
        thread=thread,
        sender=coach_user,
        attachment=SimpleUploadedFile("plan.pdf", b"%PDF-1.4\n%%EOF\n"),
    )
    client.force_login(client_user)
    shown = client.get(reverse("messaging:attachment", args=[thread.pk, image.pk]))
    assert shown.status_code == 200 and shown["Content-Type"] == "image/png"
    assert b"".join(shown.streaming_content) == png_bytes()
    assert shown["Cache-Control"].startswith("private")
    assert shown["X-Content-Type-Options"] == "nosniff"
    download = client.get(reverse("messaging:attachment", args=[thread.pk, pdf.pk]))
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith('attachment; filename="plan.pdf"')
    # the conversation shows the image and links the PDF
    html = client.get(thread.get_absolute_url()).content.decode()
    assert 'alt="Attachment: chart.png"' in html and ">plan.pdf</a>" in html
    # a message id from another thread does not resolve through this thread
    elsewhere = ThreadFactory(client=client_user)
    assert (
        client.get(reverse("messaging:attachment", args=[elsewhere.pk, image.pk])).status_code
        == 404
    )
    # no URL serves MEDIA_ROOT directly
    assert client.get(django_settings.MEDIA_URL + image.attachment.name).status_code == 404
    # a hidden message's file is gone for the participants
    services.message_hide(message=image, moderator=UserFactory(is_staff=True))
    assert (
        client.get(reverse("messaging:attachment", args=[thread.pk, image.pk])).status_code == 404
    )


def test_the_booking_page_tag_shows_the_conversation_or_a_button(rf, outsider):
    from django.template import Context, Template

    booking = BookingFactory()
    template = Template("{% load messaging_tags %}{% booking_conversation booking %}")

    def render(user) -> str:
        request = rf.get("/")
        request.user = user
        return template.render(Context({"request": request, "booking": booking}))

    # before any thread: a button that opens one about this booking
    before = render(booking.client)
    assert 'action="/messages/start/"' in before
    assert f'name="booking" value="{booking.pk}"' in before
    # with a thread: the latest messages and a link with the unread count
    thread = services.thread_open(by=booking.client, booking=booking)
    add_message(thread, booking.coach.user, "See you <b>Tuesday</b>")
    after = render(booking.client)
    assert "See you &lt;b&gt;Tuesday&lt;/b&gt;" in after
    assert f'href="{thread.get_absolute_url()}"' in after and "(1 unread)" in after
    # a stranger sees nothing
    assert render(outsider).strip() == ""
