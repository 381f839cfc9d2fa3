"""Stripe's error object: ``{"error": {"type", "code", "message", "param", ...}}``."""

from __future__ import annotations

from typing import Any


class StripeError(Exception):
    """An error answered in Stripe's shape with Stripe's HTTP status."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type
        self.code = code
        self.param = param
        self.extra = extra or {}
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        error.update(self.extra)
        return {"error": error}


class CommittedError(StripeError):
    """An error answered after the request's writes are committed: Stripe records a declined
    charge (and the invoice's failed attempt) before it answers the card's error."""


def missing(param: str) -> StripeError:
    return StripeError(f"Missing required param: {param}.", code="parameter_missing", param=param)


def unknown(param: str) -> StripeError:
    return StripeError(
        f"Received unknown parameter: {param}", code="parameter_unknown", param=param
    )


def invalid(param: str, message: str, code: str | None = None) -> StripeError:
    return StripeError(message, code=code, param=param)


def no_such(kind: str, stripe_id: str, param: str = "id") -> StripeError:
    return StripeError(
        f"No such {kind}: '{stripe_id}'", status=404, code="resource_missing", param=param
    )
