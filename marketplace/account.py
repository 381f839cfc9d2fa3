"""The account settings page's sections that other apps add (a coach's photo, a community
digest), registered in their ``AppConfig.ready()``: marketplace, the lowest layer, owns the
page and never imports them.

A section is a template included in the page with the context its ``context`` callable
returns for the signed-in user (None: the section does not apply to them); its forms post
to the owning app's own views, which return to ``account_settings``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest

from marketplace.models import User


@dataclass(frozen=True)
class AccountSection:
    key: str
    title: str
    template: str
    # The section's context for this request, or None when it is not for this user.
    context: Callable[[HttpRequest], dict[str, Any] | None]
    # Lower comes first; the page's own sections are 10 (profile), 50 (e-mails), 90 (role).
    order: int = 40
    # Told after the person changed their name or time zone on the page.
    profile_saved: Callable[[User], None] | None = field(default=None)


_sections: dict[str, AccountSection] = {}


def account_section_register(section: AccountSection) -> None:
    _sections[section.key] = section


def account_sections() -> list[AccountSection]:
    return sorted(_sections.values(), key=lambda section: (section.order, section.key))


def account_profile_saved(user: User) -> None:
    for section in account_sections():
        if section.profile_saved is not None:
            section.profile_saved(user)
