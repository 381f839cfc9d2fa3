"""The Django admin, signed into through allauth only (docs/security.md).

``AdminConfig`` takes the place of ``django.contrib.admin`` in ``INSTALLED_APPS`` and makes
``MarketplaceAdminSite`` the default ``admin.site``, as Django's docs describe for a custom
site. Its login page never takes a password: it sends visitors to allauth's sign-in (rate
limited, with the TOTP step), keeping a same-host ``next``. The admin opens only to a staff
sign-in that passed the second factor (``marketplace.staff_mfa``); its logout is Django's.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache

from marketplace.redirects import safe_next_url

# This module is loaded with INSTALLED_APPS (for AdminConfig), before any model may be, so
# marketplace.staff_mfa (allauth.mfa's models) is imported where it is used.


class MarketplaceAdminSite(admin.AdminSite):
    site_header = f"{settings.SITE_NAME} staff"
    site_title = f"{settings.SITE_NAME} admin"
    index_title = "Coaches, bookings, money and moderation"

    def get_urls(self):  # type: ignore[no-untyped-def]
        from django.urls import path

        from marketplace import operations

        return [
            path("operations/", self.admin_view(operations.operations_view), name="operations"),
            *super().get_urls(),
        ]

    def has_permission(self, request: HttpRequest) -> bool:
        from marketplace import staff_mfa

        if not super().has_permission(request):
            return False
        if request.path == reverse("admin:logout", current_app=self.name):
            return True
        return staff_mfa.missing_step(request) is None

    def _next_url(self, request: HttpRequest) -> str:
        """The requested ``next`` when it stays on this host, else the admin index."""
        index = reverse("admin:index", current_app=self.name)
        candidate = request.GET.get(REDIRECT_FIELD_NAME, "")
        if candidate.startswith(reverse("admin:login", current_app=self.name)):
            return index
        return safe_next_url(request, index)

    @method_decorator(never_cache)
    def login(
        self, request: HttpRequest, extra_context: dict | None = None
    ) -> HttpResponseRedirect:
        """Send the visitor to allauth's sign-in, or on, never to Django's login form."""
        from marketplace import staff_mfa

        next_url = self._next_url(request)
        user = request.user
        if not user.is_authenticated:
            login_url = reverse("account_login")
            return HttpResponseRedirect(f"{login_url}?{urlencode({REDIRECT_FIELD_NAME: next_url})}")
        if not (user.is_active and user.is_staff):
            raise PermissionDenied("This account has no access to the admin.")
        step = staff_mfa.missing_step(request)
        if step is not None:
            return HttpResponseRedirect(staff_mfa.step_url(step, next_url))
        return HttpResponseRedirect(next_url)


class AdminConfig(DjangoAdminConfig):
    default_site = "marketplace.admin_site.MarketplaceAdminSite"
