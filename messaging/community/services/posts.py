"""Starting discussions, replying, editing and deleting.

``discussion_start`` and ``reply_post`` check, in order: membership (a non-member of a
private group gets 404 from the caller's access check; of an open group 403
``not_a_member``), messaging's platform-wide suspension (403 ``messaging_suspended``), the
text, the images, the rate limit (429 ``rate_limited``, stricter for new members), then the
word list: a post that uses a held phrase is saved ``held`` and waits for a moderator
instead of being published.

A reply takes the discussion's row lock to get the next ``seq`` (gapless, in commit order);
no other lock is held with it. Live events and notifications leave after commit.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import PurePath

from django.conf import settings
from django.contrib.postgres.search import SearchVector
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F, Value
from django.utils import timezone

from marketplace import states
from marketplace.errors import DomainError, NotAllowed, NotFound
from marketplace.models import User
from messaging import selectors as messaging_selectors
from messaging.attachments import IMAGE_TYPES, attachment_detect
from messaging.community import live, selectors
from messaging.community.models import (
    BODY_MAX_LENGTH,
    MAX_DISCUSSION_IMAGES,
    REPLY_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    Discussion,
    Follow,
    Group,
    Image,
    Mention,
    PostStatus,
    Reply,
    Revision,
)
from messaging.community.rendering import handles_in, render_markdown
from messaging.community.selectors import Access
from messaging.community.services import notifications
from messaging.ratelimit import rate_limit_check

IMAGE_WHAT = "an image (JPEG, PNG, GIF, WebP)"


def check_may_post(access: Access) -> None:
    if access.is_banned:
        raise NotAllowed("You are banned from this group.", code="banned")
    if not access.is_member:
        raise NotAllowed("Join the group to take part.", code="not_a_member")
    if access.suspended:
        raise NotAllowed(
            "Your messaging has been suspended by a moderator.", code="messaging_suspended"
        )


def _check_rate(access: Access, user: User) -> None:
    membership = access.membership
    # moderators (a group's coach among them) are trusted from the start
    new = (
        membership is not None
        and not access.can_moderate
        and selectors.is_new_member(membership=membership)
    )
    rate = (
        settings.COMMUNITY_NEW_MEMBER_POST_RATE_LIMIT if new else settings.COMMUNITY_POST_RATE_LIMIT
    )
    rate_limit_check(key=f"community:{user.pk}", rate=rate, what="posting")


def _text(value: str, *, field: str, limit: int, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise DomainError(f"Write {what}.", fields={field: ["Required."]})
    if len(value) > limit:
        raise DomainError(
            f"{what.capitalize()} can be at most {limit:,} characters.",
            fields={field: [f"{len(value):,} characters; the maximum is {limit:,}."]},
        )
    return value


def _render(group: Group, text: str):
    return render_markdown(
        text, handles=selectors.handles_of_members(group=group, handles=handles_in(text))
    )


def _update_search(discussion: Discussion) -> None:
    Discussion.objects.filter(pk=discussion.pk).update(
        search_vector=SearchVector(Value(discussion.title), weight="A", config="english")
        + SearchVector(Value(discussion.body), weight="B", config="english")
    )


def _mentions(*, discussion: Discussion, reply: Reply | None, users: set[int]) -> None:
    Mention.objects.bulk_create(
        [Mention(user_id=user_id, discussion=discussion, reply=reply) for user_id in users]
    )


def discussion_start(
    *,
    access: Access,
    author: User,
    title: str,
    body: str,
    images: list[UploadedFile] | None = None,
) -> Discussion:
    """A member starts a discussion (safe Markdown, mentions, up to four images)."""
    check_may_post(access)
    group = access.group
    title = _text(title, field="title", limit=TITLE_MAX_LENGTH, what="a title")
    body = _text(body, field="body", limit=BODY_MAX_LENGTH, what="the discussion")
    images = [image for image in images or [] if image]
    if len(images) > MAX_DISCUSSION_IMAGES:
        raise DomainError(
            f"Attach at most {MAX_DISCUSSION_IMAGES} images.",
            fields={"images": [f"{len(images)} images; the maximum is {MAX_DISCUSSION_IMAGES}."]},
        )
    detected = [
        attachment_detect(image, allowed=IMAGE_TYPES, field="images", what=IMAGE_WHAT)
        for image in images
    ]
    _check_rate(access, author)
    held = selectors.held_phrase_in(f"{title}\n{body}")
    rendered = _render(group, body)
    now = timezone.now()
    with transaction.atomic():
        discussion = Discussion.objects.create(
            group=group,
            author=author,
            title=title,
            body=body,
            body_html=rendered.html,
            status=PostStatus.HELD if held else PostStatus.PUBLISHED,
            held_reason=f"uses “{held}”" if held else "",
            last_activity_at=now,
            image_count=len(images),
        )
        for position, (image, (mime, extension)) in enumerate(zip(images, detected, strict=True)):
            stored = Image(
                discussion=discussion,
                name=PurePath(image.name or "image").name[:200],
                content_type=mime,
                size=image.size or 0,
                position=position,
            )
            stored.file.save(f"image.{extension}", image, save=False)
            stored.save()
        _update_search(discussion)
        _mentions(discussion=discussion, reply=None, users=rendered.mentioned - {author.pk})
        Follow.objects.get_or_create(user=author, discussion=discussion)
        if not held:
            _published(discussion, now=now)
    return discussion


def _published(discussion: Discussion, *, now) -> None:
    """A discussion became visible: the group's counts, live rows and mention notices."""
    Group.objects.filter(pk=discussion.group_id).update(
        discussion_count=F("discussion_count") + 1, last_activity_at=now
    )
    mentioned = set(
        Mention.objects.filter(discussion=discussion, reply=None).values_list("user_id", flat=True)
    )
    notifications.notify_discussion(discussion=discussion, mentioned=mentioned)
    transaction.on_commit(lambda: live.announce_discussion(discussion))


def reply_post(
    *,
    access: Access,
    discussion: Discussion,
    author: User,
    body: str,
    quote_of: Reply | None = None,
) -> Reply:
    """A member replies; a reply to a reply quotes it (one level of threading)."""
    check_may_post(access)
    if discussion.status != PostStatus.PUBLISHED:
        raise DomainError("This discussion is not open for replies.", code="not_published")
    body = _text(body, field="body", limit=REPLY_MAX_LENGTH, what="a reply")
    if quote_of is not None and (
        quote_of.discussion_id != discussion.pk or quote_of.status != PostStatus.PUBLISHED
    ):
        raise DomainError(
            "The reply you answer is not in this discussion.", fields={"quote_of": ["Not found."]}
        )
    _check_rate(access, author)
    held = selectors.held_phrase_in(body)
    rendered = _render(discussion.group, body)
    with transaction.atomic():
        locked = Discussion.objects.select_for_update().get(pk=discussion.pk)
        if locked.status != PostStatus.PUBLISHED:
            raise DomainError("This discussion is not open for replies.", code="not_published")
        now = timezone.now()
        reply = Reply.objects.create(
            discussion=locked,
            author=author,
            seq=locked.last_seq + 1,
            body=body,
            body_html=rendered.html,
            quote_of=quote_of,
            status=PostStatus.HELD if held else PostStatus.PUBLISHED,
            held_reason=f"uses “{held}”" if held else "",
        )
        Discussion.objects.filter(pk=locked.pk).update(last_seq=reply.seq)
        _mentions(discussion=locked, reply=reply, users=rendered.mentioned - {author.pk})
        if not held:
            _reply_published(reply, locked, now=now)
    discussion.last_seq = reply.seq
    return reply


def _reply_published(reply: Reply, discussion: Discussion, *, now) -> None:
    """A reply became visible (the caller holds the discussion's lock)."""
    Discussion.objects.filter(pk=discussion.pk).update(
        reply_count=F("reply_count") + 1, last_activity_at=now
    )
    Group.objects.filter(pk=discussion.group_id).update(last_activity_at=now)
    discussion.reply_count += 1
    discussion.last_activity_at = now
    mentioned = set(Mention.objects.filter(reply=reply).values_list("user_id", flat=True))
    notifications.notify_reply(reply=reply, discussion=discussion, mentioned=mentioned)
    transaction.on_commit(lambda: live.announce_reply(reply, discussion))


def post_publish(post: Discussion | Reply) -> None:
    """A held or hidden post is published (by a moderator): counts, notices, live pages.
    Called inside the caller's transaction, after the status moved."""
    now = timezone.now()
    if isinstance(post, Discussion):
        Group.objects.filter(pk=post.group_id).update(
            discussion_count=F("discussion_count") + 1, last_activity_at=now
        )
        if post.edited_at is None and post.created_at > now - timedelta(days=7):
            mentioned = set(
                Mention.objects.filter(discussion=post, reply=None).values_list(
                    "user_id", flat=True
                )
            )
            notifications.notify_discussion(discussion=post, mentioned=mentioned)
        transaction.on_commit(lambda: live.announce_discussion(post))
        return
    discussion = Discussion.objects.select_for_update().get(pk=post.discussion_id)
    _reply_published(post, discussion, now=now)


def post_unpublish(post: Discussion | Reply) -> None:
    """A published post is no longer shown: counts and live pages (inside the caller's
    transaction, after the status moved)."""
    if isinstance(post, Discussion):
        Group.objects.filter(pk=post.group_id, discussion_count__gt=0).update(
            discussion_count=F("discussion_count") - 1
        )
        transaction.on_commit(lambda: live.announce_gone(discussion=post, reply=None))
        return
    Discussion.objects.filter(pk=post.discussion_id, reply_count__gt=0).update(
        reply_count=F("reply_count") - 1
    )
    discussion = post.discussion
    transaction.on_commit(lambda: live.announce_gone(discussion=discussion, reply=post))


def editable_until(post: Discussion | Reply):
    return post.created_at + timedelta(minutes=settings.COMMUNITY_EDIT_MINUTES)


def post_edit(
    *, post: Discussion | Reply, by: User, body: str, title: str | None = None
) -> Discussion | Reply:
    """The author edits within the edit window; the previous text is kept as a revision for
    moderators. An edit that uses a held phrase holds the post again."""
    if post.author_id != by.pk:
        raise NotAllowed("Only the author can edit this.", code="not_author")
    if messaging_selectors.is_suspended(user=by):
        raise NotAllowed(
            "Your messaging has been suspended by a moderator.", code="messaging_suspended"
        )
    if post.status not in (PostStatus.PUBLISHED, PostStatus.HELD):
        raise DomainError("This post can no longer be edited.", code="not_editable")
    if timezone.now() > editable_until(post):
        raise DomainError(
            f"Posts can be edited for {settings.COMMUNITY_EDIT_MINUTES} minutes after posting.",
            code="edit_window_closed",
        )
    is_discussion = isinstance(post, Discussion)
    limit = BODY_MAX_LENGTH if is_discussion else REPLY_MAX_LENGTH
    body = _text(body, field="body", limit=limit, what="the text")
    if is_discussion:
        title = _text(title or "", field="title", limit=TITLE_MAX_LENGTH, what="a title")
    group = post.group if isinstance(post, Discussion) else post.discussion.group
    held = selectors.held_phrase_in(f"{title or ''}\n{body}")
    rendered = _render(group, body)
    model = type(post)
    with transaction.atomic():
        locked = model.objects.select_for_update().get(pk=post.pk)
        if isinstance(locked, Discussion):
            Revision.objects.create(
                discussion=locked, title=locked.title, body=locked.body, edited_by=by
            )
            locked.title = title or locked.title
        else:
            Revision.objects.create(
                discussion_id=locked.discussion_id, reply=locked, body=locked.body, edited_by=by
            )
        locked.body = body
        locked.body_html = rendered.html
        locked.edited_at = timezone.now()
        fields = ["body", "body_html", "edited_at"] + (["title"] if is_discussion else [])
        locked.save(update_fields=fields)
        if isinstance(locked, Discussion):
            _update_search(locked)
        if held and locked.status == PostStatus.PUBLISHED:
            states.transition(
                locked,
                PostStatus.HELD,
                by=by,
                source="word list",
                note=f"uses “{held}”",
                changes={"held_reason": f"uses “{held}”"},
                locked=True,
            )
            post_unpublish(locked)
        elif locked.status == PostStatus.PUBLISHED and isinstance(locked, Reply):
            reply = locked
            transaction.on_commit(
                lambda: live.announce(
                    [live.discussion_channel(reply.discussion_id)],
                    {
                        "kind": "reply",
                        "discussion": reply.discussion_id,
                        "reply": live.reply_payload(reply),
                    },
                )
            )
    return locked


def post_delete(*, post: Discussion | Reply, by: User) -> Discussion | Reply:
    """The author deletes their post (soft: kept for moderators, gone for everyone else)."""
    if post.author_id != by.pk:
        raise NotAllowed("Only the author can delete this.", code="not_author")
    model = type(post)
    with transaction.atomic():
        locked = model.objects.select_for_update().get(pk=post.pk)
        was_published = locked.status == PostStatus.PUBLISHED
        if locked.status in (PostStatus.REMOVED, PostStatus.DELETED):
            raise NotFound("No such post.")
        states.transition(locked, PostStatus.DELETED, by=by, source="author", locked=True)
        if was_published:
            post_unpublish(locked)
    return locked
