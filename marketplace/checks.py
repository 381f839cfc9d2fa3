"""System checks of the Stripe configuration: the product fails closed.

The local Stripe's key and webhook signing secrets are in this repository, so anybody may
sign a webhook with them. Beside a real ``STRIPE_SECRET_KEY`` they would let a forged event
through; and the local Stripe itself (fake money, hosted pages anyone can click through) is
served with DEBUG off only when ``STRIPE_SANDBOX=true`` asks for it.

``stripe_configuration`` is registered in ``MarketplaceConfig.ready()`` and runs with every
``manage.py check`` (``--deploy`` too); ``marketplace.settings.production`` calls
``stripe_configuration_errors`` on itself when it is imported, so a production process
refuses to start. The checks read settings only: no network.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks

LOCAL_STRIPE_PATH = "/_stripe"
WEBHOOK_SECRETS = ("STRIPE_WEBHOOK_SECRET", "STRIPE_CONNECT_WEBHOOK_SECRET")


def stripe_configuration_errors(config: Any) -> list[checks.CheckMessage]:
    """What is wrong with the Stripe settings of ``config`` (``django.conf.settings``, or a
    settings module while it is imported).

    - ``marketplace.E001``: a real key with a webhook signing secret that is empty or the
      local Stripe's;
    - ``marketplace.E002``: the local Stripe's own key given as ``STRIPE_SECRET_KEY``;
    - ``marketplace.E003``: a real key with ``STRIPE_API_BASE`` at the local Stripe;
    - ``marketplace.E004``: the local Stripe with DEBUG off, not asked for by
      ``STRIPE_SANDBOX=true``;
    - ``marketplace.E005``: a real key and ``STRIPE_SANDBOX=true`` both;
    - ``marketplace.E006``: neither a key nor the local Stripe.
    """
    errors: list[checks.CheckMessage] = []
    key = config.STRIPE_SECRET_KEY
    if key == config.STRIPE_SANDBOX_SECRET_KEY:
        errors.append(
            checks.Error(
                "STRIPE_SECRET_KEY is the local Stripe's own key, which is public.",
                hint="Set the secret key of your Stripe account, or unset STRIPE_SECRET_KEY "
                "to use the local Stripe.",
                id="marketplace.E002",
            )
        )
    elif key:
        errors += _real_stripe_errors(config)
    elif not config.STRIPE_SANDBOX:
        errors.append(
            checks.Error(
                "Neither Stripe nor the local Stripe is configured: STRIPE_SECRET_KEY is "
                "unset and STRIPE_SANDBOX is false.",
                hint="Set STRIPE_SECRET_KEY and the two webhook signing secrets, or "
                "STRIPE_SANDBOX=true for the local Stripe.",
                id="marketplace.E006",
            )
        )
    if config.STRIPE_SANDBOX and not config.DEBUG and not config.STRIPE_SANDBOX_REQUESTED:
        errors.append(
            checks.Error(
                "The local Stripe would be served with DEBUG off, and STRIPE_SANDBOX=true "
                "was not set to ask for it.",
                hint="In production set STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET and "
                "STRIPE_CONNECT_WEBHOOK_SECRET; set STRIPE_SANDBOX=true only to run a "
                "production-like stack on the local Stripe on purpose.",
                id="marketplace.E004",
            )
        )
    return errors


def _real_stripe_errors(config: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    local_secrets = {
        config.STRIPE_SANDBOX_WEBHOOK_SECRET,
        config.STRIPE_SANDBOX_CONNECT_WEBHOOK_SECRET,
    }
    for name in WEBHOOK_SECRETS:
        secret = getattr(config, name)
        if not secret or secret in local_secrets:
            problem = "is empty" if not secret else "is the local Stripe's, which is public"
            errors.append(
                checks.Error(
                    f"{name} {problem}, while STRIPE_SECRET_KEY is a real key: anybody could "
                    "sign a webhook the product would accept.",
                    hint=f"Set {name} to the signing secret (whsec_...) Stripe shows for that "
                    "webhook endpoint.",
                    id="marketplace.E001",
                )
            )
    if urlsplit(config.STRIPE_API_BASE).path.rstrip("/").endswith(LOCAL_STRIPE_PATH):
        errors.append(
            checks.Error(
                f"STRIPE_API_BASE ({config.STRIPE_API_BASE}) is the local Stripe's, while "
                "STRIPE_SECRET_KEY is a real key.",
                hint="Unset STRIPE_API_BASE: the stripe library knows Stripe's address.",
                id="marketplace.E003",
            )
        )
    if config.STRIPE_SANDBOX:
        errors.append(
            checks.Error(
                "STRIPE_SANDBOX=true asks for the local Stripe while STRIPE_SECRET_KEY is set.",
                hint="Set STRIPE_SANDBOX=false (or unset it) to use Stripe, or unset "
                "STRIPE_SECRET_KEY to use the local Stripe.",
                id="marketplace.E005",
            )
        )
    return errors


def stripe_configuration(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The Django system check: ``stripe_configuration_errors`` of the running settings."""
    return stripe_configuration_errors(settings)
