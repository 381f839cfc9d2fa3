"""Services: opening threads, sending with every rule, reading, blocking, moderation."""

from __future__ import annotations

import io
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone
from PIL import Image

from bookings.models import BookingStatus
from marketplace.errors import DomainError, NotAllowed, NotFound
from messaging import selectors, services
from messaging.models import Message, ReadState, Report, ReportStatus, SanctionKind, Thread
from tests.bookings.factories import BookingFactory
from tests.coaches.factories import CoachProfileFactory, SessionTypeFactory
from tests.factories import CoachUserFactory, UserFactory
from tests.messaging.factories import ThreadFactory, add_message

pytestmark = pytest.mark.django_db


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buffer, format="PNG")
    return buffer.getvalue()


PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


# --- opening -------------------------------------------------------------------------------


def test_thread_open_finds_the_same_thread_for_the_same_pair(client_user, coach_user):
    first = services.thread_open(by=client_user, coach=coach_user)
    second = services.thread_open(by=client_user, coach=coach_user)
    assert first.pk == second.pk
    assert Thread.objects.count() == 1
    assert set(ReadState.objects.values_list("user_id", flat=True)) == {
        client_user.pk,
        coach_user.pk,
    }


def test_thread_open_refuses_a_non_coach_and_oneself(client_user):
    other_client = UserFactory()
    with pytest.raises(NotFound):
        services.thread_open(by=client_user, coach=other_client)
    coach = CoachUserFactory()
    with pytest.raises(DomainError) as error:
        services.thread_open(by=coach, coach=coach)
    assert error.value.code == "self_message"


def test_thread_open_from_a_booking_links_it_and_either_side_may_open_it(outsider):
    booking = BookingFactory()
    coach_user = booking.coach.user
    thread = services.thread_open(by=coach_user, booking=booking)
    assert (thread.client_id, thread.coach_id, thread.booking_id) == (
        booking.client_id,
        coach_user.pk,
        booking.pk,
    )
    assert services.thread_open(by=booking.client, booking=booking).pk == thread.pk
    with pytest.raises(NotFound):
        services.thread_open(by=outsider, booking=booking)
    assert selectors.thread_for_booking(booking=booking, user=booking.client).pk == thread.pk
    assert selectors.thread_for_booking(booking=booking, user=outsider) is None


# --- sending -------------------------------------------------------------------------------


def test_messages_get_gapless_sequence_numbers_and_the_sender_has_read_them(
    thread, client_user, coach_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = services.message_send(thread=thread, sender=client_user, body="  Hi there  ")
        second = services.message_send(thread=thread, sender=coach_user, body="Hello!")
    assert (first.seq, second.seq, first.body) == (1, 2, "Hi there")
    thread.refresh_from_db()
    assert thread.last_seq == 2 and thread.last_message_at == second.created_at
    assert selectors.unread_count(user=client_user) == 1
    assert selectors.unread_count(user=coach_user) == 0  # read up to its own reply


def test_concurrent_sends_never_share_a_sequence_number(transactional_db, settings):
    # given: two people writing in the same thread at the same moment
    settings.MESSAGES_BEFORE_BOOKING_LIMIT = 100
    thread = ThreadFactory()
    errors: list[Exception] = []
    barrier = threading.Barrier(8)

    def write(sender, index):
        try:
            barrier.wait()
            services.message_send(thread=thread, sender=sender, body=f"message {index}")
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    # when
    workers = [
        threading.Thread(target=write, args=(thread.client if i % 2 else thread.coach, i))
        for i in range(8)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    # then
    assert errors == []
    assert sorted(Message.objects.filter(thread=thread).values_list("seq", flat=True)) == list(
        range(1, 9)
    )


def test_body_rules(thread, client_user):
    with pytest.raises(DomainError) as empty:
        services.message_send(thread=thread, sender=client_user, body="   ")
    assert empty.value.fields == {"body": ["Required."]}
    with pytest.raises(DomainError) as too_long:
        services.message_send(thread=thread, sender=client_user, body="x" * 5001)
    assert "5000" in too_long.value.message
    assert services.message_send(thread=thread, sender=client_user, body="x" * 5000).seq == 1


def test_a_non_participant_cannot_send(thread, outsider):
    with pytest.raises(NotFound):
        services.message_send(thread=thread, sender=outsider, body="Hi")
    assert not Message.objects.exists()


def test_rate_limit_stops_a_burst_with_a_clear_message(thread, coach_user, settings):
    # a day-long window: a burst cannot straddle the window edge (a minute one may, under load)
    settings.MESSAGE_RATE_LIMIT = "3/d"
    for index in range(3):
        services.message_send(thread=thread, sender=coach_user, body=f"n{index}")
    with pytest.raises(DomainError) as error:
        services.message_send(thread=thread, sender=coach_user, body="one too many")
    assert error.value.status_code == 429
    assert error.value.code == "rate_limited"
    assert "too quickly" in error.value.message and "wait" in error.value.message
    assert Message.objects.count() == 3


def test_client_is_limited_before_a_booking_but_not_after(client_user, settings):
    # given: a coach with a profile, and a thread with no booking yet
    settings.MESSAGES_BEFORE_BOOKING_LIMIT = 2
    profile = CoachProfileFactory()
    thread = ThreadFactory(client=client_user, coach=profile.user)
    services.message_send(thread=thread, sender=client_user, body="one")
    services.message_send(thread=thread, sender=client_user, body="two")
    # when / then: the third is refused, the coach may still answer
    with pytest.raises(NotAllowed) as error:
        services.message_send(thread=thread, sender=client_user, body="three")
    assert error.value.code == "limit_before_booking"
    assert "up to 2 messages" in error.value.message
    services.message_send(thread=thread, sender=profile.user, body="happy to help")
    # a held booking does not count, a confirmed one lifts the limit
    session_type = SessionTypeFactory(coach=profile)
    BookingFactory(session_type=session_type, client=client_user, status=BookingStatus.HELD)
    with pytest.raises(NotAllowed):
        services.message_send(thread=thread, sender=client_user, body="three")
    BookingFactory(
        session_type=session_type,
        client=client_user,
        status=BookingStatus.COMPLETED,
        starts_at=timezone.now() - timedelta(days=3),
        ends_at=timezone.now() - timedelta(days=3) + timedelta(hours=1),
    )
    assert services.message_send(thread=thread, sender=client_user, body="three").seq == 4


def test_blocking_stops_both_sides_and_unblocking_restores(thread, client_user, coach_user):
    services.user_block(blocker=coach_user, blocked=client_user)
    for sender in (client_user, coach_user):
        with pytest.raises(NotAllowed) as error:
            services.message_send(thread=thread, sender=sender, body="hello?")
        assert error.value.code == "blocked"
    services.user_unblock(blocker=coach_user, blocked=client_user)
    assert services.message_send(thread=thread, sender=client_user, body="hello").seq == 1


def test_attachments_are_typed_from_their_content(thread, client_user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    # a PNG named .pdf is stored as the PNG it is
    image = SimpleUploadedFile("photo.pdf", png_bytes(), content_type="application/pdf")
    message = services.message_send(thread=thread, sender=client_user, attachment=image)
    assert message.attachment_type == "image/png"
    assert message.attachment.name.endswith(".png")
    assert message.attachment_name == "photo.pdf"
    assert (tmp_path / message.attachment.name).read_bytes() == png_bytes()
    pdf = SimpleUploadedFile("plan.pdf", PDF_BYTES, content_type="image/png")
    assert (
        services.message_send(thread=thread, sender=client_user, body="plan", attachment=pdf)
    ).attachment_type == "application/pdf"
    # an HTML page or a script claiming to be an image is refused
    fake = SimpleUploadedFile("x.png", b"<script>alert(1)</script>", content_type="image/png")
    with pytest.raises(DomainError) as error:
        services.message_send(thread=thread, sender=client_user, attachment=fake)
    assert error.value.fields == {"attachment": ["This file type is not allowed."]}


def test_attachments_over_10_mb_are_refused(thread, client_user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    big = SimpleUploadedFile("big.pdf", PDF_BYTES + b"0" * (10 * 1024 * 1024))
    with pytest.raises(DomainError) as error:
        services.message_send(thread=thread, sender=client_user, attachment=big)
    assert "10 MB" in error.value.message
    assert not Message.objects.exists()
    assert not any(tmp_path.rglob("*.pdf"))


# --- reading -------------------------------------------------------------------------------


def test_mark_read_moves_forward_only(thread, client_user, coach_user):
    for index in range(3):
        add_message(thread, client_user, f"m{index}")
    assert selectors.unread_count(user=coach_user) == 3
    services.thread_mark_read(thread=thread, user=coach_user, up_to_seq=2)
    assert selectors.unread_count(user=coach_user) == 1
    services.thread_mark_read(thread=thread, user=coach_user, up_to_seq=1)
    assert ReadState.objects.get(thread=thread, user=coach_user).last_read_seq == 2
    services.thread_mark_read(thread=thread, user=coach_user, up_to_seq=99)
    assert ReadState.objects.get(thread=thread, user=coach_user).last_read_seq == 3
    assert selectors.other_read_seq(thread=thread, user=client_user) == 3


def test_unread_counts_over_threads_and_hidden_messages_do_not_count(client_user, coach_user):
    first = ThreadFactory(client=client_user, coach=coach_user)
    second = ThreadFactory(client=UserFactory(), coach=coach_user)
    add_message(first, client_user)
    hidden = add_message(second, second.client)
    add_message(second, second.client)
    assert selectors.unread_count(user=coach_user) == 3
    assert selectors.unread_count(user=coach_user, thread_id=second.pk) == 2
    services.message_hide(message=hidden, moderator=UserFactory(is_staff=True))
    assert selectors.unread_count(user=coach_user) == 2
    listed = {t.pk: t.unread for t in selectors.thread_list_for_user(user=coach_user)}
    assert listed == {first.pk: 1, second.pk: 1}


def test_message_pages_and_catch_up(thread, client_user):
    for index in range(7):
        add_message(thread, client_user, f"m{index + 1}")
    newest, more = selectors.message_page(thread=thread, limit=3)
    assert [m.seq for m in newest] == [5, 6, 7] and more
    older, more = selectors.message_page(thread=thread, before=5, limit=3)
    assert [m.seq for m in older] == [2, 3, 4] and more
    oldest, more = selectors.message_page(thread=thread, before=2, limit=3)
    assert [m.seq for m in oldest] == [1] and not more
    after, more = selectors.message_page(thread=thread, after=5, limit=3)
    assert [m.seq for m in after] == [6, 7] and not more


# --- reports and moderation ----------------------------------------------------------------


def test_report_alerts_staff_and_only_once_per_reporter(
    thread, client_user, coach_user, settings, django_capture_on_commit_callbacks
):
    settings.STAFF_ALERT_EMAILS = ["mods@example.test"]
    message = add_message(thread, coach_user, "rude words")
    with django_capture_on_commit_callbacks(execute=True):
        report = services.message_report(message=message, reporter=client_user, reason="Rude")
    assert report.status == ReportStatus.OPEN
    assert mail.outbox[-1].to == ["mods@example.test"]
    assert f"/admin/messaging/report/{report.pk}/change/" in mail.outbox[-1].body
    with pytest.raises(DomainError) as again:
        services.message_report(message=message, reporter=client_user, reason="Rude")
    assert again.value.status_code == 409
    with pytest.raises(DomainError):
        services.message_report(message=message, reporter=coach_user, reason="mine")
    with pytest.raises(NotFound):
        services.message_report(message=message, reporter=UserFactory(), reason="nosy")


def test_moderation_hides_warns_and_suspends(
    thread, client_user, coach_user, django_capture_on_commit_callbacks
):
    moderator = UserFactory(is_staff=True, is_superuser=True)
    message = add_message(thread, coach_user, "spam spam")
    report = services.message_report(message=message, reporter=client_user, reason="Spam")
    with django_capture_on_commit_callbacks(execute=True):
        services.message_hide(message=message, moderator=moderator, report=report)
        services.user_warn(user=coach_user, moderator=moderator, report=report, note="No spam")
        sanction = services.user_suspend(user=coach_user, moderator=moderator, report=report)
    message.refresh_from_db()
    report.refresh_from_db()
    assert message.is_hidden and message.hidden_by == moderator
    assert report.status == ReportStatus.RESOLVED
    assert report.resolution == "message hidden; sender warned; sender suspended"
    assert sanction.kind == SanctionKind.SUSPENSION
    subjects = [m.subject for m in mail.outbox if m.to == [coach_user.email]]
    assert any("warning" in s for s in subjects) and any("suspended" in s for s in subjects)
    # a suspended user cannot send, until the suspension is lifted
    with pytest.raises(NotAllowed) as error:
        services.message_send(thread=thread, sender=coach_user, body="back")
    assert error.value.code == "messaging_suspended"
    services.sanction_lift(sanction=sanction)
    assert services.message_send(thread=thread, sender=coach_user, body="back").seq == 2
    assert Report.objects.get().resolved_by == moderator


# --- unread e-mail (decision logic; the real worker test is test_worker.py) ----------------


def test_unread_email_waits_for_the_delay_then_once_an_hour(
    thread, client_user, coach_user, settings, django_capture_on_commit_callbacks
):
    settings.MESSAGE_UNREAD_EMAIL_DELAY = 600
    message = add_message(thread, client_user, "Are you free Tuesday?")
    # not yet 10 minutes old: nothing
    assert not services.unread_notification_send(thread_id=thread.pk, user_id=coach_user.pk)
    Message.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(minutes=11))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.unread_notification_send(thread_id=thread.pk, user_id=coach_user.pk)
        assert not services.unread_notification_send(thread_id=thread.pk, user_id=coach_user.pk)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [coach_user.email]
    assert f"/messages/{thread.pk}/" in mail.outbox[0].body
    # read messages are never mailed about
    ReadState.objects.filter(thread=thread, user=coach_user).update(notified_at=None)
    services.thread_mark_read(thread=thread, user=coach_user)
    assert not services.unread_notification_send(thread_id=thread.pk, user_id=coach_user.pk)


def test_the_sweep_sends_what_is_due(thread, client_user, coach_user, settings):
    settings.MESSAGE_UNREAD_EMAIL_DELAY = 600
    old = add_message(thread, client_user, "old")
    Message.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(minutes=30))
    fresh_thread = ThreadFactory(coach=coach_user)
    add_message(fresh_thread, fresh_thread.client, "fresh")
    assert services.unread_notification_sweep() == 1
    assert services.unread_notification_sweep() == 0
    state = ReadState.objects.get(thread=thread, user=coach_user)
    assert state.notified_at is not None


def test_demo_conversation_is_seeded_once(django_capture_on_commit_callbacks):
    from marketplace.demo import seed_demo_users
    from messaging.demo import seed_demo_conversations

    seed_demo_users()
    with django_capture_on_commit_callbacks(execute=True):
        thread = seed_demo_conversations()
    again = seed_demo_conversations()
    assert again.pk == thread.pk and thread.messages.count() == 3
    assert selectors.unread_count(user=thread.coach) == 1
    assert selectors.unread_count(user=thread.client) == 0
