"""Redirects to a target the request names (``next``), kept on this site.

A form that sends the browser back where it came from carries that place in ``next``. Anyone
can put another site there (``next=https://evil.example/phish``, ``next=//evil.example``),
so every view that follows ``next`` goes through :func:`redirect_to_next`: a target on
another host, with another scheme, or on plain HTTP from an HTTPS page is replaced by the
view's own default.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next_url(request: HttpRequest, default: str, *args: Any, **kwargs: Any) -> str:
    """``next`` from the form (or the query string) if it stays on this site, else
    ``default`` (a URL, a path or a URL name with its ``args``/``kwargs``, as for
    ``django.shortcuts.redirect``)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return resolve_url(default, *args, **kwargs)


def redirect_to_next(
    request: HttpRequest, default: str, *args: Any, **kwargs: Any
) -> HttpResponseRedirect:
    """Redirect to the request's ``next`` when it is safe, to ``default`` otherwise."""
    return HttpResponseRedirect(safe_next_url(request, default, *args, **kwargs))
