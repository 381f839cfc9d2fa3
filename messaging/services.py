"""Every change to conversations: starting, sending, reading, blocking, reporting, moderating.

Events for open pages and e-mail are queued with ``transaction.on_commit``: nothing is
pushed for a message that was rolled back.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial
from pathlib import PurePath

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from marketplace import preferences, states
from marketplace.emails import send_templated_email
from marketplace.errors import Conflict, DomainError, NotAllowed, NotFound
from marketplace.models import EmailKind, User
from marketplace.queue import enqueue
from messaging import realtime, selectors
from messaging.attachments import attachment_detect
from messaging.models import (
    BODY_MAX_LENGTH,
    Block,
    Message,
    ReadState,
    Report,
    ReportStatus,
    Sanction,
    SanctionKind,
    Thread,
)
from messaging.ratelimit import rate_limit_check
from messaging.rendering import message_payload

logger = logging.getLogger(__name__)

NOTIFY_INTERVAL = timedelta(hours=1)


def unread_email_delay() -> timedelta:
    return timedelta(seconds=getattr(settings, "MESSAGE_UNREAD_EMAIL_DELAY", 600))


# --- threads -------------------------------------------------------------------------------


def thread_open(*, by: User, coach: User | None = None, booking=None) -> Thread:
    """Find or create the thread between a client and a coach; ``by`` must be one of them.

    From a coach's profile ``by`` is the client and ``coach`` the coach. From a booking,
    either side of the booking may open it and the booking decides who is who.
    """
    if booking is not None:
        client, coach = booking.client, booking.coach.user
        if by.pk not in (client.pk, coach.pk):
            raise NotFound("No such booking.")
    else:
        if coach is None or not coach.is_coach or not coach.is_active:
            raise NotFound("No such coach.")
        if coach.pk == by.pk:
            raise DomainError("You cannot message yourself.", code="self_message")
        client = by
    thread = selectors.thread_find(client=client, coach=coach)
    if thread is None:
        try:
            with transaction.atomic():
                thread = Thread.objects.create(client=client, coach=coach)
                ReadState.objects.bulk_create(
                    [ReadState(thread=thread, user=client), ReadState(thread=thread, user=coach)]
                )
        except IntegrityError:
            # Someone opened the same thread at the same moment: theirs is the one.
            thread = Thread.objects.get(client=client, coach=coach)
    if booking is not None and thread.booking_id != booking.pk:
        Thread.objects.filter(pk=thread.pk).update(booking=booking)
        thread.booking = booking
    return thread


# --- sending -------------------------------------------------------------------------------


def message_send(
    *, thread: Thread, sender: User, body: str = "", attachment: UploadedFile | None = None
) -> Message:
    """Post a message; the other participant sees it live and is e-mailed if it stays unread."""
    if not thread.is_participant(sender):
        raise NotFound("No such conversation.")
    body = (body or "").strip()
    if not body and attachment is None:
        raise DomainError("Write a message or attach a file.", fields={"body": ["Required."]})
    if len(body) > BODY_MAX_LENGTH:
        raise DomainError(
            f"Messages can be at most {BODY_MAX_LENGTH} characters.",
            fields={"body": [f"{len(body)} characters; the maximum is {BODY_MAX_LENGTH}."]},
        )
    recipient = thread.other_participant(sender)
    suspended, blocked = selectors.sender_restrictions(sender=sender, recipient=recipient)
    if suspended:
        raise NotAllowed(
            "Your messaging has been suspended by a moderator.", code="messaging_suspended"
        )
    if blocked:
        raise NotAllowed("Messages cannot be sent in this conversation.", code="blocked")
    detected = attachment_detect(attachment) if attachment is not None else None
    rate_limit_check(key=f"messaging:{sender.pk}", rate=settings.MESSAGE_RATE_LIMIT)

    with transaction.atomic():
        locked = Thread.objects.select_for_update().get(pk=thread.pk)
        limit = settings.MESSAGES_BEFORE_BOOKING_LIMIT
        # Counting first: the bookings query runs only for a client at the limit.
        if (
            sender.pk == locked.client_id
            and selectors.client_messages_in(thread=locked) >= limit
            and not selectors.has_booking_between(client=sender, coach=recipient)
        ):
            raise NotAllowed(
                f"Before your first booking you can send this coach up to {limit} messages. "
                "Book a session to keep the conversation going.",
                code="limit_before_booking",
            )
        seq = locked.last_seq + 1
        message = Message(thread=locked, sender=sender, seq=seq, body=body)
        if attachment is not None and detected is not None:
            mime, extension = detected
            message.attachment_name = PurePath(attachment.name or "attachment").name[:200]
            message.attachment_type = mime
            message.attachment_size = attachment.size or 0
            message.attachment.save(f"upload.{extension}", attachment, save=False)
        message.save()
        Thread.objects.filter(pk=locked.pk).update(last_seq=seq, last_message_at=message.created_at)
        ReadState.objects.filter(thread=locked, user=sender).update(
            last_read_seq=seq, read_at=message.created_at
        )
        thread.last_seq, thread.last_message_at = seq, message.created_at
        # the recipient has one more unread; the sender has read up to their own message
        transaction.on_commit(
            partial(selectors.unread_badge_forget, user_ids=[recipient.pk, sender.pk])
        )
        transaction.on_commit(
            lambda: realtime.defer(partial(_announce_message, message, recipient.pk))
        )
        enqueue(
            "messaging.notify_unread",
            thread_id=locked.pk,
            user_id=recipient.pk,
            countdown=unread_email_delay().total_seconds() + 1,
        )
    return message


def _announce_message(message: Message, recipient_id: int) -> None:
    payload = message_payload(message)
    realtime.push(
        [realtime.thread_group(message.thread_id)],
        realtime.event({"kind": "message", "message": payload}),
    )
    _announce_unread(recipient_id, thread_id=message.thread_id)


def _announce_unread(user_id: int, *, thread_id: int) -> None:
    total, in_thread = selectors.unread_counts(user=User(pk=user_id), thread_id=thread_id)
    realtime.push(
        [realtime.user_group(user_id)],
        realtime.event(
            {"kind": "unread", "count": total, "thread": thread_id, "thread_unread": in_thread}
        ),
    )


# --- reading -------------------------------------------------------------------------------


def thread_mark_read(*, thread: Thread, user: User, up_to_seq: int | None = None) -> ReadState:
    """Move the user's read mark forward (never back) to ``up_to_seq`` or the newest message."""
    if not thread.is_participant(user):
        raise NotFound("No such conversation.")
    with transaction.atomic():
        state = ReadState.objects.select_for_update().get(thread=thread, user=user)
        last_seq = Thread.objects.values_list("last_seq", flat=True).get(pk=thread.pk)
        target = last_seq if up_to_seq is None else max(0, min(up_to_seq, last_seq))
        if target <= state.last_read_seq:
            return state
        state.last_read_seq = target
        state.read_at = timezone.now()
        state.save(update_fields=["last_read_seq", "read_at"])
        transaction.on_commit(partial(selectors.unread_badge_forget, user_ids=[user.pk]))

        def announce() -> None:
            realtime.push(
                [realtime.thread_group(thread.pk)],
                realtime.event({"kind": "read", "user": user.pk, "seq": target}),
            )
            _announce_unread(user.pk, thread_id=thread.pk)

        transaction.on_commit(lambda: realtime.defer(announce))
    return state


# --- blocking ------------------------------------------------------------------------------


def user_block(*, blocker: User, blocked: User) -> Block:
    if blocker.pk == blocked.pk:
        raise DomainError("You cannot block yourself.", code="self_block")
    block, _ = Block.objects.get_or_create(blocker=blocker, blocked=blocked)
    return block


def user_unblock(*, blocker: User, blocked: User) -> None:
    Block.objects.filter(blocker=blocker, blocked=blocked).delete()


# --- reports and moderation ----------------------------------------------------------------


def message_report(*, message: Message, reporter: User, reason: str) -> Report:
    """A participant reports the other's message; staff are alerted by e-mail."""
    if not message.thread.is_participant(reporter):
        raise NotFound("No such message.")
    if message.sender_id == reporter.pk:
        raise DomainError("You cannot report your own message.", code="own_message")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Say what is wrong with this message.", fields={"reason": ["Required."]})
    if len(reason) > 1000:
        raise DomainError(
            "Keep the reason under 1,000 characters.", fields={"reason": ["Too long."]}
        )
    try:
        with transaction.atomic():
            report = Report.objects.create(message=message, reporter=reporter, reason=reason)
    except IntegrityError:
        raise Conflict("You have already reported this message.", code="already_reported") from None
    send_templated_email(
        to=list(settings.STAFF_ALERT_EMAILS),
        subject="A message was reported",
        template="messaging_report",
        context={"report": report},
    )
    return report


def _resolve(report: Report, *, moderator: User, resolution: str, status: str) -> None:
    """Close a report the caller has locked; a second action on a resolved report adds its
    resolution to the first."""
    fields = {
        "resolution": "; ".join(filter(None, [report.resolution, resolution]))[:200],
        "resolved_by": moderator,
        "resolved_at": timezone.now(),
    }
    if not states.transition(
        report, status, by=moderator, source="moderation", note=resolution, changes=fields
    ):
        for name, value in fields.items():
            setattr(report, name, value)
        report.save(update_fields=list(fields))


def message_hide(*, message: Message, moderator: User, report: Report | None = None) -> Message:
    """Hide a message from both participants (kept for the record); pages update live."""
    with transaction.atomic():
        locked = Message.objects.select_for_update().select_related("sender").get(pk=message.pk)
        if locked.hidden_at is None:
            locked.hidden_at = timezone.now()
            locked.hidden_by = moderator
            locked.save(update_fields=["hidden_at", "hidden_by"])
            recipient_id = (
                locked.thread.coach_id
                if locked.sender_id == locked.thread.client_id
                else locked.thread.client_id
            )
            transaction.on_commit(partial(selectors.unread_badge_forget, user_ids=[recipient_id]))

            def announce() -> None:
                realtime.push(
                    [realtime.thread_group(locked.thread_id)],
                    realtime.event({"kind": "hidden", "message": message_payload(locked)}),
                )
                _announce_unread(recipient_id, thread_id=locked.thread_id)

            transaction.on_commit(lambda: realtime.defer(announce))
        if report is not None:
            _resolve(report, moderator=moderator, resolution="message hidden", status="resolved")
    return locked


def user_warn(
    *, user: User, moderator: User, report: Report | None = None, note: str = ""
) -> Sanction:
    with transaction.atomic():
        sanction = Sanction.objects.create(
            user=user, kind=SanctionKind.WARNING, report=report, note=note, created_by=moderator
        )
        if report is not None:
            _resolve(report, moderator=moderator, resolution="sender warned", status="resolved")
        send_templated_email(
            to=user.email,
            subject="A warning about your messages",
            template="messaging_warning",
            context={"user": user, "sanction": sanction},
        )
    return sanction


def user_suspend(
    *, user: User, moderator: User, report: Report | None = None, note: str = ""
) -> Sanction:
    """Stop ``user`` from sending messages until a moderator lifts the suspension."""
    with transaction.atomic():
        existing = Sanction.objects.filter(
            user=user, kind=SanctionKind.SUSPENSION, lifted_at__isnull=True
        ).first()
        sanction = existing or Sanction.objects.create(
            user=user, kind=SanctionKind.SUSPENSION, report=report, note=note, created_by=moderator
        )
        if report is not None:
            _resolve(report, moderator=moderator, resolution="sender suspended", status="resolved")
        if existing is None:
            send_templated_email(
                to=user.email,
                subject="Your messaging is suspended",
                template="messaging_suspended",
                context={"user": user, "sanction": sanction},
            )
    return sanction


def sanction_lift(*, sanction: Sanction) -> Sanction:
    Sanction.objects.filter(pk=sanction.pk, lifted_at__isnull=True).update(lifted_at=timezone.now())
    sanction.refresh_from_db()
    return sanction


def report_dismiss(*, report: Report, moderator: User) -> Report:
    with transaction.atomic():
        locked = Report.objects.select_for_update().get(pk=report.pk)
        if locked.status == ReportStatus.OPEN:
            _resolve(locked, moderator=moderator, resolution="dismissed", status="dismissed")
    return locked


# --- unread e-mail -------------------------------------------------------------------------


def unread_notification_send(*, thread_id: int, user_id: int) -> bool:
    """E-mail ``user`` about unread messages in the thread, at most once per thread per hour.

    Only messages unread for the delay (10 minutes) count. Safe to run twice and at the same
    time: the read-state row is locked and ``notified_at`` is the guard.
    """
    now = timezone.now()
    with transaction.atomic():
        state = (
            ReadState.objects.select_for_update(of=("self",))
            .select_related("thread", "user")
            .filter(thread_id=thread_id, user_id=user_id)
            .first()
        )
        if state is None or not state.user.is_active:
            return False
        if not preferences.email_allowed(state.user, EmailKind.UNREAD_MESSAGES):
            return False  # turned off in the account settings
        if state.notified_at is not None and state.notified_at > now - NOTIFY_INTERVAL:
            return False
        unread = Message.objects.filter(
            thread_id=thread_id, seq__gt=state.last_read_seq, hidden_at__isnull=True
        ).exclude(sender_id=user_id)
        oldest = unread.order_by("seq").select_related("sender").first()
        if oldest is None or oldest.created_at > now - unread_email_delay():
            return False
        state.notified_at = now
        state.save(update_fields=["notified_at"])
        send_templated_email(
            to=state.user.email,
            subject=f"New message from {oldest.sender.display_name}",
            template="messaging_unread",
            context={
                "user": state.user,
                "sender": oldest.sender,
                "count": unread.count(),
                "thread": state.thread,
            },
        )
    return True


def unread_notification_sweep() -> int:
    """Send every unread e-mail that is due (the beat safety net for lost countdown tasks)."""
    due_before = timezone.now() - unread_email_delay()
    candidates = (
        ReadState.objects.filter(
            thread__last_seq__gt=F("last_read_seq"), thread__last_message_at__isnull=False
        )
        .exclude(notified_at__gt=timezone.now() - NOTIFY_INTERVAL)
        .filter(
            thread__messages__seq__gt=F("last_read_seq"),
            thread__messages__created_at__lte=due_before,
            thread__messages__hidden_at__isnull=True,
        )
        .values_list("thread_id", "user_id")
        .distinct()
    )
    sent = 0
    for thread_id, user_id in list(candidates[:500]):
        sent += unread_notification_send(thread_id=thread_id, user_id=user_id)
    return sent
