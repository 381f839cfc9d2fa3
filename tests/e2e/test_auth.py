"""Sign up, open the verification link from the mail, sign in, sign out, in Chromium."""

import re

import pytest
from django.core import mail

from marketplace.models import Role, User
from tests.factories import UserFactory
from tests.mfa import give_totp, totp_code

pytestmark = pytest.mark.browser


def test_sign_up_verify_sign_in_sign_out(page, live_server):
    # given: a visitor on the sign-up page
    page.goto("/accounts/signup/")
    page.get_by_label("First name").fill("Nora")
    page.get_by_label("Last name").fill("Novak")
    page.get_by_label("Email").fill("nora@example.test")
    page.locator("#id_password1").fill("a-Strong-pass-91")
    page.locator("#id_password2").fill("a-Strong-pass-91")
    page.get_by_label("I am a coach").check()
    # when
    page.get_by_role("button", name="Sign Up").click()
    # then: verification is required before anything else
    page.wait_for_url("**/accounts/confirm-email/")
    assert User.objects.get(email="nora@example.test").role == Role.COACH
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+", mail.outbox[-1].body).group(0)
    page.goto(link.replace("http://testserver", live_server.url))
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url("**/accounts/login/")
    page.get_by_label("Email").fill("nora@example.test")
    page.locator("#id_password").fill("a-Strong-pass-91")
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(live_server.url + "/")
    assert page.get_by_role("button", name="Sign out").is_visible()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/")
    assert page.get_by_role("link", name="Sign in").is_visible()


def test_staff_reach_the_admin_through_allauth_and_their_totp(page):
    # given: a staff account with an authenticator app
    staff = UserFactory(email="ada@example.test", is_staff=True, is_superuser=True)
    give_totp(staff)
    # when: they open the admin
    page.goto("/admin/coaches/coachapplication/")
    # then: allauth's sign-in asks for the password, then the code, and leads back
    page.wait_for_url("**/accounts/login/?next=%2Fadmin%2Fcoaches%2Fcoachapplication%2F")
    page.get_by_label("Email").fill(staff.email)
    page.locator("#id_password").fill("a-Strong-pass-91")
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url("**/accounts/2fa/authenticate/")
    page.locator("#id_code").fill(totp_code())
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url("**/admin/coaches/coachapplication/")
    assert page.get_by_role("heading", name="Select coach application to change").is_visible()
    # and the admin's own logout signs them out
    page.get_by_role("button", name="Log out").click()
    page.get_by_text("Logged out").first.wait_for()
    page.goto("/admin/")
    page.wait_for_url("**/accounts/login/?next=%2Fadmin%2F")
