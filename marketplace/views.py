from __future__ import annotations

import re
from urllib.parse import urlsplit

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


def dev_mail_detail(request: HttpRequest, pk: int) -> HttpResponse:
    if not settings.DEV_MAIL_ENABLED:
        raise Http404
    mail = get_object_or_404(SentMail, pk=pk)
    return render(
        request, "marketplace/dev_mail_detail.html", {"mail": mail, "body": _linkify(mail.body)}
    )
