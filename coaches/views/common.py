"""What the coaches pages share: the signed-in user, a URL that may not be mounted, the
signed-in coach's own application."""

from __future__ import annotations

from typing import Any, cast

from django.http import Http404, HttpRequest
from django.urls import NoReverseMatch, reverse

from coaches.models import CoachApplication
from coaches.services import profiles
from marketplace.errors import DomainError
from marketplace.models import User


def signed_in_user(request: HttpRequest) -> User:
    """The signed-in user of a ``login_required`` view."""
    return cast(User, request.user)


def url_or_none(name: str, **kwargs: Any) -> str | None:
    try:
        return reverse(name, kwargs=kwargs or None)
    except NoReverseMatch:
        return None


def own_application(request: HttpRequest) -> CoachApplication:
    try:
        return profiles.coach_profile_start(user=signed_in_user(request))
    except DomainError as error:
        raise Http404(error.message) from error
