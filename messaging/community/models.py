"""Community: groups, their members, discussions and replies, reactions, follows, reports,
moderation and notifications.

Visibility is decided in one place (``selectors.group_access``): an open group's discussions
are readable by every signed-in person; a group joined by request or by invitation only is
*private*: it and its content are visible to its members alone (an invitation also lets the
invitee see the group's page to accept it; a by-request group shows its name and rules so
people can ask to join). Banned people see a private group as if it did not exist.

Replies are ordered by ``Reply.seq``, a gapless number given under the discussion's row lock
(as messages in a thread), so a page catches up with "every reply after seq N".
"""

from __future__ import annotations

import uuid
from pathlib import PurePath

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.urls import reverse

from marketplace import states

GROUP_NAME_MAX_LENGTH = 80
GROUP_DESCRIPTION_MAX_LENGTH = 2000
GROUP_RULES_MAX_LENGTH = 5000
TITLE_MAX_LENGTH = 200
BODY_MAX_LENGTH = 10000
REPLY_MAX_LENGTH = 5000
REASON_MAX_LENGTH = 1000
MAX_DISCUSSION_IMAGES = 4


def community_upload_path(instance: models.Model, filename: str) -> str:
    """A random name under MEDIA_ROOT; the original name is kept on the row, not on disk."""
    suffix = PurePath(filename).suffix.lower()[:10]
    return f"community/{uuid.uuid4().hex}{suffix}"


class GroupKind(models.TextChoices):
    TOPIC = "topic", "Topic group (run by the platform)"
    COACH = "coach", "Coach-led group"


class GroupAccess(models.TextChoices):
    OPEN = "open", "Open: anyone signed in can read and join"
    REQUEST = "request", "By request: the owner or a moderator approves each member"
    INVITE = "invite", "Invite only: the coach invites clients who booked with them"


class Group(models.Model):
    name = models.CharField(max_length=GROUP_NAME_MAX_LENGTH)
    description = models.TextField(max_length=GROUP_DESCRIPTION_MAX_LENGTH, blank=True)
    rules = models.TextField(max_length=GROUP_RULES_MAX_LENGTH, blank=True)
    cover = models.FileField(upload_to=community_upload_path, blank=True, max_length=200)
    cover_type = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=10, choices=GroupKind.choices, db_index=True)
    access = models.CharField(
        max_length=10, choices=GroupAccess.choices, default=GroupAccess.OPEN, db_index=True
    )
    specialization = models.ForeignKey(
        "coaches.Specialization",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="community_groups",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_community_groups",
        help_text="The coach who leads the group; staff own topic groups collectively.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    member_count = models.PositiveIntegerField(default=0)
    discussion_count = models.PositiveIntegerField(default=0)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="topic", access="open") | Q(kind="coach", owner__isnull=False),
                name="community_group_kind_access",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("community:group", args=[self.pk])

    @property
    def is_private(self) -> bool:
        return self.access != GroupAccess.OPEN


class MemberRole(models.TextChoices):
    OWNER = "owner", "Owner"
    MODERATOR = "moderator", "Moderator"
    MEMBER = "member", "Member"


class MembershipState(models.TextChoices):
    INVITED = "invited", "Invited"
    REQUESTED = "requested", "Asked to join"
    MEMBER = "member", "Member"
    BANNED = "banned", "Banned"
    LEFT = "left", "Left"


MEMBERSHIP_TRANSITIONS: dict[str, frozenset[str]] = {
    MembershipState.INVITED: frozenset(
        {MembershipState.MEMBER, MembershipState.LEFT, MembershipState.BANNED}
    ),
    MembershipState.REQUESTED: frozenset(
        {MembershipState.MEMBER, MembershipState.LEFT, MembershipState.BANNED}
    ),
    MembershipState.MEMBER: frozenset({MembershipState.BANNED, MembershipState.LEFT}),
    MembershipState.BANNED: frozenset({MembershipState.LEFT}),
    MembershipState.LEFT: frozenset(
        {
            MembershipState.INVITED,
            MembershipState.REQUESTED,
            MembershipState.MEMBER,
            MembershipState.BANNED,
        }
    ),
}


class Membership(models.Model):
    """A person's place in a group: invited, asked to join, member (with a role), banned.

    A ban is lifted by moving to ``left``: the person may ask or be invited again.
    """

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="community_memberships"
    )
    role = models.CharField(max_length=10, choices=MemberRole.choices, default=MemberRole.MEMBER)
    state = models.CharField(max_length=10, choices=MembershipState.choices, db_index=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    joined_at = models.DateTimeField(null=True, blank=True)
    # Unread: discussions with activity after this moment (the last visit of the group page).
    seen_at = models.DateTimeField(null=True, blank=True)
    ban_reason = models.CharField(max_length=REASON_MAX_LENGTH, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["group", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["group", "user"], name="community_membership_unique")
        ]
        indexes = [models.Index(fields=["user", "state"], name="community_member_user_idx")]

    def __str__(self) -> str:
        return f"{self.user} in {self.group} ({self.state}, {self.role})"

    @property
    def is_member(self) -> bool:
        return self.state == MembershipState.MEMBER

    @property
    def is_moderator(self) -> bool:
        return self.is_member and self.role in (MemberRole.OWNER, MemberRole.MODERATOR)


class PostStatus(models.TextChoices):
    PUBLISHED = "published", "Published"
    HELD = "held", "Held for review"
    HIDDEN = "hidden", "Hidden by a moderator"
    REMOVED = "removed", "Removed by a moderator"
    DELETED = "deleted", "Deleted by its author"


# Held posts wait for a moderator (an edit that uses a held phrase holds a post again); hidden
# ones can be restored; removal and deletion are final.
POST_TRANSITIONS: dict[str, frozenset[str]] = {
    PostStatus.PUBLISHED: frozenset(
        {PostStatus.HELD, PostStatus.HIDDEN, PostStatus.REMOVED, PostStatus.DELETED}
    ),
    PostStatus.HELD: frozenset(
        {PostStatus.PUBLISHED, PostStatus.HIDDEN, PostStatus.REMOVED, PostStatus.DELETED}
    ),
    PostStatus.HIDDEN: frozenset({PostStatus.PUBLISHED, PostStatus.REMOVED, PostStatus.DELETED}),
    PostStatus.REMOVED: frozenset(),
    PostStatus.DELETED: frozenset(),
}


class Post(models.Model):
    """What discussions and replies share: an author, a Markdown body rendered once to safe
    HTML, a moderation status, an edit time."""

    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    body_html = models.TextField(blank=True)
    status = models.CharField(
        max_length=10, choices=PostStatus.choices, default=PostStatus.PUBLISHED, db_index=True
    )
    moderation_reason = models.CharField(max_length=REASON_MAX_LENGTH, blank=True)
    held_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_visible(self) -> bool:
        return self.status == PostStatus.PUBLISHED


class Discussion(Post):
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="discussions")
    title = models.CharField(max_length=TITLE_MAX_LENGTH)
    body = models.TextField(max_length=BODY_MAX_LENGTH)
    last_seq = models.PositiveIntegerField(default=0)
    reply_count = models.PositiveIntegerField(default=0)
    image_count = models.PositiveSmallIntegerField(default=0)
    last_activity_at = models.DateTimeField()
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        ordering = ["-last_activity_at", "-id"]
        indexes = [
            # the group's list: published discussions by latest activity
            models.Index(
                "group",
                models.F("last_activity_at").desc(),
                models.F("id").desc(),
                name="community_disc_activity_idx",
                condition=Q(status="published"),
            ),
            GinIndex(fields=["search_vector"], name="community_disc_search_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("community:discussion", args=[self.pk])


class Reply(Post):
    discussion = models.ForeignKey(Discussion, on_delete=models.CASCADE, related_name="replies")
    seq = models.PositiveIntegerField()
    body = models.TextField(max_length=REPLY_MAX_LENGTH)
    # One level of threading: a reply to a reply quotes it.
    quote_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["discussion", "seq"]
        verbose_name_plural = "replies"
        constraints = [
            models.UniqueConstraint(fields=["discussion", "seq"], name="community_reply_seq_unique")
        ]

    def __str__(self) -> str:
        return f"Reply {self.seq} in {self.discussion_id}"

    def get_absolute_url(self) -> str:
        return reverse("community:discussion", args=[self.discussion_id]) + f"#reply-{self.seq}"


class Image(models.Model):
    """An image of a discussion (at most four), checked by content like message attachments,
    served only to those who may read the discussion."""

    discussion = models.ForeignKey(Discussion, on_delete=models.CASCADE, related_name="images")
    file = models.FileField(upload_to=community_upload_path, max_length=200)
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["discussion", "position", "id"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("community:image", args=[self.discussion_id, self.pk])


class Mention(models.Model):
    """A member named with ``@handle`` in a discussion or reply (only members are linked)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    discussion = models.ForeignKey(Discussion, on_delete=models.CASCADE, related_name="+")
    reply = models.ForeignKey(
        Reply, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"@{self.user_id} in {self.discussion_id}"


class Handle(models.Model):
    """The name a person is mentioned by (``@maya-brooks``), made from their name once."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="community_handle"
    )
    handle = models.SlugField(max_length=40, unique=True)

    def __str__(self) -> str:
        return f"@{self.handle}"


class ReactionKind(models.TextChoices):
    LIKE = "like", "👍"
    HEART = "heart", "❤️"
    CELEBRATE = "celebrate", "🎉"
    THANKS = "thanks", "🙏"
    INSIGHTFUL = "insightful", "💡"


class Reaction(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    discussion = models.ForeignKey(Discussion, on_delete=models.CASCADE, related_name="reactions")
    reply = models.ForeignKey(
        Reply, on_delete=models.CASCADE, null=True, blank=True, related_name="reactions"
    )
    kind = models.CharField(max_length=12, choices=ReactionKind.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # on the discussion itself (no reply) or on one reply of it: once per kind
            models.UniqueConstraint(
                fields=["user", "discussion", "kind"],
                condition=Q(reply__isnull=True),
                name="community_reaction_discussion_once",
            ),
            models.UniqueConstraint(
                fields=["user", "reply", "kind"],
                condition=Q(reply__isnull=False),
                name="community_reaction_reply_once",
            ),
        ]
        indexes = [models.Index(fields=["discussion", "reply"], name="community_reaction_idx")]

    def __str__(self) -> str:
        return f"{self.kind} by {self.user_id}"


class Follow(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="community_follows"
    )
    discussion = models.ForeignKey(Discussion, on_delete=models.CASCADE, related_name="follows")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "discussion"], name="community_follow_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} follows {self.discussion_id}"


class Revision(models.Model):
    """The text a post had before an edit, for moderators."""

    discussion = models.ForeignKey(Discussion, on_delete=models.CASCADE, related_name="revisions")
    reply = models.ForeignKey(
        Reply, on_delete=models.CASCADE, null=True, blank=True, related_name="revisions"
    )
    title = models.CharField(max_length=TITLE_MAX_LENGTH, blank=True)
    body = models.TextField()
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    edited_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-edited_at", "-id"]

    def __str__(self) -> str:
        return f"Revision of {self.discussion_id}/{self.reply_id or '-'} at {self.edited_at}"


class ReportStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"
    DISMISSED = "dismissed", "Dismissed"


REPORT_TRANSITIONS: dict[str, frozenset[str]] = {
    ReportStatus.OPEN: frozenset({ReportStatus.RESOLVED, ReportStatus.DISMISSED}),
    ReportStatus.RESOLVED: frozenset(),
    ReportStatus.DISMISSED: frozenset(),
}


class Report(models.Model):
    """A member flags a discussion or a reply; the group's moderators and staff work the queue."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="reports")
    discussion = models.ForeignKey(Discussion, on_delete=models.CASCADE, related_name="reports")
    reply = models.ForeignKey(
        Reply, on_delete=models.CASCADE, null=True, blank=True, related_name="reports"
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="community_reports"
    )
    reason = models.TextField(max_length=REASON_MAX_LENGTH)
    status = models.CharField(
        max_length=10, choices=ReportStatus.choices, default=ReportStatus.OPEN, db_index=True
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
                fields=["reporter", "discussion"],
                condition=Q(reply__isnull=True),
                name="community_report_discussion_once",
            ),
            models.UniqueConstraint(
                fields=["reporter", "reply"],
                condition=Q(reply__isnull=False),
                name="community_report_reply_once",
            ),
        ]

    def __str__(self) -> str:
        return f"Report #{self.pk} ({self.status})"

    @property
    def target(self) -> Discussion | Reply:
        return self.reply if self.reply is not None else self.discussion


class ModerationActionKind(models.TextChoices):
    APPROVE = "approve", "Approved a held post"
    HIDE = "hide", "Hid a post"
    RESTORE = "restore", "Restored a post"
    REMOVE = "remove", "Removed a post"
    DISMISS = "dismiss", "Dismissed a report"
    WARN = "warn", "Warned a member"
    BAN = "ban", "Banned a member"
    UNBAN = "unban", "Lifted a ban"
    APPROVE_MEMBER = "approve_member", "Approved a request to join"
    ROLE = "role", "Changed a member's role"
    SUSPEND = "suspend", "Suspended platform-wide"


class ModerationAction(models.Model):
    """The audit log: every moderation action, who did it, on what, why (shown in admin)."""

    group = models.ForeignKey(
        Group, on_delete=models.CASCADE, null=True, blank=True, related_name="moderation_actions"
    )
    moderator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=ModerationActionKind.choices, db_index=True)
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The person the action concerns (the author of a post, a banned member).",
    )
    discussion = models.ForeignKey(
        Discussion, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reply = models.ForeignKey(
        Reply, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    report = models.ForeignKey(
        Report, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.moderator}"


class HeldWord(models.Model):
    """A word or phrase whose use holds a post for review instead of publishing it."""

    phrase = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["phrase"]

    def __str__(self) -> str:
        return self.phrase


class NotificationKind(models.TextChoices):
    REPLY = "reply", "replied to your discussion"
    MENTION = "mention", "mentioned you"
    FOLLOWED = "followed", "replied in a discussion you follow"
    MODERATION = "moderation", "a moderator acted on your post"


class Notification(models.Model):
    """In-app notice; the e-mail digest sends those not yet e-mailed."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="community_notifications"
    )
    kind = models.CharField(max_length=12, choices=NotificationKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    discussion = models.ForeignKey(Discussion, on_delete=models.CASCADE, related_name="+")
    reply = models.ForeignKey(
        Reply, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    text = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["user", "created_at"],
                name="community_notice_unread_idx",
                condition=Q(read_at__isnull=True),
            ),
            models.Index(
                fields=["user"],
                name="community_notice_unmailed_idx",
                condition=Q(emailed_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id}"

    @property
    def url(self) -> str:
        if self.reply_id is not None and self.reply is not None:
            return self.reply.get_absolute_url()
        return reverse("community:discussion", args=[self.discussion_id])


class DigestFrequency(models.TextChoices):
    IMMEDIATELY = "immediately", "Immediately, one e-mail per notification"
    DAILY = "daily", "Once a day, a digest"
    NEVER = "never", "Never"


class DigestPreference(models.Model):
    """How often a person is e-mailed about their community notifications."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="community_digest"
    )
    frequency = models.CharField(
        max_length=12, choices=DigestFrequency.choices, default=DigestFrequency.DAILY
    )
    last_digest_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user}: {self.frequency}"


states.register(Membership, field="state", transitions=MEMBERSHIP_TRANSITIONS)
states.register(Discussion, transitions=POST_TRANSITIONS)
states.register(Reply, transitions=POST_TRANSITIONS)
states.register(Report, transitions=REPORT_TRANSITIONS)
