"""Reports and what moderators do: approve held posts, hide, restore, remove (the author is
told the reason), dismiss reports, and staff's platform-wide suspension (messaging's own:
one suspension stops both messages and community posts). Every action is written to the
audit log (``ModerationAction``)."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from marketplace import states
from marketplace.errors import Conflict, DomainError, NotAllowed
from marketplace.models import User
from messaging import services as messaging_services
from messaging.community.models import (
    REASON_MAX_LENGTH,
    Discussion,
    ModerationActionKind,
    PostStatus,
    Reply,
    Report,
    ReportStatus,
)
from messaging.community.selectors import Access
from messaging.community.services import notifications, posts
from messaging.community.services.audit import audit

# action -> (the status it moves to, whether the author is told, the audit kind)
ACTIONS = {
    "approve": (PostStatus.PUBLISHED, False, ModerationActionKind.APPROVE),
    "hide": (PostStatus.HIDDEN, True, ModerationActionKind.HIDE),
    "restore": (PostStatus.PUBLISHED, True, ModerationActionKind.RESTORE),
    "remove": (PostStatus.REMOVED, True, ModerationActionKind.REMOVE),
}
TOLD = {
    "hide": "A moderator hid your post",
    "restore": "A moderator restored your post",
    "remove": "A moderator removed your post",
}


def _reason(reason: str, *, required: bool) -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise DomainError("Give a reason; the author is told.", fields={"reason": ["Required."]})
    if len(reason) > REASON_MAX_LENGTH:
        raise DomainError(
            f"Keep the reason under {REASON_MAX_LENGTH} characters.",
            fields={"reason": ["Too long."]},
        )
    return reason


def post_report(
    *, access: Access, reporter: User, discussion: Discussion, reply: Reply | None, reason: str
) -> Report:
    """A member reports a discussion or a reply; it goes into the group's queue."""
    if not access.is_member and not access.staff_moderator:
        raise NotAllowed("Join the group to report posts.", code="not_a_member")
    target = reply or discussion
    if target.author_id == reporter.pk:
        raise DomainError("You cannot report your own post.", code="own_post")
    reason = _reason(reason, required=True)
    try:
        with transaction.atomic():
            return Report.objects.create(
                group_id=discussion.group_id,
                discussion=discussion,
                reply=reply,
                reporter=reporter,
                reason=reason,
            )
    except IntegrityError:
        raise Conflict("You have already reported this post.", code="already_reported") from None


def _resolve_reports(post: Discussion | Reply, *, moderator: User, resolution: str) -> None:
    reports = Report.objects.select_for_update().filter(status=ReportStatus.OPEN)
    if isinstance(post, Reply):
        reports = reports.filter(reply=post)
    else:
        reports = reports.filter(discussion=post, reply__isnull=True)
    for report in reports:
        states.transition(
            report,
            ReportStatus.RESOLVED,
            by=moderator,
            source="moderation",
            note=resolution,
            changes={
                "resolution": resolution[:200],
                "resolved_by": moderator,
                "resolved_at": timezone.now(),
            },
            locked=True,
        )


def post_moderate(
    *,
    access: Access,
    moderator: User,
    post: Discussion | Reply,
    action: str,
    reason: str = "",
) -> Discussion | Reply:
    """``approve`` a held post, ``hide`` or ``remove`` a post (a reason the author is told),
    or ``restore`` a hidden one. Open reports on the post are resolved; viewers' pages
    update live."""
    if not access.can_moderate:
        raise NotAllowed("Only the group's moderators can do this.")
    if action not in ACTIONS:
        raise DomainError("Unknown moderation action.", fields={"action": ["Not a valid choice."]})
    target, tell, kind = ACTIONS[action]
    reason = _reason(reason, required=action in ("hide", "remove"))
    model = type(post)
    with transaction.atomic():
        locked = model.objects.select_for_update().get(pk=post.pk)
        was_published = locked.status == PostStatus.PUBLISHED
        if action == "approve" and locked.status != PostStatus.HELD:
            raise DomainError("Only held posts are approved.", code="not_held")
        if action == "restore" and locked.status != PostStatus.HIDDEN:
            raise DomainError("Only hidden posts are restored.", code="not_hidden")
        moved = states.transition(
            locked,
            target,
            by=moderator,
            source="moderation",
            note=reason,
            changes={"moderation_reason": reason} if reason else None,
            locked=True,
        )
        if moved:
            if was_published and target != PostStatus.PUBLISHED:
                posts.post_unpublish(locked)
            elif not was_published and target == PostStatus.PUBLISHED:
                posts.post_publish(locked)
            discussion = locked if isinstance(locked, Discussion) else locked.discussion
            audit(
                kind=kind,
                moderator=moderator,
                group=discussion.group,
                member=locked.author,
                discussion=discussion,
                reply=locked if isinstance(locked, Reply) else None,
                reason=reason,
            )
            if tell:
                text = TOLD[action] + (f": {reason}" if reason else ".")
                notifications.notify_moderation(post=locked, text=text)
        _resolve_reports(locked, moderator=moderator, resolution=f"{action}: {reason}".strip(": "))
    return locked


def report_dismiss(*, access: Access, moderator: User, report: Report) -> Report:
    if not access.can_moderate:
        raise NotAllowed("Only the group's moderators can do this.")
    with transaction.atomic():
        locked = Report.objects.select_for_update().get(pk=report.pk)
        moved = (
            states.transition(
                locked,
                ReportStatus.DISMISSED,
                by=moderator,
                source="moderation",
                changes={
                    "resolution": "dismissed",
                    "resolved_by": moderator,
                    "resolved_at": timezone.now(),
                },
                locked=True,
            )
            if locked.status == ReportStatus.OPEN
            else False
        )
        if moved:
            audit(
                kind=ModerationActionKind.DISMISS,
                moderator=moderator,
                group=locked.group,
                discussion=locked.discussion,
                reply=locked.reply,
                report=locked,
            )
    return locked


def user_suspend(*, staff: User, user: User, reason: str) -> None:
    """Staff suspend ``user`` platform-wide: messaging's suspension, which stops their
    messages and their community posts alike."""
    if not (staff.is_staff and staff.has_perm("community.change_report")):
        raise NotAllowed("Only staff can suspend people.")
    reason = _reason(reason, required=True)
    with transaction.atomic():
        messaging_services.user_suspend(user=user, moderator=staff, note=reason)
        audit(
            kind=ModerationActionKind.SUSPEND,
            moderator=staff,
            group=None,
            member=user,
            reason=reason,
        )
