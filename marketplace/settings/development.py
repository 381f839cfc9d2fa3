"""Development: ``manage.py`` and ``make run`` (the Makefile selects this module).

DEBUG on, a secret key of this machine's own under ``.data/``, the /dev/mail/ inbox, static
files served from the source folders, and the local Stripe with the repository's signing
secrets unless ``STRIPE_*`` variables point at real Stripe.
"""

import secrets

from marketplace import observability

from .base import *  # noqa: F403
from .base import (
    DATA_DIR,
    LOG_LEVEL,
    STRIPE_SANDBOX_CONNECT_WEBHOOK_SECRET,
    STRIPE_SANDBOX_WEBHOOK_SECRET,
    env,
)

DEBUG = True

# Logs for a person at a terminal; LOG_FORMAT=json gives the production lines.
LOG_FORMAT = env.str("LOG_FORMAT", default="console")
LOGGING = observability.logging_config(renderer=LOG_FORMAT, level=LOG_LEVEL)


def _machine_secret_key() -> str:
    """This machine's development key, made once and kept out of the repository."""
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(64))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or _machine_secret_key()

DEV_MAIL_ENABLED = True
WHITENOISE_USE_FINDERS = True

# The local Stripe signs its webhooks with these; with a real STRIPE_SECRET_KEY set the
# system checks refuse them until the endpoints' own secrets are set.
STRIPE_WEBHOOK_SECRETS = env.list("STRIPE_WEBHOOK_SECRETS", default=[STRIPE_SANDBOX_WEBHOOK_SECRET])
STRIPE_CONNECT_WEBHOOK_SECRETS = env.list(
    "STRIPE_CONNECT_WEBHOOK_SECRETS", default=[STRIPE_SANDBOX_CONNECT_WEBHOOK_SECRET]
)
