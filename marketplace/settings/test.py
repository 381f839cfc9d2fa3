"""The tests: selected by ``pyproject.toml`` for pytest and by ``tests/conftest.py`` for the
Celery workers the tests start.

DEBUG stays off as in production. Tasks run eagerly at commit unless
``CELERY_TASK_ALWAYS_EAGER=false`` (a started worker); Stripe is always the local Stripe,
called in-process, whatever the environment says; a fast password hash; no persistent
database connections.
"""

from .base import *  # noqa: F403
from .base import (
    DATABASES,
    SITE_URL,
    STRIPE_SANDBOX_CONNECT_WEBHOOK_SECRET,
    STRIPE_SANDBOX_WEBHOOK_SECRET,
    env,
)

SECRET_KEY = "test-settings-only-" + "not-a-secret-" * 4

# Tests make hundreds of users; a slow hash there buys nothing.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Connections are not kept between requests: a test's threads and servers come and go.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
# A worker started by the tests points at the test database by name.
if env.str("COACH_DATABASE_NAME", default=""):
    DATABASES["default"]["NAME"] = env.str("COACH_DATABASE_NAME")

# Tasks run in the calling process at commit, unless a test starts a real worker.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)

# Mail is kept in SentMail (and, in the test process, in Django's mail.outbox), never sent.
EMAIL_BACKEND = "marketplace.mail.DevInboxBackend"
DEV_MAIL_ENABLED = True
WHITENOISE_USE_FINDERS = True

# Never real Stripe, even with STRIPE_* variables in the environment or .env: the local
# Stripe, chosen here on purpose (DEBUG is off), called in-process with no sockets.
STRIPE_SECRET_KEY = ""
STRIPE_PUBLISHABLE_KEY = ""
STRIPE_SANDBOX = True
STRIPE_SANDBOX_REQUESTED = True
STRIPE_SANDBOX_IN_PROCESS = env.bool("STRIPE_SANDBOX_IN_PROCESS", default=True)
STRIPE_API_BASE = f"{SITE_URL}/_stripe"
STRIPE_WEBHOOK_SECRETS = [STRIPE_SANDBOX_WEBHOOK_SECRET]
STRIPE_CONNECT_WEBHOOK_SECRETS = [STRIPE_SANDBOX_CONNECT_WEBHOOK_SECRET]
