"""A person's own settings: name and time zone, optional e-mails, and the role (client,
coach or both). Reads and writes, each write in one transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.db import transaction

from marketplace.dates import zone
from marketplace.errors import DomainError
from marketplace.models import EmailKind, EmailPreference, Role, User


def email_allowed(user: User, kind: EmailKind | str) -> bool:
    """Whether ``user`` wants the optional e-mail ``kind`` (yes unless turned off)."""
    return not EmailPreference.objects.filter(user=user, kind=kind, enabled=False).exists()


def email_recipients_allowed(users: Iterable[User], kind: EmailKind | str) -> list[User]:
    """The users among ``users`` who want ``kind`` (one query)."""
    users = list(users)
    off = set(
        EmailPreference.objects.filter(user__in=users, kind=kind, enabled=False).values_list(
            "user_id", flat=True
        )
    )
    return [user for user in users if user.pk not in off]


def email_preferences(user: User) -> dict[str, bool]:
    """Every optional e-mail kind and whether ``user`` gets it."""
    off = set(
        EmailPreference.objects.filter(user=user, enabled=False).values_list("kind", flat=True)
    )
    return {kind.value: kind.value not in off for kind in EmailKind}


def email_preferences_save(*, user: User, choices: Mapping[str, bool]) -> None:
    unknown = set(choices) - set(EmailKind.values)
    if unknown:
        raise DomainError(f"No such e-mail: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        for kind, enabled in choices.items():
            EmailPreference.objects.update_or_create(
                user=user, kind=kind, defaults={"enabled": bool(enabled)}
            )


def user_profile_update(*, user: User, first_name: str, last_name: str, time_zone: str) -> User:
    """Change the person's name and time zone (a zone name the zone database knows)."""
    if zone(time_zone).key != time_zone:
        raise DomainError("Choose a time zone from the list.", fields={"time_zone": ["Unknown."]})
    user.first_name, user.last_name, user.time_zone = first_name, last_name, time_zone
    user.save(update_fields=["first_name", "last_name", "time_zone"])
    return user


def user_add_role(*, user: User, role: str) -> User:
    """Let a client coach too, or a coach book sessions too: the account becomes ``both``.

    Roles are only added here; a coach's profile and application stay whatever happens."""
    if role not in (Role.CLIENT, Role.COACH):
        raise DomainError("Choose client or coach.")
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        has = locked.is_coach if role == Role.COACH else locked.is_client
        if not has:
            locked.role = Role.BOTH
            locked.save(update_fields=["role"])
    user.role = locked.role
    return user
