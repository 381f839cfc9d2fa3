"""The effective configuration, read back: a misspelt setting is otherwise silently ignored."""

import subprocess
import sys

from django.conf import settings

from marketplace.celery import app as celery_app
from tests.conftest import BASE_DIR


def test_celery_reads_the_project_settings():
    conf = celery_app.conf
    assert conf.task_serializer == "json"
    assert conf.result_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.task_time_limit == settings.CELERY_TASK_TIME_LIMIT == 300
    assert conf.task_soft_time_limit == 240
    assert conf.worker_prefetch_multiplier == 1
    assert conf.broker_url.startswith(("redis://", "redis+socket://", "rediss://"))
    assert conf.timezone == "UTC"


def test_every_celery_setting_in_settings_is_one_celery_knows():
    known = set(celery_app.conf.keys())
    ours = {
        name.removeprefix("CELERY_").lower() for name in dir(settings) if name.startswith("CELERY_")
    }
    assert ours <= known, f"unknown Celery settings: {sorted(ours - known)}"


def test_security_headers_and_csp(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy


def test_no_cdn_in_the_base_layout(client):
    html = client.get("/").content.decode()
    assert "htmx-2.min.js" in html
    for marker in ("cdn.", "unpkg.com", "jsdelivr", "googleapis"):
        assert marker not in html


def test_check_deploy_with_production_settings_prints_no_warning(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "prod-" + "k3y!" * 20,
        "DJANGO_ALLOWED_HOSTS": "coach.example.com",
        "COACH_DATA_DIR": str(BASE_DIR / ".data"),
    }
    import os

    for name in ("DATABASE_URL", "REDIS_URL"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNINGS" not in result.stderr
    assert "System check identified no issues" in result.stdout
