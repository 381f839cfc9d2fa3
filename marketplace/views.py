from __future__ import annotations

import re

from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils.html import escape
from django.utils.safestring import mark_safe

from marketplace.celery import app as celery_app
from marketplace.models import SentMail


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "marketplace/home.html")


def healthz(request: HttpRequest) -> JsonResponse:
    """Reachability of the database, Redis and at least one Celery worker."""
    checks: dict[str, dict[str, object]] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = {"ok": True}
    except Exception as exc:
        checks["database"] = {"ok": False, "error": str(exc)}
    try:
        cache.set("healthz", "1", 5)
        checks["redis"] = {"ok": cache.get("healthz") == "1"}
    except Exception as exc:
        checks["redis"] = {"ok": False, "error": str(exc)}
    try:
        replies = celery_app.control.ping(timeout=1.0)
        checks["worker"] = {"ok": bool(replies), "workers": len(replies)}
    except Exception as exc:
        checks["worker"] = {"ok": False, "error": str(exc)}
    healthy = all(check["ok"] for check in checks.values())
    return JsonResponse({"ok": healthy, **checks}, status=200 if healthy else 503)


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


def dev_mail_detail(request: HttpRequest, pk: int) -> HttpResponse:
    if not settings.DEV_MAIL_ENABLED:
        raise Http404
    mail = get_object_or_404(SentMail, pk=pk)
    return render(
        request, "marketplace/dev_mail_detail.html", {"mail": mail, "body": _linkify(mail.body)}
    )
