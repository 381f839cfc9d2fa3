"""Production: the default of ``marketplace/asgi.py`` and ``marketplace/celery.py``, and what
the Docker image and ``docker-compose.yml`` select.

DJANGO_SECRET_KEY is required; HTTPS redirect, HSTS and secure cookies; hashed, compressed
static files (``collectstatic``). It fails closed: the Stripe system checks of
``marketplace/checks.py`` run when this module is imported, so web, worker, beat and every
management command refuse to start with the local Stripe's key or signing secrets beside a
real key, or with the local Stripe not asked for by ``STRIPE_SANDBOX=true``.
"""

import sys

from django.core.exceptions import ImproperlyConfigured
from django.utils.crypto import salted_hmac

from marketplace.checks import stripe_configuration_errors

from .base import *  # noqa: F403
from .base import (
    STORAGES,
    STRIPE_CONNECT_WEBHOOK_SECRETS,
    STRIPE_SANDBOX,
    STRIPE_WEBHOOK_SECRETS,
    env,
)

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY must be set in production (a long random string, never committed)."
    )

# --- HTTPS ---------------------------------------------------------------------------------
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto; DJANGO_SECURE_SSL_REDIRECT=false
# only where that proxy redirects itself (or on a local production-like stack).
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True

# --- static files --------------------------------------------------------------------------
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}


# --- Stripe --------------------------------------------------------------------------------
def _local_stripe_signing_secret(endpoint: str) -> str:
    """A signing secret of this deployment's own for the local Stripe's ``endpoint``.

    The local Stripe signs and the product verifies with the same setting, so any value
    works; one derived from DJANGO_SECRET_KEY is known to nobody who has only read the
    repository.
    """
    digest = salted_hmac(
        f"marketplace.settings.production.local-stripe.{endpoint}",
        "webhook-signing-secret",
        secret=SECRET_KEY,
        algorithm="sha256",
    ).hexdigest()
    return f"whsec_{digest}"


# Asked for with STRIPE_SANDBOX=true (the production-like stack, benchmarks): the local
# Stripe with signing secrets of this deployment unless they are set.
if STRIPE_SANDBOX:
    STRIPE_WEBHOOK_SECRETS = STRIPE_WEBHOOK_SECRETS or [_local_stripe_signing_secret("platform")]
    STRIPE_CONNECT_WEBHOOK_SECRETS = STRIPE_CONNECT_WEBHOOK_SECRETS or [
        _local_stripe_signing_secret("connect")
    ]

# --- fail closed ---------------------------------------------------------------------------
_refused = stripe_configuration_errors(sys.modules[__name__])
if _refused:
    raise ImproperlyConfigured(
        "The production settings refuse this Stripe configuration:\n"
        + "\n".join(f"{error.id}: {error.msg} HINT: {error.hint}" for error in _refused)
    )
