"""The effective configuration, read back: a misspelt setting is otherwise silently ignored.

Each settings module is imported in a subprocess with a controlled environment (only the
variables a test names, database and Redis URLs that nothing connects to), so the figures
are the module's own and not this test run's.
"""

import json
import os
import stat
import subprocess
import sys

import pytest
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


def test_celery_holds_every_project_celery_setting_as_its_own_value(settings):
    # given: Celery's configuration settled at start-up (MarketplaceConfig.ready)
    for name in dir(settings):
        if name.startswith("CELERY_"):
            key = name.removeprefix("CELERY_").lower()
            assert celery_app.conf.changes[key] == getattr(settings, name), name
    # when Django's settings change later
    settings.CELERY_TASK_TIME_LIMIT = 1
    # then Celery keeps its own value: tests change celery_app.conf itself
    assert celery_app.conf.task_time_limit == 300


def test_no_library_is_patched_to_publish_tasks():
    """kombu's Redis transport builds its client for each message as shipped."""
    from kombu.transport import redis as kombu_redis

    create_client = kombu_redis.Channel._create_client
    assert create_client.__module__ == "kombu.transport.redis"
    assert create_client.__qualname__ == "Channel._create_client"


def test_security_headers_and_csp(client, db):
    response = client.get("/")
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy


def test_no_cdn_in_the_base_layout(client, db):
    html = client.get("/").content.decode()
    assert "htmx-2.min.js" in html
    for marker in ("cdn.", "unpkg.com", "jsdelivr", "googleapis"):
        assert marker not in html


# --- each settings module, imported on its own --------------------------------------------

# Read only, never connected to: importing the settings opens no connection.
UNREACHABLE = {
    "DATABASE_URL": "postgres://nobody@127.0.0.1:9/nothing",
    "REDIS_URL": "redis://127.0.0.1:9/0",
}
PRODUCTION_SECRET_KEY = "prod-" + "k3y!" * 20
# Shaped like Stripe's, never valid: the checks call no API.
REAL_LOOKING_KEY = "sk_" + "live_" + "0" * 24
PROPER_WEBHOOK_SECRETS = {
    "STRIPE_WEBHOOK_SECRETS": "whsec_" + "1" * 32,
    "STRIPE_CONNECT_WEBHOOK_SECRETS": "whsec_" + "2" * 32,
}
READ_BACK = [
    "DEBUG",
    "SECRET_KEY",
    "PASSWORD_HASHERS",
    "CELERY_TASK_ALWAYS_EAGER",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "STORAGES",
    "WHITENOISE_USE_FINDERS",
    "DEV_MAIL_ENABLED",
    "EMAIL_BACKEND",
    "DATABASES",
    "STRIPE_SECRET_KEY",
    "STRIPE_SANDBOX",
    "STRIPE_SANDBOX_IN_PROCESS",
    "STRIPE_API_BASE",
    "STRIPE_WEBHOOK_SECRETS",
    "STRIPE_CONNECT_WEBHOOK_SECRETS",
]
READ_SETTINGS = (
    "import json; from django.conf import settings; "
    f"print(json.dumps({{name: getattr(settings, name, None) for name in {READ_BACK!r}}}, "
    "default=str))"
)


def _environment(module: str, data_dir, **variables: str) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "COACH_DATA_DIR": str(data_dir),
        "DJANGO_SETTINGS_MODULE": f"marketplace.settings.{module}",
        **UNREACHABLE,
        **variables,
    }


def _run(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _settings_of(module: str, data_dir, **variables: str) -> dict:
    result = _run(READ_SETTINGS, _environment(module, data_dir, **variables))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_development_has_debug_on_a_key_of_its_own_and_the_local_stripe(tmp_path):
    # when
    read = _settings_of("development", tmp_path)
    # then
    assert read["DEBUG"] is True
    key_file = tmp_path / "secret_key"
    assert read["SECRET_KEY"] == key_file.read_text().strip()
    assert len(read["SECRET_KEY"]) >= 50
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert read["DEV_MAIL_ENABLED"] is True
    assert read["EMAIL_BACKEND"] == "marketplace.mail.DevInboxBackend"
    assert read["CELERY_TASK_ALWAYS_EAGER"] is False
    assert read["SESSION_COOKIE_SECURE"] is False
    assert read["STRIPE_SANDBOX"] is True
    assert read["STRIPE_SANDBOX_IN_PROCESS"] is False
    assert read["STRIPE_API_BASE"] == "http://127.0.0.1:8000/_stripe"
    assert read["STRIPE_WEBHOOK_SECRETS"] == ["whsec_local_platform"]
    assert read["STRIPE_CONNECT_WEBHOOK_SECRETS"] == ["whsec_local_connect"]
    # and the key stays the same from one start to the next
    assert _settings_of("development", tmp_path)["SECRET_KEY"] == read["SECRET_KEY"]


def test_development_switches_to_real_stripe_when_a_key_is_set(tmp_path):
    read = _settings_of(
        "development", tmp_path, STRIPE_SECRET_KEY=REAL_LOOKING_KEY, **PROPER_WEBHOOK_SECRETS
    )
    assert read["STRIPE_SANDBOX"] is False
    assert read["STRIPE_API_BASE"] == ""
    assert read["STRIPE_WEBHOOK_SECRETS"] == [PROPER_WEBHOOK_SECRETS["STRIPE_WEBHOOK_SECRETS"]]


def test_test_settings_are_fast_eager_and_never_reach_stripe(tmp_path):
    # given: a developer's real Stripe variables in the environment
    read = _settings_of(
        "test", tmp_path, STRIPE_SECRET_KEY=REAL_LOOKING_KEY, **PROPER_WEBHOOK_SECRETS
    )
    # then
    assert read["DEBUG"] is False
    assert read["PASSWORD_HASHERS"] == ["django.contrib.auth.hashers.MD5PasswordHasher"]
    assert read["CELERY_TASK_ALWAYS_EAGER"] is True
    assert read["DATABASES"]["default"]["CONN_MAX_AGE"] == 0
    assert read["STRIPE_SECRET_KEY"] == ""
    assert read["STRIPE_SANDBOX"] is True
    assert read["STRIPE_SANDBOX_IN_PROCESS"] is True
    assert read["STRIPE_WEBHOOK_SECRETS"] == ["whsec_local_platform"]
    assert read["STRIPE_CONNECT_WEBHOOK_SECRETS"] == ["whsec_local_connect"]
    assert read["DEV_MAIL_ENABLED"] is True
    assert not (tmp_path / "secret_key").exists()


def test_a_worker_started_by_the_tests_runs_its_tasks_on_the_broker(tmp_path):
    read = _settings_of(
        "test", tmp_path, CELERY_TASK_ALWAYS_EAGER="false", COACH_DATABASE_NAME="test_coach"
    )
    assert read["CELERY_TASK_ALWAYS_EAGER"] is False
    assert read["DATABASES"]["default"]["NAME"] == "test_coach"


def test_this_test_run_uses_the_test_settings():
    assert os.environ["DJANGO_SETTINGS_MODULE"] == "marketplace.settings.test"
    assert settings.PASSWORD_HASHERS == ["django.contrib.auth.hashers.MD5PasswordHasher"]
    assert settings.STRIPE_SANDBOX is True


def test_production_has_https_secure_cookies_and_hashed_static_files(tmp_path):
    # when
    read = _settings_of(
        "production",
        tmp_path,
        DJANGO_SECRET_KEY=PRODUCTION_SECRET_KEY,
        STRIPE_SECRET_KEY=REAL_LOOKING_KEY,
        **PROPER_WEBHOOK_SECRETS,
    )
    # then
    assert read["DEBUG"] is False
    assert read["SECRET_KEY"] == PRODUCTION_SECRET_KEY
    assert read["SESSION_COOKIE_SECURE"] is True
    assert read["CSRF_COOKIE_SECURE"] is True
    assert read["SECURE_SSL_REDIRECT"] is True
    assert read["SECURE_HSTS_SECONDS"] == 31536000
    assert read["STORAGES"]["staticfiles"]["BACKEND"] == (
        "whitenoise.storage.CompressedManifestStaticFilesStorage"
    )
    assert read["WHITENOISE_USE_FINDERS"] is False
    assert read["DEV_MAIL_ENABLED"] is False
    assert read["PASSWORD_HASHERS"][0] != "django.contrib.auth.hashers.MD5PasswordHasher"
    assert read["CELERY_TASK_ALWAYS_EAGER"] is False
    assert read["DATABASES"]["default"]["CONN_MAX_AGE"] == 60
    assert read["STRIPE_SANDBOX"] is False
    assert not (tmp_path / "secret_key").exists()


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = _run(READ_SETTINGS, _environment("production", tmp_path, STRIPE_SANDBOX="true"))
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set in production" in result.stderr


def test_production_on_the_local_stripe_on_purpose_signs_with_secrets_of_its_own(tmp_path):
    # when: STRIPE_SANDBOX=true, no signing secrets set
    read = _settings_of(
        "production", tmp_path, DJANGO_SECRET_KEY=PRODUCTION_SECRET_KEY, STRIPE_SANDBOX="true"
    )
    # then: not the repository's secrets, and not the same for another deployment
    assert read["STRIPE_SANDBOX"] is True
    secrets = {*read["STRIPE_WEBHOOK_SECRETS"], *read["STRIPE_CONNECT_WEBHOOK_SECRETS"]}
    assert len(secrets) == 2
    assert all(secret.startswith("whsec_") for secret in secrets)
    assert not secrets & {"whsec_local_platform", "whsec_local_connect", ""}
    other = _settings_of(
        "production", tmp_path, DJANGO_SECRET_KEY="other-" + "k" * 50, STRIPE_SANDBOX="true"
    )
    assert not set(other["STRIPE_WEBHOOK_SECRETS"]) & secrets


@pytest.mark.parametrize(
    ("variables", "refused"),
    [
        ({}, "marketplace.E004"),  # the local Stripe, not asked for
        (
            {"STRIPE_SECRET_KEY": REAL_LOOKING_KEY},  # no signing secrets
            "marketplace.E001",
        ),
        (
            {
                "STRIPE_SECRET_KEY": REAL_LOOKING_KEY,
                "STRIPE_WEBHOOK_SECRETS": "whsec_local_platform",
                "STRIPE_CONNECT_WEBHOOK_SECRETS": "whsec_local_connect",
            },
            "marketplace.E001",
        ),
    ],
)
def test_the_web_process_refuses_to_start_with_production_settings_stripe_refuses(
    tmp_path, variables, refused
):
    # when: uvicorn imports the application
    env = _environment("production", tmp_path, DJANGO_SECRET_KEY=PRODUCTION_SECRET_KEY)
    env.pop("DJANGO_SETTINGS_MODULE")  # asgi.py chooses production itself
    result = _run("import marketplace.asgi", {**env, **variables})
    # then
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert refused in result.stderr


def _manage_py_check_deploy(variables: dict[str, str]) -> subprocess.CompletedProcess:
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "marketplace.settings.production",
        "DJANGO_SECRET_KEY": PRODUCTION_SECRET_KEY,
        "DJANGO_ALLOWED_HOSTS": "coach.example.com",
        "COACH_DATA_DIR": str(BASE_DIR / ".data"),
        **variables,
    }
    for name in ("DATABASE_URL", "REDIS_URL"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "variables",
    [
        {"STRIPE_SECRET_KEY": REAL_LOOKING_KEY, **PROPER_WEBHOOK_SECRETS},
        {"STRIPE_SANDBOX": "true"},  # the production-like stack of docker-compose.yml
    ],
    ids=["real-stripe", "local-stripe-on-purpose"],
)
def test_check_deploy_with_production_settings_prints_no_warning(variables):
    result = _manage_py_check_deploy(variables)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNINGS" not in result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_with_production_settings_refuses_the_repository_signing_secrets():
    result = _manage_py_check_deploy(
        {
            "STRIPE_SECRET_KEY": REAL_LOOKING_KEY,
            "STRIPE_WEBHOOK_SECRETS": "whsec_local_platform",
            "STRIPE_CONNECT_WEBHOOK_SECRETS": "whsec_local_connect",
        }
    )
    assert result.returncode != 0
    assert result.stderr.count("marketplace.E001") == 2, result.stderr


def test_the_celery_worker_refuses_to_start_with_production_settings_stripe_refuses(tmp_path):
    # given: the local Stripe, not asked for; celery.py chooses production itself
    env = _environment("production", tmp_path, DJANGO_SECRET_KEY=PRODUCTION_SECRET_KEY)
    env.pop("DJANGO_SETTINGS_MODULE")
    # when
    result = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "marketplace", "worker", "--concurrency", "1"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # then
    assert result.returncode != 0
    assert "marketplace.E004" in result.stdout + result.stderr


def test_the_site_connections_start_no_parallel_query_workers(db):
    # the setting reaches PostgreSQL on every connection the site opens
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW max_parallel_workers_per_gather")
        assert cursor.fetchone()[0] == str(settings.DATABASE_PARALLEL_WORKERS) == "0"
