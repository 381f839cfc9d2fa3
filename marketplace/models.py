from __future__ import annotations

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils import timezone


class Role(models.TextChoices):
    CLIENT = "client", "Client: I want to book coaching"
    COACH = "coach", "Coach: I offer coaching"
    BOTH = "both", "Both"


class AccountManager(UserManager["User"]):
    """Users sign in by e-mail; the username is never asked for."""

    def _create_user(self, username, email, password, **extra_fields):  # type: ignore[override]
        email = self.normalize_email(email)
        user = self.model(email=email, **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email=None, password=None, **extra_fields):  # type: ignore[override]
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(None, email, password, **extra_fields)

    def create_superuser(self, email=None, password=None, **extra_fields):  # type: ignore[override]
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(None, email, password, **extra_fields)


class User(AbstractUser):
    username = None  # type: ignore[assignment]
    email = models.EmailField("e-mail address", unique=True)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.CLIENT, db_index=True)
    time_zone = models.CharField(max_length=64, default="UTC")

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []  # type: ignore[misc]

    objects = AccountManager()  # type: ignore[misc]

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    @property
    def is_coach(self) -> bool:
        return self.role in (Role.COACH, Role.BOTH)

    @property
    def is_client(self) -> bool:
        return self.role in (Role.CLIENT, Role.BOTH)

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.email.split("@")[0]


class SentMail(models.Model):
    """A copy of every e-mail sent in development, for the /dev/mail/ inbox and for tests."""

    to = models.TextField()
    subject = models.CharField(max_length=998)
    body = models.TextField()
    html_body = models.TextField(blank=True)
    attachments = models.JSONField(default=list, blank=True)
    sent_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-sent_at", "-id"]

    def __str__(self) -> str:
        return f"{self.subject} -> {self.to}"


class StatusChange(models.Model):
    """One move of a status field of a money or moderation row (a payment, a refund, a
    transfer, a package purchase, ...): who or what moved it, why, and when.

    Written by ``marketplace.states.transition`` only. Bookings, connected accounts and coach
    applications keep their own history tables, shown on their admin pages.
    """

    model = models.CharField(max_length=100)  # the row's model label, "payments.payment"
    object_id = models.BigIntegerField()
    field = models.CharField(max_length=40, default="status")
    from_state = models.CharField(max_length=40)
    to_state = models.CharField(max_length=40)
    actor = models.ForeignKey(
        "marketplace.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=40, blank=True)
    note = models.TextField(blank=True)
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["changed_at", "id"]
        indexes = [models.Index(fields=["model", "object_id"], name="status_change_row_idx")]

    def __str__(self) -> str:
        return f"{self.model} {self.object_id}: {self.from_state} -> {self.to_state}"


class TaskFailure(models.Model):
    """A Celery task that failed for good (its retries spent, or an error it does not retry),
    written by the worker's ``task_failure`` signal (``marketplace.observability``) and
    counted on the staff operations page."""

    task_name = models.CharField(max_length=200, db_index=True)
    task_id = models.CharField(max_length=255)
    args = models.JSONField(default=list, blank=True)
    error = models.TextField()
    failed_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-failed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.task_name} {self.task_id} failed"


class OutboxMessage(models.Model):
    """A task queued by ``marketplace.queue.enqueue``, written in the caller's transaction.

    Published to the broker right after the commit and then deleted; a row left here is a
    task whose publish failed (the broker was down or too slow), sent by the
    ``marketplace.drain_outbox`` beat task, which keeps it a day with ``sent_at`` set.
    ``args`` and ``kwargs`` hold the task's arguments as Celery's JSON serializer writes them.
    """

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    kwargs = models.JSONField(default=dict)
    eta = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # the drain's clean-up of rows it sent (rows published at once never have sent_at)
            models.Index(
                fields=["sent_at"],
                name="outbox_sent_idx",
                condition=models.Q(sent_at__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"{self.task} {self.args} ({'sent' if self.sent_at else 'waiting'})"


class EmailKind(models.TextChoices):
    """The e-mails the product sends that a person may turn off. Every other e-mail (a
    confirmation, a cancellation, a refund, an account or moderation notice) is always sent:
    it is about money or access."""

    SESSION_REMINDERS = "session_reminders", "Reminders 24 hours and 1 hour before a session"
    UNREAD_MESSAGES = "unread_messages", "A message waiting unread for a while"


class EmailPreference(models.Model):
    """A person's choice for one kind of optional e-mail; no row means it is sent."""

    user = models.ForeignKey(
        "marketplace.User", on_delete=models.CASCADE, related_name="email_preferences"
    )
    kind = models.CharField(max_length=40, choices=EmailKind.choices)
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="email_preference_once")
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.kind} {'on' if self.enabled else 'off'}"
