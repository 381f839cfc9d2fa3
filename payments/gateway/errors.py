"""The gateway's errors, and the translation of ``stripe`` errors into them."""

from __future__ import annotations

from typing import Any

import stripe


class GatewayError(Exception):
    """Stripe refused or could not be reached. ``code`` is Stripe's error code, if any."""

    def __init__(
        self, message: str, *, code: str = "", http_status: int | None = None, param: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status
        # The request parameter Stripe's error names, if any.
        self.param = param


class StripeObjectMissing(GatewayError):
    """Stripe has no such object (``resource_missing``), or we may no longer see it."""


class InvalidWebhook(Exception):
    """The webhook body or its signature did not verify."""


def translate(error: stripe.StripeError) -> GatewayError:
    """The gateway error for a ``stripe`` error."""
    # The library sets ``code`` on some error classes only (not on PermissionError); the
    # parsed body always has it.
    body = getattr(error, "json_body", None) or {}
    code = getattr(error, "code", None) or (body.get("error") or {}).get("code") or ""
    status = getattr(error, "http_status", None)
    message = getattr(error, "user_message", None) or str(error) or "Stripe request failed"
    # ``account_invalid`` (403): the platform's access to the account was revoked. Other
    # permission errors (a restricted key missing a scope) are configuration, not a gone object.
    param = getattr(error, "param", None) or (body.get("error") or {}).get("param") or ""
    if code in ("resource_missing", "account_invalid"):
        return StripeObjectMissing(
            message, code=code or "resource_missing", http_status=status, param=param
        )
    return GatewayError(message, code=code, http_status=status, param=param)


def call(method: Any, *args: Any, **kwargs: Any) -> Any:
    """Call one Stripe method, turning its errors into ``GatewayError``."""
    try:
        return method(*args, **kwargs)
    except stripe.StripeError as error:
        raise translate(error) from error
