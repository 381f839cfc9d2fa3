"""allauth adapters: password throttling by address and account, staff keep their TOTP.

Set by ``ACCOUNT_ADAPTER`` and ``MFA_ADAPTER``; the reasons are in docs/security.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.http import HttpRequest

from marketplace import login_throttle
from marketplace.staff_mfa import is_staff_account


@dataclass(frozen=True)
class SiteIdentity:
    """What allauth's e-mails call ``current_site``: without django.contrib.sites allauth
    names the site after the request's host ("Hello from 127.0.0.1:8000!")."""

    name: str
    domain: str


def site_identity() -> SiteIdentity:
    return SiteIdentity(name=settings.SITE_NAME, domain=urlsplit(settings.SITE_URL).netloc)


def _login(credentials: dict[str, Any]) -> str:
    return str(credentials.get("email") or credentials.get("username") or "")


class AccountAdapter(DefaultAccountAdapter):
    """Every password check (sign-in, the admin's way in, reauthentication) is throttled by
    ``marketplace.login_throttle`` instead of allauth's per-account ``login_failed`` limit,
    which would let anyone lock an account by failing on purpose.

    allauth's ``login_failed`` still guards the second-factor codes (``allauth.mfa``).
    """

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """allauth's e-mails greet and sign off with the site's name, not the host."""
        super().send_mail(template_prefix, email, {**context, "current_site": site_identity()})

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        if not login_throttle.allows(request, _login(credentials)):
            raise self.validation_error("too_many_login_attempts")

    def authenticate(self, request: HttpRequest, **credentials: Any) -> Any:
        user = super().authenticate(request, **credentials)
        if user is not None:
            login_throttle.record_success(request, _login(credentials))
        return user

    def authentication_failed(self, request: HttpRequest, **credentials: Any) -> None:
        login_throttle.record_failure(request, _login(credentials))


class MFAAdapter(DefaultMFAAdapter):
    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        """Staff cannot switch their TOTP off: the admin needs it."""
        if authenticator.type == Authenticator.Type.TOTP and is_staff_account(authenticator.user):
            return False
        return super().can_delete_authenticator(authenticator)
