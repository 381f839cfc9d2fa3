"""A coach applies with a certificate upload; staff approve in Django admin; the coach is
e-mailed (in Chromium, against the live server)."""

from __future__ import annotations

import pytest
from django.core import mail
from playwright.sync_api import expect

from coaches.demo import ensure_managed_lists
from coaches.models import ApplicationStatus, CoachApplication, CoachProfile
from tests.coaches.factories import PDF_BYTES
from tests.factories import CoachUserFactory, UserFactory
from tests.mfa import give_totp, pass_totp_step

pytestmark = pytest.mark.browser
PASSWORD = "a-Strong-pass-91"


def sign_in(page, email: str, *, totp: bool = False) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    if totp:
        # staff: the code from their authenticator app comes next
        pass_totp_step(page)
    page.wait_for_url("**/")


def test_coach_applies_with_an_upload_staff_approve_in_admin_coach_gets_the_mail(
    page, live_server, tmp_path, settings
):
    # given: the managed lists, a coach account and a staff account
    settings.MEDIA_ROOT = tmp_path / "media"
    ensure_managed_lists()
    coach_user = CoachUserFactory(email="nora@example.test", first_name="Nora", last_name="Novak")
    give_totp(UserFactory(email="staff@example.test", is_staff=True, is_superuser=True))
    certificate = tmp_path / "my-certificate.pdf"
    certificate.write_bytes(PDF_BYTES)

    # when: the coach fills in every step of the application
    sign_in(page, coach_user.email)
    page.get_by_role("link", name="Coach dashboard", exact=True).click()
    page.get_by_role("link", name="Start your application").click()
    page.wait_for_url("**/coaches/apply/personal/")
    page.get_by_label("Full name").fill("Nora Novak")
    page.get_by_label("Phone").fill("+41 44 123 45 67")
    page.get_by_label("Location (city, country)").fill("Zurich, Switzerland")
    # the browser's zone (Europe/Zurich in this context) was preselected by app.js
    assert page.get_by_label("Time zone").input_value() == "Europe/Zurich"
    page.get_by_role("button", name="Save and continue").click()

    page.wait_for_url("**/coaches/apply/certification/")
    page.get_by_label("Certifying body").select_option(label="iPEC")
    page.get_by_label("Certificate number").fill("IPEC-2024-0042")
    page.get_by_label("Level").select_option("professional")
    page.get_by_label("Date of certification").fill("2023-04-12")
    page.get_by_label("Certificate (PDF, JPEG or PNG, at most 10 MB)").set_input_files(
        str(certificate)
    )
    page.get_by_role("button", name="Save and continue").click()

    page.wait_for_url("**/coaches/apply/experience/")
    page.get_by_label("Years of coaching").fill("6")
    page.get_by_label("Career").check()
    page.get_by_role("button", name="Save and continue").click()

    page.wait_for_url("**/coaches/apply/business/")
    page.get_by_label("Session name").fill("Career session")
    page.get_by_label("Duration").select_option("60")
    page.get_by_label("Price (USD)").fill("120")
    page.get_by_role("button", name="Add session type").click()
    page.wait_for_url("**/coaches/apply/business/")
    expect(page.get_by_role("cell", name="$120.00")).to_be_visible()
    page.get_by_label("Headline").fill("Career coach for engineers")
    page.get_by_label("Short bio").fill(
        "I help engineers find the next step in their careers, with clear goals."
    )
    page.get_by_label("Services you offer").fill("One-to-one career coaching by video.")
    page.get_by_label("English").check()
    page.get_by_label("Currency of your prices").select_option("usd")
    page.get_by_role("button", name="Save and continue").click()

    page.wait_for_url("**/coaches/apply/review/")
    expect(page.get_by_role("link", name="my-certificate.pdf")).to_be_visible()
    page.get_by_role("button", name="Submit application").click()
    page.wait_for_url("**/coaches/dashboard/")
    expect(page.locator("#application-status")).to_have_text("Submitted")
    application = CoachApplication.objects.get(coach__user=coach_user)
    assert application.status == ApplicationStatus.SUBMITTED
    assert application.certificate_content_type == "application/pdf"
    page.get_by_role("button", name="Sign out").click()

    # and: staff sign in with their second factor and approve it from the queue in Django admin
    sign_in(page, "staff@example.test", totp=True)
    page.goto("/admin/coaches/coachapplication/?status__exact=submitted")
    page.get_by_role("link", name="Nora Novak").click()
    expect(page.get_by_role("link", name="Open the PDF")).to_be_visible()
    page.go_back()
    page.locator(f'input.action-select[value="{application.pk}"]').check()
    page.locator('select[name="action"]').select_option("approve_selected")
    page.get_by_role("button", name="Go").click()
    page.get_by_text("Approved 1 application(s).").wait_for()

    # then: the coach is approved and got the e-mail
    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED
    assert CoachProfile.objects.get(user=coach_user).is_approved
    approved = [m for m in mail.outbox if m.to == [coach_user.email] and "verified" in m.subject]
    assert len(approved) == 1
    assert "your coach application is approved" in approved[0].body
