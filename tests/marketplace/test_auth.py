"""Sign-in features: role at sign-up, verification before use, rate limits, MFA, Google."""

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import (
    SECRET_SESSION_KEY,
    format_hotp_value,
    hotp_value,
    yield_hotp_counters_from_time,
)

from marketplace.models import Role, User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a-Strong-pass-91"


def test_sign_up_asks_for_the_role_and_requires_verification(client, mailoutbox):
    response = client.post(
        "/accounts/signup/",
        {
            "first_name": "Ben",
            "last_name": "Okafor",
            "email": "ben@example.test",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "role": Role.COACH,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    user = User.objects.get(email="ben@example.test")
    assert user.role == Role.COACH
    assert user.is_coach and not user.is_client
    assert "confirm-email" in mailoutbox[0].body
    # An unverified address cannot sign in yet: it is sent to verification again.
    login = client.post("/accounts/login/", {"login": "ben@example.test", "password": PASSWORD})
    assert login.status_code == 302
    assert login["Location"] == "/accounts/confirm-email/"


def test_failed_sign_ins_are_rate_limited(client):
    user = UserFactory()
    for _ in range(5):
        response = client.post("/accounts/login/", {"login": user.email, "password": "wrong"})
        assert b"Too many failed login attempts" not in response.content
    response = client.post("/accounts/login/", {"login": user.email, "password": "wrong"})
    assert b"Too many failed login attempts" in response.content


def test_password_reset_sends_a_link(client, mailoutbox):
    user = UserFactory()
    response = client.post("/accounts/password/reset/", {"email": user.email})
    assert response.status_code == 302
    assert "/accounts/password/reset/key/" in mailoutbox[0].body


def test_totp_can_be_activated_and_then_is_asked_at_sign_in(client):
    # given a signed-in user on the TOTP activation page
    user = UserFactory()
    client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    # Changing sign-in security asks for the password again.
    assert client.get("/accounts/2fa/totp/activate/")["Location"].startswith("/accounts/reauth")
    client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    assert client.get("/accounts/2fa/totp/activate/").status_code == 200
    secret = client.session[SECRET_SESSION_KEY]
    counter = next(yield_hotp_counters_from_time())
    code = format_hotp_value(hotp_value(secret, counter))
    # when
    response = client.post("/accounts/2fa/totp/activate/", {"code": code})
    # then
    assert response.status_code == 302
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.RECOVERY_CODES).exists()
    client.logout()
    login = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert login["Location"] == "/accounts/2fa/authenticate/"


def test_google_sign_in_appears_only_when_configured(client, settings):
    assert b"Google" not in client.get("/accounts/login/").content
    settings.SOCIALACCOUNT_PROVIDERS = {
        "google": {"APPS": [{"client_id": "id.apps.googleusercontent.com", "secret": "s"}]}
    }
    assert b"Google" in client.get("/accounts/login/").content
