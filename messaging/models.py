"""Threads between one client and one coach, their messages, read state and moderation.

Ordering inside a thread is by ``Message.seq``: a gapless number given under the thread's row
lock, so it grows in commit order. Clients catch up with "everything after seq N" and can
tell a missing message from a duplicate, whatever the transport (WebSocket or polling).
"""

from __future__ import annotations

import uuid
from pathlib import PurePath

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from marketplace import states

BODY_MAX_LENGTH = 5000


def attachment_path(instance: Message, filename: str) -> str:
    """A random name under MEDIA_ROOT; the original name is kept on the row, not on disk."""
    suffix = PurePath(filename).suffix.lower()[:10]
    return f"messaging/attachments/{uuid.uuid4().hex}{suffix}"


class Thread(models.Model):
    client = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="client_threads"
    )
    coach = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="coach_threads"
    )
    booking = models.ForeignKey(
        "bookings.Booking",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The booking this conversation is about, when it was opened from one.",
    )
    last_seq = models.PositiveIntegerField(default=0)
    last_message_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-last_message_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "coach"], name="messaging_thread_one_per_pair"
            ),
            models.CheckConstraint(
                condition=~Q(client=models.F("coach")), name="messaging_thread_two_people"
            ),
        ]

    def __str__(self) -> str:
        return f"Thread #{self.pk}: {self.client} / {self.coach}"

    def get_absolute_url(self) -> str:
        return reverse("messaging:thread", args=[self.pk])

    def is_participant(self, user) -> bool:
        return user.is_authenticated and user.pk in (self.client_id, self.coach_id)

    def other_participant(self, user):
        return self.coach if user.pk == self.client_id else self.client


class ReadState(models.Model):
    """One row per participant: how far they have read and when they were last e-mailed."""

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="read_states")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="message_read_states"
    )
    last_read_seq = models.PositiveIntegerField(default=0)
    read_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["thread", "user"], name="messaging_readstate_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} read #{self.thread_id} up to {self.last_read_seq}"


class Message(models.Model):
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="messages")
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sent_messages"
    )
    seq = models.PositiveIntegerField()
    body = models.TextField(max_length=BODY_MAX_LENGTH, blank=True)
    attachment = models.FileField(upload_to=attachment_path, blank=True, max_length=200)
    attachment_name = models.CharField(max_length=200, blank=True)
    attachment_type = models.CharField(max_length=100, blank=True)
    attachment_size = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["thread", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["thread", "seq"], name="messaging_message_seq_unique"),
            models.CheckConstraint(
                condition=~Q(body="") | ~Q(attachment=""), name="messaging_message_not_empty"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.thread_id}.{self.seq} by {self.sender}"

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None

    @property
    def attachment_is_image(self) -> bool:
        return self.attachment_type.startswith("image/")


class Block(models.Model):
    """``blocker`` no longer hears from ``blocked``; neither can write in their thread."""

    blocker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="message_blocks"
    )
    blocked = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["blocker", "blocked"], name="messaging_block_unique")
        ]

    def __str__(self) -> str:
        return f"{self.blocker} blocked {self.blocked}"


class ReportStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"
    DISMISSED = "dismissed", "Dismissed"


# Staff act on an open report; a resolved one may get a further action (hide, then warn).
REPORT_TRANSITIONS: dict[str, frozenset[str]] = {
    ReportStatus.OPEN: frozenset({ReportStatus.RESOLVED, ReportStatus.DISMISSED}),
    ReportStatus.RESOLVED: frozenset(),
    ReportStatus.DISMISSED: frozenset({ReportStatus.RESOLVED}),
}


class Report(models.Model):
    """A participant flags a message; staff work the queue in Django admin."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="message_reports"
    )
    reason = models.TextField(max_length=1000)
    status = models.CharField(
        max_length=20, choices=ReportStatus.choices, default=ReportStatus.OPEN, db_index=True
    )
    resolution = models.CharField(max_length=200, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["message", "reporter"], name="messaging_report_once_per_reporter"
            )
        ]

    def __str__(self) -> str:
        return f"Report #{self.pk} on message {self.message_id} ({self.status})"


states.register(Report, transitions=REPORT_TRANSITIONS)


class SanctionKind(models.TextChoices):
    WARNING = "warning", "Warning"
    SUSPENSION = "suspension", "Messaging suspended"


class Sanction(models.Model):
    """A moderator's warning or messaging suspension of a user, with the report behind it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="message_sanctions"
    )
    kind = models.CharField(max_length=20, choices=SanctionKind.choices, db_index=True)
    report = models.ForeignKey(
        Report, on_delete=models.SET_NULL, null=True, blank=True, related_name="sanctions"
    )
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    lifted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.user}"
