"""Joining, leaving, invitations, requests, roles, warnings and bans.

Every membership move goes through ``marketplace.states.transition`` under the row's lock;
a group's ``member_count`` is kept with an ``F()`` update in the same transaction.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from marketplace import states
from marketplace.emails import send_templated_email
from marketplace.errors import DomainError, NotAllowed, NotFound
from marketplace.models import User
from messaging import selectors as messaging_selectors
from messaging.community import live
from messaging.community.models import (
    REASON_MAX_LENGTH,
    Group,
    GroupAccess,
    GroupKind,
    Handle,
    MemberRole,
    Membership,
    MembershipState,
    ModerationActionKind,
)
from messaging.community.selectors import Access
from messaging.community.services.audit import audit


def handle_ensure(user: User) -> Handle:
    """The person's ``@handle``, made from their name the first time (unique)."""
    existing = Handle.objects.filter(user=user).first()
    if existing is not None:
        return existing
    base = (slugify(user.display_name) or "member")[:30].strip("-") or "member"
    for attempt in range(50):
        candidate = base if attempt == 0 else f"{base}-{attempt + 1}"
        try:
            with transaction.atomic():
                return Handle.objects.create(user=user, handle=candidate)
        except IntegrityError:
            existing = Handle.objects.filter(user=user).first()
            if existing is not None:
                return existing
    return Handle.objects.create(user=user, handle=f"{base}-{user.pk}")


def _reason(reason: str, *, required: bool) -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise DomainError("Give a reason.", fields={"reason": ["Required."]})
    if len(reason) > REASON_MAX_LENGTH:
        raise DomainError(
            f"Keep the reason under {REASON_MAX_LENGTH} characters.",
            fields={"reason": ["Too long."]},
        )
    return reason


def _move(membership: Membership, to: str, *, by: User, note: str = "", **changes) -> bool:
    """Move a locked membership and keep the group's member count."""
    was_member = membership.state == MembershipState.MEMBER
    moved = states.transition(
        membership, to, by=by, source="community", note=note, changes=changes, locked=True
    )
    if moved:
        delta = int(to == MembershipState.MEMBER) - int(was_member)
        if delta:
            Group.objects.filter(pk=membership.group_id).update(
                member_count=F("member_count") + delta
            )
    return moved


def _locked(group: Group, user: User) -> Membership | None:
    return Membership.objects.select_for_update().filter(group=group, user=user).first()


def group_join(*, group: Group, user: User) -> Membership:
    """Join an open group, ask to join a by-request group, or accept an invitation.

    A banned person cannot come back until a moderator lifts the ban; an invite-only group
    without an invitation is not there (404).
    """
    now = timezone.now()
    with transaction.atomic():
        membership = _locked(group, user)
        if membership is not None and membership.state == MembershipState.BANNED:
            if group.access == GroupAccess.OPEN:
                raise NotAllowed("You are banned from this group.", code="banned")
            raise NotFound("No such group.")
        if membership is not None and membership.state == MembershipState.MEMBER:
            return membership
        invited = membership is not None and membership.state == MembershipState.INVITED
        if group.access == GroupAccess.INVITE and not invited:
            raise NotFound("No such group.")
        target = (
            MembershipState.REQUESTED
            if group.access == GroupAccess.REQUEST and not invited
            else MembershipState.MEMBER
        )
        handle_ensure(user)
        if membership is None:
            membership = Membership.objects.create(
                group=group,
                user=user,
                state=target,
                joined_at=now if target == MembershipState.MEMBER else None,
                seen_at=now,
            )
            if target == MembershipState.MEMBER:
                Group.objects.filter(pk=group.pk).update(member_count=F("member_count") + 1)
            return membership
        if membership.state != target:
            changes = {"seen_at": now, "role": MemberRole.MEMBER}
            if target == MembershipState.MEMBER:
                changes["joined_at"] = now
            _move(membership, target, by=user, note="joined", **changes)
    return membership


def group_leave(*, group: Group, user: User) -> None:
    """Leave (or withdraw a request, or decline an invitation). The owner cannot leave."""
    with transaction.atomic():
        membership = _locked(group, user)
        if membership is None or membership.state in (
            MembershipState.LEFT,
            MembershipState.BANNED,
        ):
            return
        if membership.role == MemberRole.OWNER:
            raise DomainError("The owner cannot leave their own group.", code="owner_cannot_leave")
        _move(membership, MembershipState.LEFT, by=user, note="left")
        transaction.on_commit(
            lambda: (
                live.announce_revoked(group_id=group.pk, user_id=user.pk)
                if group.is_private
                else None
            )
        )


def member_invite(*, group: Group, by: Access, moderator: User, user: User) -> Membership:
    """The group's coach (or a moderator) invites a client who booked with the coach."""
    if not by.can_moderate:
        raise NotAllowed("Only the group's moderators can invite.")
    if group.kind != GroupKind.COACH or group.owner is None:
        raise DomainError("Topic groups are open: there is no one to invite.", code="open_group")
    if not messaging_selectors.has_booking_between(client=user, coach=group.owner):
        raise DomainError(
            "Only clients who have booked a session with the coach can be invited.",
            code="not_a_client",
            fields={"user": ["This person has not booked with the coach."]},
        )
    inviter = moderator
    with transaction.atomic():
        membership = _locked(group, user)
        if membership is None:
            return Membership.objects.create(
                group=group, user=user, state=MembershipState.INVITED, invited_by=inviter
            )
        if membership.state == MembershipState.REQUESTED:
            # they asked already: the invitation is the approval
            handle_ensure(user)
            _move(membership, MembershipState.MEMBER, by=inviter, joined_at=timezone.now())
        elif membership.state == MembershipState.LEFT:
            _move(membership, MembershipState.INVITED, by=inviter, invited_by=inviter)
        elif membership.state == MembershipState.BANNED:
            raise DomainError("Lift the ban before inviting this person again.", code="banned")
    return membership


def member_approve(
    *, group: Group, by: Access, moderator: User, membership: Membership
) -> Membership:
    """A moderator lets in someone who asked to join."""
    if not by.can_moderate:
        raise NotAllowed("Only the group's moderators can approve members.")
    with transaction.atomic():
        locked = Membership.objects.select_for_update().get(pk=membership.pk, group=group)
        if locked.state != MembershipState.REQUESTED:
            raise DomainError("This person has not asked to join.", code="not_requested")
        handle_ensure(locked.user)
        now = timezone.now()
        _move(locked, MembershipState.MEMBER, by=moderator, joined_at=now, seen_at=now)
        audit(
            kind=ModerationActionKind.APPROVE_MEMBER,
            moderator=moderator,
            group=group,
            member=locked.user,
        )
    return locked


def member_set_role(
    *, group: Group, by: Access, moderator: User, membership: Membership, role: str
) -> Membership:
    """The owner (or staff) makes a member a moderator, or a moderator a member again."""
    if not (by.is_owner or by.staff_moderator):
        raise NotAllowed("Only the group's owner can change roles.")
    if role not in (MemberRole.MODERATOR, MemberRole.MEMBER):
        raise DomainError("Choose moderator or member.", fields={"role": ["Not a valid choice."]})
    with transaction.atomic():
        locked = Membership.objects.select_for_update().get(pk=membership.pk, group=group)
        if locked.state != MembershipState.MEMBER or locked.role == MemberRole.OWNER:
            raise DomainError("Only members other than the owner get a role.", code="not_member")
        if locked.role != role:
            locked.role = role
            locked.save(update_fields=["role"])
            audit(
                kind=ModerationActionKind.ROLE,
                moderator=moderator,
                group=group,
                member=locked.user,
                reason=f"now {role}",
            )
    return locked


def member_warn(*, group: Group, by: Access, user: User, reason: str, moderator: User) -> None:
    """A moderator warns a member (e-mailed, logged)."""
    if not by.can_moderate:
        raise NotAllowed("Only the group's moderators can warn members.")
    reason = _reason(reason, required=True)
    with transaction.atomic():
        audit(
            kind=ModerationActionKind.WARN,
            moderator=moderator,
            group=group,
            member=user,
            reason=reason,
        )
        send_templated_email(
            to=user.email,
            subject=f"A warning from the moderators of {group.name}",
            template="community_warning",
            context={"user": user, "group": group, "reason": reason},
        )


def member_ban(*, group: Group, by: Access, user: User, reason: str, moderator: User) -> Membership:
    """Ban ``user`` from ``group``: they can no longer post, and no longer read or see a
    private group; their open pages of the group stop receiving updates at once."""
    if not by.can_moderate:
        raise NotAllowed("Only the group's moderators can ban members.")
    reason = _reason(reason, required=True)
    if group.owner_id == user.pk:
        raise DomainError("The group's owner cannot be banned.", code="owner")
    with transaction.atomic():
        membership = _locked(group, user)
        if membership is None:
            membership = Membership.objects.create(
                group=group, user=user, state=MembershipState.BANNED, ban_reason=reason
            )
        elif membership.state != MembershipState.BANNED:
            _move(
                membership,
                MembershipState.BANNED,
                by=moderator,
                note=reason,
                ban_reason=reason,
                role=MemberRole.MEMBER,
            )
        audit(
            kind=ModerationActionKind.BAN,
            moderator=moderator,
            group=group,
            member=user,
            reason=reason,
        )
        send_templated_email(
            to=user.email,
            subject=f"You were banned from {group.name}",
            template="community_banned",
            context={"user": user, "group": group, "reason": reason},
        )
        transaction.on_commit(lambda: live.announce_revoked(group_id=group.pk, user_id=user.pk))
    return membership


def member_unban(*, group: Group, by: Access, user: User, moderator: User) -> None:
    if not by.can_moderate:
        raise NotAllowed("Only the group's moderators can lift bans.")
    with transaction.atomic():
        membership = _locked(group, user)
        if membership is None or membership.state != MembershipState.BANNED:
            return
        _move(membership, MembershipState.LEFT, by=moderator, note="ban lifted", ban_reason="")
        audit(kind=ModerationActionKind.UNBAN, moderator=moderator, group=group, member=user)


def group_mark_seen(*, access: Access) -> None:
    """The member opened the group's page: its discussions count as seen. Written only when
    something happened since the last visit, so reading a quiet group writes nothing."""
    membership, group = access.membership, access.group
    if membership is None or not access.is_member:
        return
    if membership.seen_at is not None and (
        group.last_activity_at is None or group.last_activity_at <= membership.seen_at
    ):
        return
    Membership.objects.filter(pk=membership.pk).update(seen_at=timezone.now())
