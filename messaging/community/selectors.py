"""Reads of the community: who may see and do what in a group, lists, pages, search, queue.

``group_access`` is the one place that decides visibility; every page, API view, image and
WebSocket subscription goes through it (or a selector built on it), and a group or post the
person may not see is the same ``NotFound`` as one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.postgres.expressions import ArraySubquery
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db.models import (
    Exists,
    FilteredRelation,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from marketplace.errors import NotFound
from messaging import selectors as messaging_selectors
from messaging.community.models import (
    Discussion,
    Follow,
    Group,
    GroupAccess,
    GroupKind,
    Handle,
    HeldWord,
    MemberRole,
    Membership,
    MembershipState,
    Notification,
    PostStatus,
    Reaction,
    ReactionKind,
    Reply,
    Report,
    ReportStatus,
)

DISCUSSIONS_PER_PAGE = 20
REPLIES_PER_PAGE = 50
MAX_PAGE_SIZE = 100
# unread counts per group stop here (the badge then reads "99+")
UNREAD_COUNT_LIMIT = 100


def staff_may_moderate(user) -> bool:
    """Staff with the community moderation permission moderate every group."""
    return bool(
        user.is_authenticated and user.is_staff and user.has_perm("community.change_report")
    )


@dataclass(frozen=True)
class Access:
    """What ``user`` may do in ``group``."""

    group: Group
    membership: Membership | None
    staff_moderator: bool
    suspended: bool

    @property
    def state(self) -> str | None:
        return self.membership.state if self.membership else None

    @property
    def is_member(self) -> bool:
        return self.state == MembershipState.MEMBER

    @property
    def is_banned(self) -> bool:
        return self.state == MembershipState.BANNED

    @property
    def is_invited(self) -> bool:
        return self.state == MembershipState.INVITED

    @property
    def can_see(self) -> bool:
        """The group's page (name, description, rules) and its place in lists."""
        if self.staff_moderator or self.is_member:
            return True
        if self.group.access == GroupAccess.OPEN:
            return True
        if self.group.access == GroupAccess.REQUEST:
            return not self.is_banned
        return self.is_invited

    @property
    def can_read(self) -> bool:
        """Its discussions, replies and images, and its live updates."""
        if self.staff_moderator or self.is_member:
            return True
        return self.group.access == GroupAccess.OPEN

    @property
    def can_post(self) -> bool:
        return self.is_member and not self.suspended

    @property
    def can_moderate(self) -> bool:
        if self.staff_moderator:
            return True
        return bool(
            self.is_member
            and self.membership is not None
            and self.membership.role in (MemberRole.OWNER, MemberRole.MODERATOR)
        )

    @property
    def is_owner(self) -> bool:
        return bool(self.is_member and self.membership and self.membership.role == MemberRole.OWNER)

    @property
    def can_join(self) -> bool:
        return (
            not self.is_member
            and not self.is_banned
            and (self.group.access != GroupAccess.INVITE or self.is_invited)
        )


def access_for(*, group: Group, user) -> Access:
    """What ``user`` may do in ``group`` (already read): one query, the membership and
    whether its person is suspended (messaging's suspension matters only to members, the
    only ones who post)."""
    membership = (
        Membership.objects.filter(group=group, user=user)
        .annotate(suspended=Exists(messaging_selectors.active_suspensions(user=OuterRef("user"))))
        .order_by()
        .first()
        if user.is_authenticated
        else None
    )
    if membership is not None:
        membership.group = group
    return Access(
        group=group,
        membership=membership,
        staff_moderator=staff_may_moderate(user),
        suspended=bool(membership is not None and getattr(membership, "suspended", False)),
    )


def _with_viewer(rows: QuerySet, *, user, group_path: str = "") -> QuerySet:
    """``rows`` (groups, or rows with a group at ``group_path``) read with ``user``'s
    membership of the group (``viewer_membership``, unset when there is none) and
    whether ``user`` is suspended (``viewer_suspended``), in the same query as the group."""
    memberships = f"{group_path}memberships"
    return rows.annotate(
        viewer_membership=FilteredRelation(
            memberships, condition=Q(**{f"{memberships}__user": user})
        ),
        viewer_suspended=Exists(messaging_selectors.active_suspensions(user=user)),
    ).select_related("viewer_membership")


def _access_of(group: Group, row, *, user) -> Access:
    """The ``Access`` of a row read by ``_with_viewer``."""
    # select_related leaves the attribute unset when the join found no membership
    membership = getattr(row, "viewer_membership", None)
    if membership is not None:
        membership.group = group
    return Access(
        group=group,
        membership=membership,
        staff_moderator=staff_may_moderate(user),
        suspended=bool(membership is not None and row.viewer_suspended),
    )


def group_access(*, group_id: int, user, need: str = "see") -> Access:
    """The group and what ``user`` may do there, or ``NotFound`` when ``user`` may not
    ``need`` ("see" the group, "read" its content, "moderate" it). One query."""
    group = (
        _with_viewer(Group.objects.select_related("owner", "specialization"), user=user)
        .filter(pk=group_id)
        .order_by()
        .first()
        if user.is_authenticated
        else None
    )
    if group is None:
        raise NotFound("No such group.")
    access = _access_of(group, group, user=user)
    allowed = {
        "see": access.can_see,
        "read": access.can_read,
        "moderate": access.can_moderate and access.can_read,
    }[need]
    if not allowed:
        raise NotFound("No such group.")
    return access


def discussion_access(*, discussion_id: int, user) -> tuple[Discussion, Access]:
    """A discussion the user may read (a held or hidden one only for its author, and
    moderators; removed and deleted ones for moderators), with the group access. One query:
    the discussion, its group and author, whether the user follows it, their membership."""
    discussion = (
        _with_viewer(
            Discussion.objects.select_related("group", "author", "author__community_handle"),
            user=user,
            group_path="group__",
        )
        .annotate(following=Exists(Follow.objects.filter(discussion=OuterRef("pk"), user=user)))
        .defer("search_vector")  # only the group search reads it, in SQL
        .filter(pk=discussion_id)
        .order_by()
        .first()
        if user.is_authenticated
        else None
    )
    if discussion is None:
        raise NotFound("No such discussion.")
    access = _access_of(discussion.group, discussion, user=user)
    if not access.can_read or not post_visible_to(discussion, access=access, user=user):
        raise NotFound("No such discussion.")
    return discussion, access


def post_visible_to(post: Discussion | Reply, *, access: Access, user) -> bool:
    if post.status == PostStatus.PUBLISHED or access.can_moderate:
        return True
    return post.status in (PostStatus.HELD, PostStatus.HIDDEN) and post.author_id == user.pk


def reply_access(*, reply_id: int, user) -> tuple[Reply, Access]:
    reply = (
        _with_viewer(
            Reply.objects.select_related("discussion__group", "author"),
            user=user,
            group_path="discussion__group__",
        )
        .filter(pk=reply_id)
        .order_by()
        .first()
        if user.is_authenticated
        else None
    )
    if reply is None:
        raise NotFound("No such reply.")
    access = _access_of(reply.discussion.group, reply, user=user)
    if (
        not access.can_read
        or not post_visible_to(reply.discussion, access=access, user=user)
        or not post_visible_to(reply, access=access, user=user)
    ):
        raise NotFound("No such reply.")
    return reply, access


# --- lists ---------------------------------------------------------------------------------


def _unread_subquery() -> Func:
    """How many published discussions of the outer group had activity after the member's
    last visit of the group's page (the outer query is joined to the membership), counted
    up to ``UNREAD_COUNT_LIMIT``: the ids come off the activity index newest first and the
    count stops there, so a member back after months reads at most that many index entries
    per group, not the group's every discussion."""
    newer = (
        Discussion.objects.filter(
            group=OuterRef("pk"),
            status=PostStatus.PUBLISHED,
            last_activity_at__gt=OuterRef("memberships__seen_at"),
        )
        .order_by("-last_activity_at", "-id")
        .values("pk")[:UNREAD_COUNT_LIMIT]
    )
    return Func(ArraySubquery(newer), function="cardinality", output_field=IntegerField())


def groups_of_member(*, user) -> QuerySet[Group]:
    """The user's groups (member), latest activity first, each with ``unread``."""
    return (
        Group.objects.filter(memberships__user=user, memberships__state=MembershipState.MEMBER)
        .select_related("owner")
        .annotate(unread=Coalesce(_unread_subquery(), Value(0)))
        .order_by("-last_activity_at", "name", "id")
    )


def groups_to_discover(*, user) -> QuerySet[Group]:
    """Groups the user may see but has not joined: open and by-request groups (not those
    they are banned from), and invite-only groups they are invited to."""
    mine = Membership.objects.filter(group=OuterRef("pk"), user=user)
    return (
        Group.objects.annotate(
            joined=Exists(mine.filter(state=MembershipState.MEMBER)),
            banned=Exists(mine.filter(state=MembershipState.BANNED)),
            invited=Exists(mine.filter(state=MembershipState.INVITED)),
        )
        .filter(joined=False)
        .filter(
            Q(access=GroupAccess.OPEN)
            | Q(access=GroupAccess.REQUEST, banned=False)
            | Q(access=GroupAccess.INVITE, invited=True)
        )
        .select_related("owner", "specialization")
        .order_by("kind", "name", "id")
    )


def discussion_list(*, group: Group, query: str = "") -> QuerySet[Discussion]:
    """Published discussions of ``group``: latest activity first, or by rank for ``query``
    (Postgres full-text search over titles and bodies)."""
    discussions = (
        Discussion.objects.filter(group=group, status=PostStatus.PUBLISHED)
        .select_related("author")
        .only(
            "id",
            "group_id",
            "title",
            "body",
            "reply_count",
            "last_activity_at",
            "created_at",
            "status",
            "author__id",
            "author__first_name",
            "author__last_name",
            "author__email",
        )
    )
    query = (query or "").strip()
    if query:
        search = SearchQuery(query, search_type="websearch", config="english")
        return (
            discussions.filter(search_vector=search)
            .annotate(rank=SearchRank("search_vector", search))
            .order_by("-rank", "-last_activity_at", "-id")
        )
    return discussions.order_by("-last_activity_at", "-id")


@dataclass(frozen=True)
class ListCursor:
    """A place in a group's list (latest activity first): a discussion's
    ``(last_activity_at, id)``. Written in links as ``<microseconds since 1970>.<id>``."""

    last_activity_at: datetime
    id: int

    @classmethod
    def of(cls, discussion: Discussion) -> ListCursor:
        return cls(discussion.last_activity_at, discussion.pk)

    @classmethod
    def parse(cls, text: str | None) -> ListCursor | None:
        """The cursor written in ``text``, or ``None`` for anything else."""
        micros, _, pk = (text or "").partition(".")
        if not (micros.isdigit() and pk.isdigit()) or len(micros) > 17 or len(pk) > 18:
            return None
        try:
            when = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(micros))
        except OverflowError:
            return None
        return cls(when, int(pk))

    def __str__(self) -> str:
        delta = self.last_activity_at - datetime(1970, 1, 1, tzinfo=UTC)
        micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        return f"{micros}.{self.id}"


@dataclass(frozen=True)
class DiscussionPage:
    """One page of a group's list, and the cursors of the pages beside it (``None`` at
    either end)."""

    discussions: list[Discussion]
    newer: ListCursor | None
    older: ListCursor | None
    paged: bool = False  # not the newest page (asked for with a cursor)


def discussion_page(
    *,
    group: Group,
    before: ListCursor | None = None,
    after: ListCursor | None = None,
    limit: int = 0,
) -> DiscussionPage:
    """Published discussions of ``group``, latest activity first: the newest ``limit``, the
    ``limit`` older than ``before``, or the ``limit`` newer than ``after``.

    Keyset pagination: each page starts where the partial index
    ``community_disc_activity_idx`` (group, last_activity_at desc, id desc) is at the
    cursor, so a page deep in a long list costs what the first one does (``OFFSET`` reads
    and drops every row before it), and a discussion that moves to the top while someone
    pages does not shift the pages after it. The bound on ``last_activity_at`` is what the
    index seeks to; the ``id`` condition only separates discussions with the same time.
    """
    limit = limit or DISCUSSIONS_PER_PAGE
    rows = (
        Discussion.objects.filter(group=group, status=PostStatus.PUBLISHED)
        .select_related("author")
        .only(
            "id",
            "group_id",
            "title",
            "reply_count",
            "last_activity_at",
            "status",
            "author__id",
            "author__first_name",
            "author__last_name",
            "author__email",
        )
    )
    if after is not None and before is None:
        when, pk = after.last_activity_at, after.id
        newer = list(
            rows.filter(last_activity_at__gte=when)
            .filter(Q(last_activity_at__gt=when) | Q(id__gt=pk))
            .order_by("last_activity_at", "id")[: limit + 1]
        )
        if len(newer) > limit:
            return DiscussionPage(
                discussions=list(reversed(newer[:limit])),
                newer=ListCursor.of(newer[limit - 1]),
                older=ListCursor.of(newer[0]),
                paged=True,
            )
        # nothing newer than this page: it is the newest page
        return discussion_page(group=group, limit=limit)
    if before is not None:
        when, pk = before.last_activity_at, before.id
        rows = rows.filter(last_activity_at__lte=when).filter(
            Q(last_activity_at__lt=when) | Q(id__lt=pk)
        )
    older = list(rows.order_by("-last_activity_at", "-id")[: limit + 1])
    page = older[:limit]
    return DiscussionPage(
        discussions=page,
        newer=ListCursor.of(page[0]) if page and before is not None else None,
        older=ListCursor.of(page[-1]) if len(older) > limit else None,
        paged=before is not None,
    )


# What a page of replies shows (``live.reply_payload`` and the page's ``reply_item``): the
# authors' names and handles, not their accounts' every column.
_PERSON_COLUMNS = ("id", "first_name", "last_name", "email")
_REPLY_PAGE_COLUMNS = (
    "id",
    "discussion_id",
    "seq",
    "author_id",
    "body",
    "body_html",
    "status",
    "quote_of_id",
    "created_at",
    "edited_at",
    *(f"author__{column}" for column in _PERSON_COLUMNS),
    "author__community_handle__handle",
    "author__community_handle__user_id",
    "quote_of__seq",
    "quote_of__status",
    "quote_of__body_html",
    "quote_of__author_id",
    *(f"quote_of__author__{column}" for column in _PERSON_COLUMNS),
)


def reply_page(
    *,
    discussion: Discussion,
    access: Access,
    user,
    after: int | None = None,
    before: int | None = None,
    limit: int = REPLIES_PER_PAGE,
) -> tuple[list[Reply], bool]:
    """Replies in ``seq`` order and whether more exist beyond the page: the oldest
    ``limit`` (after ``after``), or the ``limit`` before ``before``. Moderators see every
    reply; others see published ones and their own held or hidden ones."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    replies = (
        Reply.objects.filter(discussion=discussion)
        .select_related("author", "author__community_handle", "quote_of", "quote_of__author")
        .only(*_REPLY_PAGE_COLUMNS)
    )
    if not access.can_moderate:
        replies = replies.filter(
            Q(status=PostStatus.PUBLISHED)
            | Q(status__in=[PostStatus.HELD, PostStatus.HIDDEN], author=user)
        )
    if before is not None:
        page = list(replies.filter(seq__lt=before).order_by("-seq")[: limit + 1])
        return list(reversed(page[:limit])), len(page) > limit
    if after is not None:
        replies = replies.filter(seq__gt=after)
    page = list(replies.order_by("seq")[: limit + 1])
    return page[:limit], len(page) > limit


def reaction_summary(reactions, *, user) -> list[dict]:
    """Counts per kind (every kind, in the fixed order) and whether ``user`` reacted."""
    counts = {kind: 0 for kind in ReactionKind.values}
    mine: set[str] = set()
    for reaction in reactions:
        counts[reaction.kind] = counts.get(reaction.kind, 0) + 1
        if reaction.user_id == user.pk:
            mine.add(reaction.kind)
    return [
        {"kind": kind, "emoji": label, "count": counts[kind], "mine": kind in mine}
        for kind, label in ReactionKind.choices
    ]


def reactions_on_page(*, discussion: Discussion, replies: list[Reply]) -> dict[int | None, list]:
    """The reactions on the discussion (key ``None``) and on each reply of the page (key: the
    reply's id), in one query."""
    rows = Reaction.objects.filter(discussion=discussion).filter(
        Q(reply__isnull=True) | Q(reply__in=[reply.pk for reply in replies])
    )
    grouped: dict[int | None, list] = {None: []}
    for reaction in rows.only("reply_id", "kind", "user_id"):
        grouped.setdefault(reaction.reply_id, []).append(reaction)
    return grouped


def is_following(*, user, discussion: Discussion) -> bool:
    return Follow.objects.filter(user=user, discussion=discussion).exists()


def group_members(*, group: Group) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(group=group)
        .exclude(state=MembershipState.LEFT)
        .select_related("user", "user__community_handle")
        .order_by("state", "role", "user__first_name", "user__email")
    )


def invitable_clients(*, group: Group) -> list:
    """Clients who booked with the group's coach and are not in it yet (for the invite form)."""
    if group.kind != GroupKind.COACH or group.owner is None:
        return []
    present = Membership.objects.filter(group=group).exclude(state=MembershipState.LEFT)
    return [
        client
        for client in messaging_selectors.clients_who_booked(coach=group.owner)
        if not present.filter(user=client).exists()
    ]


def handles_of_members(*, group: Group, handles: set[str]) -> dict[str, int]:
    """``{handle: user id}`` for the members of ``group`` among ``handles``."""
    if not handles:
        return {}
    return dict(
        Handle.objects.filter(
            handle__in=handles,
            user__community_memberships__group=group,
            user__community_memberships__state=MembershipState.MEMBER,
        ).values_list("handle", "user_id")
    )


def held_phrase_in(text: str) -> str | None:
    """The first word-list phrase used in ``text`` (whole words, any case), if any."""
    lowered = f" {' '.join((text or '').lower().split())} "
    for phrase in HeldWord.objects.values_list("phrase", flat=True):
        needle = " ".join(phrase.lower().split())
        if needle and _contains_word(lowered, needle):
            return phrase
    return None


def _contains_word(text: str, needle: str) -> bool:
    start = text.find(needle)
    while start != -1:
        before = text[start - 1] if start > 0 else " "
        after_index = start + len(needle)
        after = text[after_index] if after_index < len(text) else " "
        if not before.isalnum() and not after.isalnum():
            return True
        start = text.find(needle, start + 1)
    return False


def is_new_member(*, membership: Membership) -> bool:
    joined = membership.joined_at or membership.created_at
    return joined > timezone.now() - timedelta(days=settings.COMMUNITY_NEW_MEMBER_DAYS)


# --- moderation ----------------------------------------------------------------------------


def moderation_queue(*, group: Group) -> dict:
    """Open reports (with their post) and posts held by the word list, oldest first."""
    reports = list(
        Report.objects.filter(group=group, status=ReportStatus.OPEN)
        .select_related("discussion", "reply", "reporter", "discussion__author", "reply__author")
        .order_by("created_at")
    )
    held_discussions = list(
        Discussion.objects.filter(group=group, status=PostStatus.HELD)
        .select_related("author")
        .order_by("created_at")
    )
    held_replies = list(
        Reply.objects.filter(discussion__group=group, status=PostStatus.HELD)
        .select_related("author", "discussion")
        .order_by("created_at")
    )
    return {"reports": reports, "held_discussions": held_discussions, "held_replies": held_replies}


def notifications_for(*, user) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user).select_related(
        "actor", "discussion", "reply", "discussion__group"
    )


def unread_notification_count(*, user) -> int:
    if not user.is_authenticated:
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
