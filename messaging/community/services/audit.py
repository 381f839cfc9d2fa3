"""The moderation audit log: one ``ModerationAction`` row per action (shown in admin)."""

from __future__ import annotations

from messaging.community.models import Discussion, Group, ModerationAction, Reply, Report


def audit(
    *,
    kind: str,
    moderator,
    group: Group | None,
    member=None,
    discussion: Discussion | None = None,
    reply: Reply | None = None,
    report: Report | None = None,
    reason: str = "",
) -> ModerationAction:
    return ModerationAction.objects.create(
        kind=kind,
        moderator=moderator,
        group=group,
        member=member,
        discussion=discussion,
        reply=reply,
        report=report,
        reason=reason,
    )
