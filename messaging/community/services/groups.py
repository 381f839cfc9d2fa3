"""Creating and editing groups: topic groups by staff, coach-led groups by verified coaches."""

from __future__ import annotations

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from coaches.models import Specialization
from marketplace.errors import DomainError, NotAllowed
from marketplace.models import User
from messaging.attachments import IMAGE_TYPES, attachment_detect
from messaging.community.models import (
    GROUP_DESCRIPTION_MAX_LENGTH,
    GROUP_NAME_MAX_LENGTH,
    GROUP_RULES_MAX_LENGTH,
    Group,
    GroupAccess,
    GroupKind,
    MemberRole,
    Membership,
    MembershipState,
)
from messaging.community.services.memberships import handle_ensure


def may_create_topic_group(user: User) -> bool:
    return bool(user.is_authenticated and user.is_staff and user.has_perm("community.add_group"))


def may_create_coach_group(user: User) -> bool:
    """A verified coach: an approved coach profile and an active account."""
    profile = getattr(user, "coach_profile", None) if user.is_authenticated else None
    return bool(user.is_active and user.is_coach and profile is not None and profile.is_approved)


def _check_text(*, name: str, description: str, rules: str) -> tuple[str, str, str]:
    name, description, rules = (name or "").strip(), (description or "").strip(), rules or ""
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["Give the group a name."]
    elif len(name) > GROUP_NAME_MAX_LENGTH:
        errors["name"] = [f"At most {GROUP_NAME_MAX_LENGTH} characters."]
    if len(description) > GROUP_DESCRIPTION_MAX_LENGTH:
        errors["description"] = [f"At most {GROUP_DESCRIPTION_MAX_LENGTH} characters."]
    if len(rules) > GROUP_RULES_MAX_LENGTH:
        errors["rules"] = [f"At most {GROUP_RULES_MAX_LENGTH} characters."]
    if errors:
        raise DomainError("Some fields are not valid.", fields=errors)
    return name, description, rules.strip()


def _save_cover(group: Group, cover: UploadedFile | None) -> None:
    if cover is None:
        return
    mime, extension = attachment_detect(
        cover, allowed=IMAGE_TYPES, field="cover", what="an image (JPEG, PNG, GIF, WebP)"
    )
    group.cover_type = mime
    group.cover.save(f"cover.{extension}", cover, save=False)


def group_create(
    *,
    by: User,
    name: str,
    description: str = "",
    rules: str = "",
    access: str = GroupAccess.OPEN,
    specialization: Specialization | None = None,
    cover: UploadedFile | None = None,
) -> Group:
    """Staff create open topic groups (by specialisation); a verified coach creates a group
    for their clients (open, by request or invite-only) and owns it."""
    name, description, rules = _check_text(name=name, description=description, rules=rules)
    if access not in GroupAccess.values:
        raise DomainError("Choose who may join.", fields={"access": ["Not a valid choice."]})
    if may_create_coach_group(by):
        kind = GroupKind.COACH
    elif may_create_topic_group(by):
        kind = GroupKind.TOPIC
        if access != GroupAccess.OPEN:
            raise DomainError(
                "Topic groups are open to everyone.",
                fields={"access": ["Topic groups are open."]},
            )
    else:
        raise NotAllowed(
            "Only verified coaches and staff can create groups.", code="not_a_verified_coach"
        )
    if cover is not None:
        # checked before anything is written
        attachment_detect(
            cover, allowed=IMAGE_TYPES, field="cover", what="an image (JPEG, PNG, GIF, WebP)"
        )
    now = timezone.now()
    with transaction.atomic():
        group = Group(
            name=name,
            description=description,
            rules=rules,
            access=access,
            kind=kind,
            specialization=specialization,
            owner=by if kind == GroupKind.COACH else None,
            created_by=by,
            last_activity_at=now,
        )
        _save_cover(group, cover)
        group.save()
        if kind == GroupKind.COACH:
            handle_ensure(by)
            Membership.objects.create(
                group=group,
                user=by,
                role=MemberRole.OWNER,
                state=MembershipState.MEMBER,
                joined_at=now,
                seen_at=now,
            )
            group.member_count = 1
            group.save(update_fields=["member_count"])
    return group


def group_update(
    *,
    group: Group,
    by: User,
    name: str,
    description: str = "",
    rules: str = "",
    access: str | None = None,
    cover: UploadedFile | None = None,
) -> Group:
    """The owner (or staff for topic groups) edits the group; caller checked moderation."""
    name, description, rules = _check_text(name=name, description=description, rules=rules)
    fields = ["name", "description", "rules"]
    group.name, group.description, group.rules = name, description, rules
    if access is not None and access != group.access:
        if group.kind == GroupKind.TOPIC or access not in GroupAccess.values:
            raise DomainError("Topic groups are open.", fields={"access": ["Not allowed."]})
        group.access = access
        fields.append("access")
    if cover is not None:
        _save_cover(group, cover)
        fields += ["cover", "cover_type"]
    group.save(update_fields=fields)
    return group
