"""Staff sign in through allauth only, with TOTP; wrong passwords are throttled without
locking the owner out (docs/security.md, "Staff sign-in and throttling")."""

from __future__ import annotations

from io import StringIO

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY
from django.core.management import call_command
from django.test import Client
from rest_framework.authtoken.models import Token

from marketplace.demo import DEMO_PASSWORD, seed_demo_users
from payments.models import Payment
from tests.bookings.factories import BookingFactory
from tests.factories import UserFactory
from tests.mfa import PASSWORD, give_totp, sign_in_with_totp, totp_code

pytestmark = pytest.mark.django_db

TOO_MANY = b"Too many failed login attempts"
WRONG = b"The email address and/or password you specified are not correct."


@pytest.fixture
def staff():
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def payment():
    booking = BookingFactory()
    return Payment.objects.create(
        kind="booking",
        booking=booking,
        client=booking.client,
        coach=booking.coach.user,
        amount=12000,
        application_fee=1800,
        coach_amount=10200,
        currency="usd",
        status="succeeded",
    )


def refund(client, payment):
    """Ask the staff refund API for more than is left: staff get a clear 400 from the view."""
    return client.post(
        f"/api/payments/{payment.pk}/refund/", {"amount": 12001}, content_type="application/json"
    )


def test_the_admin_login_page_sends_to_allauth_keeping_a_same_host_next(client, staff):
    kept = client.get("/admin/login/?next=/admin/payments/payment/")
    assert kept.status_code == 302
    assert kept["Location"] == "/accounts/login/?next=%2Fadmin%2Fpayments%2Fpayment%2F"
    for unsafe in ("https://evil.example/admin/", "//evil.example/", "/admin/login/"):
        response = client.get("/admin/login/", {"next": unsafe})
        assert response["Location"] == "/accounts/login/?next=%2Fadmin%2F", unsafe
    # the admin's own form is gone: a password posted there signs nobody in
    posted = client.post("/admin/login/", {"username": staff.email, "password": PASSWORD})
    assert posted.status_code == 302 and posted["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/")["Location"] == "/admin/login/?next=/admin/"


def test_a_signed_in_non_staff_account_is_refused_at_the_admin_login(client):
    client.force_login(UserFactory())
    assert client.get("/admin/login/?next=/admin/").status_code == 403


def test_the_password_alone_opens_no_staff_page_the_totp_code_does(client, staff, payment):
    # given: a staff account with TOTP, signing in on the admin's way in
    give_totp(staff)
    login_url = client.get("/admin/login/?next=/admin/")["Location"]
    # when: the password is right
    password = client.post(login_url, {"login": staff.email, "password": PASSWORD})
    # then: the TOTP step comes next and nothing of staff's opens yet
    assert password["Location"] == "/accounts/2fa/authenticate/"
    assert client.get("/admin/")["Location"].startswith("/admin/login/")
    assert client.get(f"/bookings/{payment.booking_id}/")["Location"].startswith("/accounts/login/")
    assert refund(client, payment).status_code == 403
    # when: the code from the authenticator follows
    code = client.post("/accounts/2fa/authenticate/", {"code": totp_code()})
    # then: on to where the admin sent the visitor, and staff pages and API open
    assert code["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/bookings/booking/").status_code == 200
    assert client.get(f"/bookings/{payment.booking_id}/").status_code == 200
    refused = refund(client, payment)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_amount"


def test_a_session_signed_in_without_the_code_is_asked_for_it(client, staff, payment):
    # given: a staff session logged in some other way than allauth's (no TOTP step recorded)
    give_totp(staff)
    client.force_login(staff)
    # then: pages ask for the code, the API refuses
    admin = client.get("/admin/")
    assert admin["Location"] == "/accounts/2fa/reauthenticate/?next=%2Fadmin%2F"
    assert client.get(f"/bookings/{payment.booking_id}/")["Location"].startswith(
        "/accounts/2fa/reauthenticate/"
    )
    api = refund(client, payment)
    assert api.status_code == 403 and api.json()["error"]["code"] == "mfa_required"
    assert client.get("/admin/login/?next=/admin/")["Location"].startswith(
        "/accounts/2fa/reauthenticate/"
    )
    # when: the code is given
    verified = client.post(admin["Location"], {"code": totp_code()})
    # then
    assert verified["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert refund(client, payment).json()["error"]["code"] == "invalid_amount"


def test_staff_without_totp_are_made_to_set_it_up_first(client, staff, payment):
    # given: a staff account with no authenticator signs in with its password
    signed_in = client.post("/accounts/login/", {"login": staff.email, "password": PASSWORD})
    assert signed_in.status_code == 302 and client.session["_auth_user_id"] == str(staff.pk)
    # then: every page leads to the TOTP set-up; the API says why it refuses
    for url in ("/admin/", "/", f"/bookings/{payment.booking_id}/", "/admin/login/"):
        assert client.get(url)["Location"] == "/accounts/2fa/totp/activate/", url
    api = client.get("/api/bookings/")
    assert api.status_code == 403
    assert api.json()["error"]["code"] == "mfa_required"
    assert "two-factor" in api.json()["error"]["message"]
    assert refund(client, payment).json()["error"]["code"] == "mfa_required"
    htmx = client.get(f"/bookings/{payment.booking_id}/", headers={"HX-Request": "true"})
    assert htmx["HX-Redirect"] == "/accounts/2fa/totp/activate/"
    # when: TOTP is set up on allauth's page (which asks for the password again first)
    reauth = client.get("/accounts/2fa/totp/activate/")["Location"]
    assert reauth.startswith("/accounts/reauthenticate/")
    client.post(reauth, {"password": PASSWORD})
    assert client.get("/accounts/2fa/totp/activate/").status_code == 200
    secret = client.session[SECRET_SESSION_KEY]
    activated = client.post("/accounts/2fa/totp/activate/", {"code": totp_code(secret)})
    assert activated.status_code == 302
    assert Authenticator.objects.filter(user=staff, type=Authenticator.Type.TOTP).exists()
    # then: staff pages ask for a code once, then open
    ask = client.get("/admin/")
    assert ask["Location"] == "/accounts/2fa/reauthenticate/?next=%2Fadmin%2F"
    # (the activation's code is still unused: activating does not sign in)
    client.post(ask["Location"], {"code": totp_code(secret)})
    assert client.get("/admin/").status_code == 200


def test_staff_cannot_switch_their_totp_off(client, staff):
    sign_in_with_totp(client, staff)
    client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    page = client.get("/accounts/2fa/totp/deactivate/")
    assert page.status_code == 200
    refused = client.post("/accounts/2fa/totp/deactivate/", {})
    assert b"You cannot deactivate two-factor authentication." in refused.content
    assert Authenticator.objects.filter(user=staff, type=Authenticator.Type.TOTP).exists()


def test_staff_api_tokens_are_refused(client, staff):
    token = Token.objects.create(user=staff)
    response = client.get("/api/bookings/", headers={"Authorization": f"Token {token.key}"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "mfa_required"
    other = Token.objects.create(user=UserFactory())
    assert (
        client.get("/api/bookings/", headers={"Authorization": f"Token {other.key}"}).status_code
        == 200
    )


def test_the_admin_logout_signs_staff_out(client, staff):
    sign_in_with_totp(client, staff)
    assert client.get("/admin/").status_code == 200
    logged_out = client.post("/admin/logout/")
    assert logged_out.status_code == 200
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/")["Location"] == "/admin/login/?next=/admin/"


def test_thirty_wrong_passwords_on_the_admin_path_are_throttled(staff):
    # given: someone guessing a staff password through the admin's way in
    give_totp(staff)
    guesser = Client(REMOTE_ADDR="203.0.113.9")
    login_url = guesser.get("/admin/login/?next=/admin/")["Location"]
    # when
    answers = [
        guesser.post(login_url, {"login": staff.email, "password": f"guess-{n}"}).content
        for n in range(30)
    ]
    # then: five are checked, the other 25 are refused with a clear message
    assert [WRONG in answer for answer in answers[:5]] == [True] * 5
    assert all(TOO_MANY in answer for answer in answers[5:])


def test_the_owner_signs_in_from_elsewhere_while_someone_fails_on_purpose(staff):
    # given: an address failing on the staff account until it is throttled
    give_totp(staff)
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for n in range(10):
        attacker.post("/accounts/login/", {"login": staff.email, "password": f"guess-{n}"})
    # then: that address is refused even the right password ...
    right = {"login": staff.email, "password": PASSWORD}
    assert TOO_MANY in attacker.post("/accounts/login/", right).content
    # ... while the owner, from another address, gets in (and on through the TOTP step)
    owner = Client(REMOTE_ADDR="198.51.100.23")
    login_url = owner.get("/admin/login/?next=/admin/")["Location"]
    assert owner.post(login_url, right)["Location"] == "/accounts/2fa/authenticate/"
    assert owner.post("/accounts/2fa/authenticate/", {"code": totp_code()})["Location"] == (
        "/admin/"
    )
    assert owner.get("/admin/").status_code == 200


def test_an_account_guessed_from_many_addresses_stays_open_to_its_owner(settings):
    # given: the account-wide limit, small here, used up by three addresses
    settings.ACCOUNT_RATE_LIMITS = {
        **settings.ACCOUNT_RATE_LIMITS,
        "login_failed_account": "3/h/key",
    }
    user = UserFactory()
    wrong = {"login": user.email, "password": "guess"}
    guessers = [Client(REMOTE_ADDR=f"203.0.113.{n}") for n in range(1, 4)]
    for guesser in guessers:
        assert WRONG in guesser.post("/accounts/login/", wrong).content
    # then: an address that failed on it already waits, a new one gets one try
    assert TOO_MANY in guessers[0].post("/accounts/login/", wrong).content
    newcomer = Client(REMOTE_ADDR="203.0.113.50")
    assert WRONG in newcomer.post("/accounts/login/", wrong).content
    assert TOO_MANY in newcomer.post("/accounts/login/", wrong).content
    # and the owner, from an address of their own, signs in
    owner = Client(REMOTE_ADDR="198.51.100.23")
    signed_in = owner.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert signed_in.status_code == 302 and owner.session["_auth_user_id"] == str(user.pk)


def test_slips_are_forgiven_after_the_right_password(client):
    user = UserFactory()
    for _ in range(4):
        client.post("/accounts/login/", {"login": user.email, "password": "typo"})
    assert client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})[
        "Location"
    ] == ("/")
    client.logout()
    for _ in range(5):
        answer = client.post("/accounts/login/", {"login": user.email, "password": "typo"})
        assert WRONG in answer.content


def test_the_demo_staff_sign_in_with_the_code_of_the_printed_secret(client):
    # given: the demo accounts, as `make run` seeds them
    admin = next(user for user in seed_demo_users() if user.is_staff)
    printed = StringIO()
    call_command("demo_totp", stdout=printed)
    # when: the demo password, then the code the command printed
    credentials = {"login": admin.email, "password": DEMO_PASSWORD}
    login = client.post("/accounts/login/?next=/admin/", credentials)
    assert login["Location"] == "/accounts/2fa/authenticate/"
    step = client.post("/accounts/2fa/authenticate/", {"code": printed.getvalue().split()[0]})
    # then
    assert step["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert Authenticator.objects.get(user=admin, type=Authenticator.Type.TOTP)
