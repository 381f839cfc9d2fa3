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
# Stripe's secret (``sk_``) and restricted (``rk_``) API keys, and the mode each belongs to.
KEY_PREFIXES = {"sk_live_": True, "rk_live_": True, "sk_test_": False, "rk_test_": False}
WEBHOOK_SECRETS = ("STRIPE_WEBHOOK_SECRETS", "STRIPE_CONNECT_WEBHOOK_SECRETS")


def stripe_key_livemode(key: str) -> bool | None:
    """True for a live-mode API key, False for a test-mode one, None for what is not a secret
    or restricted key (empty, a publishable ``pk_`` key, a typo)."""
    for prefix, livemode in KEY_PREFIXES.items():
        if key.startswith(prefix) and len(key) > len(prefix):
            return livemode
    return None


def local_stripe_keys(config: Any) -> set[str]:
    """The local Stripe's own keys, public in this repository: its secret key and the
    restricted key of the same name, in test and in live mode."""
    suffix = config.STRIPE_SANDBOX_SECRET_KEY.split("_", 2)[-1]
    return {prefix + suffix for prefix in KEY_PREFIXES}


def stripe_configuration_errors(config: Any) -> list[checks.CheckMessage]:
    """What is wrong with the Stripe settings of ``config`` (``django.conf.settings``, or a
    settings module while it is imported).

    - ``marketplace.E001``: a real key with an endpoint's signing secrets empty, or one of
      them empty or the local Stripe's;
    - ``marketplace.E002``: one of the local Stripe's own keys (secret or restricted, test or
      live) given as ``STRIPE_SECRET_KEY``;
    - ``marketplace.E003``: a real key with ``STRIPE_API_BASE`` at the local Stripe;
    - ``marketplace.E004``: the local Stripe with DEBUG off, not asked for by
      ``STRIPE_SANDBOX=true``;
    - ``marketplace.E005``: a real key and ``STRIPE_SANDBOX=true`` both;
    - ``marketplace.E006``: neither a key nor the local Stripe;
    - ``marketplace.E007``: ``STRIPE_SECRET_KEY`` is neither a secret (``sk_live_``,
      ``sk_test_``) nor a restricted (``rk_live_``, ``rk_test_``) key: a publishable key or a
      typo, which Stripe would refuse on the first call.
    """
    errors: list[checks.CheckMessage] = []
    key = config.STRIPE_SECRET_KEY
    if key in local_stripe_keys(config):
        errors.append(
            checks.Error(
                "STRIPE_SECRET_KEY is the local Stripe's own key, which is public.",
                hint="Set the secret key of your Stripe account, or unset STRIPE_SECRET_KEY "
                "to use the local Stripe.",
                id="marketplace.E002",
            )
        )
    elif key and stripe_key_livemode(key) is None:
        errors.append(
            checks.Error(
                f"STRIPE_SECRET_KEY ({key[:8]}...) is neither a secret key (sk_live_..., "
                "sk_test_...) nor a restricted key (rk_live_..., rk_test_...).",
                hint="Copy the secret key, or a restricted key with the permissions the "
                "product needs, from the Stripe Dashboard's API keys page; the publishable "
                "key (pk_...) is for browsers.",
                id="marketplace.E007",
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
                hint="In production set STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRETS and "
                "STRIPE_CONNECT_WEBHOOK_SECRETS; set STRIPE_SANDBOX=true only to run a "
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
        secrets = list(getattr(config, name))
        if not secrets or any(not secret or secret in local_secrets for secret in secrets):
            problem = (
                "is empty"
                if not any(secrets)
                else "holds the local Stripe's, which is public"
                if any(secret in local_secrets for secret in secrets)
                else "holds an empty secret"
            )
            errors.append(
                checks.Error(
                    f"{name} {problem}, while STRIPE_SECRET_KEY is a real key: anybody could "
                    "sign a webhook the product would accept.",
                    hint=f"Set {name} to the signing secret (whsec_...) Stripe shows for that "
                    "webhook endpoint (comma-separated, the new one first, while it is "
                    "rotated).",
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
