"""Reactions (a small fixed set) and following discussions."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Count

from marketplace.errors import DomainError
from marketplace.models import User
from messaging.community import live
from messaging.community.models import (
    Discussion,
    Follow,
    PostStatus,
    Reaction,
    ReactionKind,
    Reply,
)
from messaging.community.selectors import Access
from messaging.community.services.posts import check_may_post


def reaction_counts(*, discussion: Discussion, reply: Reply | None) -> dict[str, int]:
    counts = {kind: 0 for kind in ReactionKind.values}
    rows = (
        Reaction.objects.filter(discussion=discussion, reply=reply)
        .values("kind")
        .annotate(count=Count("pk"))
    )
    for row in rows:
        counts[row["kind"]] = row["count"]
    return counts


def reaction_toggle(
    *, access: Access, user: User, discussion: Discussion, reply: Reply | None, kind: str
) -> tuple[bool, dict[str, int]]:
    """Add the reaction, or take it back if it was there; (now on, counts per kind)."""
    check_may_post(access)
    if kind not in ReactionKind.values:
        raise DomainError(
            "Choose one of the reactions.",
            fields={"kind": [f"One of {', '.join(ReactionKind.values)}."]},
        )
    target = reply or discussion
    if target.status != PostStatus.PUBLISHED:
        raise DomainError("You can react only to published posts.", code="not_published")
    existing = Reaction.objects.filter(user=user, discussion=discussion, reply=reply, kind=kind)
    if existing.exists():
        existing.delete()
        on = False
    else:
        try:
            with transaction.atomic():
                Reaction.objects.create(user=user, discussion=discussion, reply=reply, kind=kind)
        except IntegrityError:
            pass  # a double click: the reaction is there
        on = True
    counts = reaction_counts(discussion=discussion, reply=reply)
    live.announce_reactions(discussion=discussion, reply=reply, counts=counts)
    return on, counts


def follow_set(*, user: User, discussion: Discussion, on: bool) -> bool:
    """Follow (or stop following) a discussion: replies in it are notified."""
    if on:
        Follow.objects.get_or_create(user=user, discussion=discussion)
    else:
        Follow.objects.filter(user=user, discussion=discussion).delete()
    return on
