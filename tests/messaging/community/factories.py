"""Community test data: verified coaches, clients who booked, groups, members and posts."""

from __future__ import annotations

import itertools
from datetime import timedelta

from django.utils import timezone

from messaging.community.models import (
    Discussion,
    Group,
    GroupAccess,
    MemberRole,
    Membership,
    MembershipState,
    PostStatus,
    Reply,
)
from messaging.community.rendering import render_markdown
from messaging.community.services import groups, memberships
from tests.bookings.factories import BookingFactory
from tests.coaches.factories import CoachProfileFactory
from tests.factories import CoachUserFactory, UserFactory


def verified_coach(**names):
    """A coach whose application was approved (a verified coach)."""
    return CoachProfileFactory(user=CoachUserFactory(**names), is_approved=True).user


_booking_hours = itertools.count(1)


def booked_client(coach, **names):
    """A client with a confirmed booking with ``coach`` (each at its own hour)."""
    client = UserFactory(**names)
    starts = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(
        days=3, hours=next(_booking_hours)
    )
    BookingFactory(
        client=client,
        session_type__coach=coach.coach_profile,
        starts_at=starts,
        ends_at=starts + timedelta(minutes=60),
    )
    return client


def coach_group(coach, *, access: str = GroupAccess.INVITE, name: str = "Marathon prep") -> Group:
    return groups.group_create(
        by=coach, name=name, description="For my clients", rules="Be kind.", access=access
    )


def topic_group(*, name: str = "Career change") -> Group:
    now = timezone.now()
    return Group.objects.create(name=name, kind="topic", access="open", last_activity_at=now)


def add_member(group: Group, user, *, role: str = MemberRole.MEMBER, days_ago: int = 30):
    """``user`` as a member of ``group`` who joined ``days_ago`` days ago (not a new member)."""
    memberships.handle_ensure(user)
    joined = timezone.now() - timedelta(days=days_ago)
    membership, _ = Membership.objects.update_or_create(
        group=group,
        user=user,
        defaults={
            "state": MembershipState.MEMBER,
            "role": role,
            "joined_at": joined,
            "seen_at": joined,
        },
    )
    Membership.objects.filter(pk=membership.pk).update(created_at=joined)
    Group.objects.filter(pk=group.pk).update(
        member_count=Membership.objects.filter(group=group, state="member").count()
    )
    return membership


def ban(group: Group, user) -> Membership:
    membership = add_member(group, user)
    Membership.objects.filter(pk=membership.pk).update(state=MembershipState.BANNED)
    return membership


def make_discussion(group: Group, author, title: str = "Long runs", body: str = "How far?"):
    """A published discussion written straight to the database (no limits, no events)."""
    now = timezone.now()
    discussion = Discussion.objects.create(
        group=group,
        author=author,
        title=title,
        body=body,
        body_html=render_markdown(body).html,
        last_activity_at=now,
        status=PostStatus.PUBLISHED,
    )
    Group.objects.filter(pk=group.pk).update(discussion_count=1, last_activity_at=now)
    return discussion


def make_reply(discussion: Discussion, author, body: str = "About 30 km") -> Reply:
    discussion.refresh_from_db()
    seq = discussion.last_seq + 1
    reply = Reply.objects.create(
        discussion=discussion,
        author=author,
        seq=seq,
        body=body,
        body_html=render_markdown(body).html,
    )
    Discussion.objects.filter(pk=discussion.pk).update(
        last_seq=seq, reply_count=discussion.reply_count + 1, last_activity_at=reply.created_at
    )
    return reply
