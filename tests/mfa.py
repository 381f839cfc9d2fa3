"""Staff sign in the way allauth signs them in: the password, then a code from their TOTP.

Staff pages open only to a sign-in that passed the second factor, so tests that act as
staff use ``sign_in_with_totp`` instead of ``client.force_login`` (which records no
authentication step and is refused like any other sign-in without the code).
"""

from __future__ import annotations

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    hotp_value,
    yield_hotp_counters_from_time,
)

PASSWORD = "a-Strong-pass-91"  # tests.factories.UserFactory's
STAFF_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def give_totp(user, secret: str = STAFF_TOTP_SECRET) -> Authenticator:
    """Activate a TOTP authenticator for ``user`` with a known secret (allauth's own way)."""
    existing = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    return existing or TOTP.activate(user, secret).instance


def totp_code(secret: str = STAFF_TOTP_SECRET) -> str:
    """The code an authenticator app shows now (allauth accepts each once per account)."""
    counter = next(yield_hotp_counters_from_time())
    return format_hotp_value(hotp_value(secret, counter))


def sign_in_with_totp(client, user, *, password: str = PASSWORD, secret: str = STAFF_TOTP_SECRET):
    """Sign ``user`` in on ``client`` through allauth: password, then the TOTP step."""
    give_totp(user, secret)
    client.logout()
    login = client.post("/accounts/login/", {"login": user.email, "password": password})
    assert login.status_code == 302, login.content
    assert login["Location"] == "/accounts/2fa/authenticate/", login["Location"]
    # A second try only when the 30-second period turned between making the code and its
    # check; a code is accepted once per account, so sign a user in once per period.
    for _ in range(2):
        step = client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
        if step.status_code == 302:
            return user
    raise AssertionError(f"the TOTP code of {user.email} was refused")


def pass_totp_step(page, secret: str = STAFF_TOTP_SECRET) -> None:
    """In a browser on allauth's code page: enter the authenticator's code; once more with
    the next period's code when the period turned between making the code and its check."""
    page.wait_for_url("**/accounts/2fa/authenticate/")
    for _ in range(2):
        page.locator("#id_code").fill(totp_code(secret))
        page.get_by_role("button", name="Sign In").click()
        page.wait_for_load_state()
        if "/accounts/2fa/authenticate/" not in page.url:
            return
    raise AssertionError("the TOTP code was refused")
