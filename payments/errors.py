"""The one domain error for Stripe failures, and the one place gateway errors become it.

Views, API views and upper apps never see ``payments.gateway``'s exceptions: payments'
services and selectors translate them here. The API's exception handler turns the domain
error into a clear 4xx/5xx JSON body; pages show its message.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from marketplace.errors import DomainError
from payments import gateway


class PaymentProviderError(DomainError):
    """Stripe could not do what was asked (unreachable, or it refused the request)."""

    status_code = 502
    code = "stripe_unavailable"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        stripe_code: str = "",
        http_status: int | None = None,
    ) -> None:
        super().__init__(message, code=code, status_code=status_code)
        self.stripe_code = stripe_code
        self.http_status = http_status

    @property
    def permanent(self) -> bool:
        """A refusal that repeating the same request cannot change (a 4xx other than 429)."""
        return bool(self.http_status and 400 <= self.http_status < 500 and self.http_status != 429)


class WebhookRejected(DomainError):
    """A webhook whose signature or payload does not verify."""

    status_code = 400
    code = "invalid_webhook"


def provider_error(
    error: gateway.GatewayError,
    *,
    message: str | None = None,
    code: str | None = None,
    status_code: int | None = None,
) -> PaymentProviderError:
    return PaymentProviderError(
        message or f"Stripe could not complete the request: {error.message}",
        code=code,
        status_code=status_code,
        stripe_code=error.code,
        http_status=error.http_status,
    )


@contextmanager
def stripe_errors(
    *, message: str | None = None, code: str | None = None, status_code: int | None = None
) -> Iterator[None]:
    """Run a gateway call; its ``GatewayError`` leaves as a ``PaymentProviderError``."""
    try:
        yield
    except gateway.GatewayError as error:
        raise provider_error(error, message=message, code=code, status_code=status_code) from error
