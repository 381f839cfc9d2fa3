"""Staff pages open only to a sign-in that passed the second factor (docs/security.md).

A staff or superuser account must have a TOTP authenticator (allauth.mfa), and the current
sign-in must have passed it: allauth records each authentication step of a sign-in in the
session (``get_authentication_records``), and a step with the method ``"mfa"`` (a TOTP or a
recovery code, at sign-in or when asked again) is what counts. A session that was logged in
some other way (Django's ``login()``, a test client's ``force_login``) has no such step and
is asked for a code before any staff page opens.

``StaffSecondFactorMiddleware`` holds every page and API of such a session back;
``MarketplaceAdminSite`` (``marketplace.admin_site``) asks the same of the admin, and API
tokens of staff accounts are refused (``TokenAuthentication``), since a token carries no
second factor.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any
from urllib.parse import urlencode

from allauth.account.authentication import get_authentication_records
from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django_htmx.http import HttpResponseClientRedirect
from rest_framework import authentication, exceptions

MFA_REQUIRED = "mfa_required"


class Step(Enum):
    """What a staff sign-in still has to do before staff pages open."""

    SET_UP = "set_up"  # the account has no TOTP authenticator yet
    VERIFY = "verify"  # it has one, but this sign-in did not pass it


MESSAGES = {
    Step.SET_UP: (
        "Staff accounts use two-factor authentication: set up an authenticator app to continue."
    ),
    Step.VERIFY: "Enter a code from your authenticator app to open staff pages.",
}

# Pages a staff sign-in may open before the step is done (URL names).
ALWAYS_ALLOWED = frozenset({"account_logout", "admin:logout", "healthz"})
ALLOWED = {
    # Setting TOTP up may ask for the password again, and needs a verified e-mail address.
    Step.SET_UP: ALWAYS_ALLOWED
    | {
        "account_reauthenticate",
        "account_email",
        "account_confirm_email",
        "account_email_verification_sent",
        "dev_mail_list",
        "dev_mail_detail",
    },
    Step.VERIFY: ALWAYS_ALLOWED | {"mfa_reauthenticate"},
}


def is_staff_account(user: Any) -> bool:
    return bool(user.is_authenticated and (user.is_staff or user.is_superuser))


def has_totp(user: Any) -> bool:
    return is_mfa_enabled(user, [Authenticator.Type.TOTP])


def passed_second_factor(request: HttpRequest, user: Any) -> bool:
    """Whether this session's sign-in of ``user`` passed a TOTP or recovery code."""
    return any(
        record.get("method") == "mfa" for record in get_authentication_records(request, user)
    )


def missing_step(request: HttpRequest) -> Step | None:
    """The step a staff sign-in still owes, or ``None`` (not staff, or done)."""
    user = getattr(request, "user", None)
    if user is None or not is_staff_account(user):
        return None
    if not has_totp(user):
        return Step.SET_UP
    if not passed_second_factor(request, user):
        return Step.VERIFY
    return None


def step_url(step: Step, next_url: str | None = None) -> str:
    """Where the staff member does ``step``; a verified code leads on to ``next_url``."""
    if step is Step.SET_UP:
        # allauth's activation page ends on the recovery codes; staff pages then ask for
        # a code once, which leads on from there.
        return reverse("mfa_activate_totp")
    url = reverse("mfa_reauthenticate")
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def _is_allowed(request: HttpRequest, step: Step) -> bool:
    if request.path_info.startswith(settings.STATIC_URL):
        return True
    try:
        view_name = resolve(request.path_info).view_name
    except Resolver404:
        return False
    return view_name in ALLOWED[step] or (step is Step.SET_UP and view_name.startswith("mfa_"))


class StaffSecondFactorMiddleware:
    """Hold a staff sign-in back until it has TOTP set up and passed.

    Pages redirect to the step (htmx requests with ``HX-Redirect``); the API (``/api/``)
    answers 403 ``{"error": {"code": "mfa_required", ...}}``. Placed after allauth's
    ``AccountMiddleware`` (the user and the session are known).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        step = missing_step(request)
        if step is None or _is_allowed(request, step):
            return self.get_response(request)
        if request.path_info.startswith("/api/"):
            # Imported here: DRF loads this module (TokenAuthentication) while it loads
            # rest_framework.views, which marketplace.api imports.
            from marketplace.api import error_body

            return JsonResponse(error_body(MFA_REQUIRED, MESSAGES[step]), status=403)
        next_url = request.get_full_path() if request.method == "GET" else None
        url = step_url(step, next_url)
        if getattr(request, "htmx", False):
            return HttpResponseClientRedirect(url)
        messages.info(request, MESSAGES[step])
        return redirect(url)


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's token authentication, refusing staff accounts' tokens.

    A token is a password-like secret with no second factor; staff use the API from a
    browser sign-in that passed TOTP (the session is checked by the middleware).
    """

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        user, token = super().authenticate_credentials(key)
        if is_staff_account(user):
            raise exceptions.PermissionDenied(
                "Staff accounts use the API from a signed-in session that passed "
                "two-factor authentication, not with a token.",
                code=MFA_REQUIRED,
            )
        return user, token
