"""Wrong passwords are throttled by address and by account, without locking the account out.

allauth's own ``login_failed`` limit counts an account's failures from every address
together, so anyone could lock someone else out by failing on purpose. Here the account's
limit counts failures per *address*: the address that keeps failing waits, the owner
signing in from anywhere else does not (docs/security.md, "Staff sign-in and throttling").

The limits live in ``ACCOUNT_RATE_LIMITS`` and are kept by allauth's rate limiter in the
Redis cache:

- ``login_failed_ip``: failures from one address, whatever the account.
- ``login_failed_account_ip``: failures on one account from one address, in growing windows.
- ``login_failed_account``: failures on one account from every address. Beyond it (many
  addresses guessing one password) the account is still not locked: an address that has
  not failed on it today may try, an address that has (``login_failed_account_ip_seen``)
  waits.

A failure is recorded after the password check; the next attempt is refused before it.
Attempts sent at the same moment can each pass the check before any is recorded, so a
burst can overshoot a limit by at most the number of requests served at once.
"""

from __future__ import annotations

import ipaddress

from allauth import app_settings as allauth_settings
from allauth.account.adapter import get_adapter
from allauth.core import ratelimit
from django.http import HttpRequest

BY_ADDRESS = "login_failed_ip"
BY_ACCOUNT_AND_ADDRESS = "login_failed_account_ip"
BY_ACCOUNT = "login_failed_account"
SEEN_ON_ACCOUNT = "login_failed_account_ip_seen"


def _address(request: HttpRequest) -> str:
    """The client's address; IPv6 by its network prefix, as allauth's own limits count it."""
    ip = get_adapter(request).get_client_ip(request)
    try:
        parsed = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(parsed, ipaddress.IPv6Address):
        prefix = allauth_settings.RATE_LIMIT_IPV6_PREFIX
        return str(ipaddress.IPv6Network(f"{parsed}/{prefix}", strict=False).network_address)
    return str(parsed)


def _keys(request: HttpRequest, login: str) -> tuple[str, str]:
    account = login.strip().lower()
    return account, f"{account}|{_address(request)}"


def allows(request: HttpRequest, login: str) -> bool:
    """Whether a password for ``login`` may be checked now, from this address."""
    account, pair = _keys(request, login)
    if not ratelimit.consume(request, action=BY_ADDRESS, dry_run=True):
        return False
    if not ratelimit.consume(request, action=BY_ACCOUNT_AND_ADDRESS, key=pair, dry_run=True):
        return False
    if not ratelimit.consume(request, action=BY_ACCOUNT, key=account, dry_run=True):
        return bool(ratelimit.consume(request, action=SEEN_ON_ACCOUNT, key=pair, dry_run=True))
    return True


def record_failure(request: HttpRequest, login: str) -> None:
    account, pair = _keys(request, login)
    ratelimit.consume(request, action=BY_ADDRESS)
    ratelimit.consume(request, action=BY_ACCOUNT_AND_ADDRESS, key=pair)
    ratelimit.consume(request, action=BY_ACCOUNT, key=account)
    ratelimit.consume(request, action=SEEN_ON_ACCOUNT, key=pair)


def record_success(request: HttpRequest, login: str) -> None:
    """The right password from this address: its earlier slips on the account are forgiven.

    The address's count over all accounts and the account's count over all addresses stay,
    so signing in to one's own account never resets a guessing run elsewhere.
    """
    _account, pair = _keys(request, login)
    ratelimit.clear(request, action=BY_ACCOUNT_AND_ADDRESS, key=pair)
    ratelimit.clear(request, action=SEEN_ON_ACCOUNT, key=pair)
