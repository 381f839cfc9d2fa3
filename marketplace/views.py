from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from marketplace import preferences
from marketplace.account import account_profile_saved, account_sections
from marketplace.celery import app as celery_app
from marketplace.errors import DomainError
from marketplace.forms import EmailPreferencesForm, ProfileForm
from marketplace.models import Role, SentMail, User

# --- account settings ------------------------------------------------------------------------


def _account_page(
    request: HttpRequest,
    *,
    profile_form: ProfileForm | None = None,
    email_form: EmailPreferencesForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    sections = []
    for section in account_sections():
        context = section.context(request)
        if context is not None:
            sections.append({"section": section, "context": context})
    return render(
        request,
        "marketplace/account.html",
        {
            "profile_form": profile_form
            or ProfileForm(
                initial={
                    "first_name": user.first_name,
                    "last_name": user.last_name,
                    "time_zone": request.viewer_time_zone,  # type: ignore[attr-defined]
                }
            ),
            "email_form": email_form
            or EmailPreferencesForm(initial=preferences.email_preferences(user)),
            "sections": sections,
            "Role": Role,
        },
        status=status,
    )


@login_required
def account_settings(request: HttpRequest) -> HttpResponse:
    """Everything about the signed-in person in one place: name and time zone, sign-in (e-mail
    addresses, password, two-factor: allauth's pages), optional e-mails, photo and role."""
    return _account_page(request)


@login_required
@require_POST
def account_profile(request: HttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST)
    if not form.is_valid():
        return _account_page(request, profile_form=form, status=400)
    user: User = request.user  # type: ignore[assignment]
    try:
        preferences.user_profile_update(user=user, **form.cleaned_data)
    except DomainError as error:
        form.add_error(None, error.message)
        return _account_page(request, profile_form=form, status=400)
    account_profile_saved(user)
    messages.success(request, "Your name and time zone are saved.")
    return redirect("account_settings")


@login_required
@require_POST
def account_emails(request: HttpRequest) -> HttpResponse:
    form = EmailPreferencesForm(request.POST)
    if not form.is_valid():
        return _account_page(request, email_form=form, status=400)
    preferences.email_preferences_save(user=request.user, choices=form.cleaned_data)  # type: ignore[arg-type]
    messages.success(request, "Your e-mail choices are saved.")
    return redirect("account_settings")


@login_required
@require_POST
def account_role(request: HttpRequest) -> HttpResponse:
    """Add a role: a client who becomes a coach goes on to the coach application."""
    role = request.POST.get("role", "")
    try:
        preferences.user_add_role(user=request.user, role=role)  # type: ignore[arg-type]
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("account_settings")
    if role == Role.COACH:
        messages.success(request, "You can now coach. Tell us about yourself to be verified.")
        return redirect("coaches:application")
    messages.success(request, "You can now book sessions with other coaches.")
    return redirect("account_settings")


# Seconds /healthz waits for a worker's answer to its ping (it returns at the first answer).
HEALTHZ_WORKER_WAIT = 0.5


def healthz(request: HttpRequest) -> JsonResponse:
    """Reachability of the database, Redis and at least one Celery worker: 200, or 503
    naming what fails in ``failing``, within a second (every check is bounded).

    Staff see each failure's error; anyone else sees only which part fails, never an
    error's text (it can name internal hosts and socket paths).
    """
    checks: dict[str, dict[str, object]] = {}
    errors: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = {"ok": True}
    except Exception as exc:
        checks["database"] = {"ok": False}
        errors["database"] = _describe(exc)
    try:
        _ping_cache()
        checks["redis"] = {"ok": True}
    except Exception as exc:
        checks["redis"] = {"ok": False}
        errors["redis"] = _describe(exc)
    if not checks["redis"]["ok"] and _broker_is_cache_redis():
        # The broker is the same Redis: a ping could only wait for the same timeout.
        checks["worker"] = {"ok": False, "workers": 0}
        errors["worker"] = "not checked: the broker (Redis) is unreachable"
    else:
        try:
            replies = celery_app.control.ping(timeout=HEALTHZ_WORKER_WAIT, limit=1)
            checks["worker"] = {"ok": bool(replies), "workers": len(replies)}
        except Exception as exc:
            checks["worker"] = {"ok": False, "workers": 0}
            errors["worker"] = _describe(exc)
    failing = [name for name, check in checks.items() if not check["ok"]]
    if request.user.is_authenticated and request.user.is_staff:
        for name, error in errors.items():
            checks[name]["error"] = error
    return JsonResponse(
        {"ok": not failing, "failing": failing, **checks}, status=503 if failing else 200
    )


def _ping_cache() -> None:
    ping = getattr(cache, "ping", None)
    if ping is not None:  # marketplace.cache.FailOpenRedisCache: raises when Redis fails
        ping()
        return
    cache.set("healthz", "1", 5)
    if cache.get("healthz") != "1":
        raise RuntimeError("the cache does not keep what is stored")


def _broker_is_cache_redis() -> bool:
    """Whether Celery's broker is the Redis server the cache uses."""
    return _redis_server(str(celery_app.conf.broker_url)) == _redis_server(
        str(settings.CACHES["default"].get("LOCATION", ""))
    )


def _redis_server(url: str) -> str:
    """``host:port``, or a unix socket's path (``unix://``, ``redis+socket://``)."""
    parts = urlsplit(url)
    if parts.scheme in ("unix", "redis+socket", "socket"):
        return parts.path
    return parts.netloc.rsplit("@", 1)[-1]


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:500]


_URL = re.compile(r"(https?://[^\s<>\"']+)")


def _linkify(text: str) -> str:
    parts = _URL.split(text)
    html = []
    for index, part in enumerate(parts):
        if index % 2:
            html.append(f'<a href="{escape(part)}" rel="nofollow noopener">{escape(part)}</a>')
        else:
            html.append(escape(part))
    return mark_safe("".join(html))  # noqa: S308 - every part above is escaped


def dev_mail_list(request: HttpRequest) -> HttpResponse:
    if not settings.DEV_MAIL_ENABLED:
        raise Http404
    page = Paginator(SentMail.objects.all(), 25).get_page(request.GET.get("page"))
    return render(request, "marketplace/dev_mail_list.html", {"page": page})


def dev_mail_attachment(request: HttpRequest, pk: int, index: int) -> HttpResponse:
    """One attachment of a kept e-mail (the .ics of a booking), to open or, with
    ``?download=1``, to save under its own file name."""
    if not settings.DEV_MAIL_ENABLED:
        raise Http404
    mail = get_object_or_404(SentMail, pk=pk)
    if index >= len(mail.attachments):
        raise Http404("No such attachment.")
    attachment = mail.attachments[index]
    mimetype = attachment.get("mimetype") or "application/octet-stream"
    response = HttpResponse(
        attachment.get("content", ""), content_type=f"{mimetype}; charset=utf-8"
    )
    disposition = "attachment" if request.GET.get("download") == "1" else "inline"
    filename = str(attachment.get("filename") or f"attachment-{index + 1}").replace('"', "")
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def dev_mail_detail(request: HttpRequest, pk: int) -> HttpResponse:
    if not settings.DEV_MAIL_ENABLED:
        raise Http404
    mail = get_object_or_404(SentMail, pk=pk)
    return render(
        request, "marketplace/dev_mail_detail.html", {"mail": mail, "body": _linkify(mail.body)}
    )
