"""Account settings in one place: name and time zone, optional e-mails, the role; the
allauth pages linked; e-mails that greet and sign off with the site's name; the dev inbox's
attachments; times in the viewer's zone."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

from marketplace.emails import send_templated_email
from marketplace.models import EmailKind, EmailPreference, Role, SentMail
from marketplace.preferences import email_allowed
from tests.factories import CoachUserFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_account_page_gathers_name_zone_sign_in_emails_and_role(client):
    user = UserFactory(first_name="Nina", last_name="Client")
    client.force_login(user)
    page = client.get(reverse("account_settings")).content.decode()
    assert 'value="Nina"' in page and 'name="time_zone"' in page
    for name in ("account_email", "account_change_password", "mfa_index"):
        assert f'href="{reverse(name)}"' in page
    for kind in EmailKind:
        assert f'name="{kind.value}"' in page
    assert "Become a coach" in page
    # allauth's own pages sit in the same navigation
    email_page = client.get(reverse("account_email")).content.decode()
    assert f'href="{reverse("account_settings")}"' in email_page


def test_name_and_time_zone_are_saved_and_a_bad_zone_is_a_form_error(client):
    user = UserFactory()
    client.force_login(user)
    response = client.post(
        reverse("account_profile"),
        {"first_name": "Ana", "last_name": "Lima", "time_zone": "America/New_York"},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.first_name, user.time_zone) == ("Ana", "America/New_York")
    bad = client.post(
        reverse("account_profile"),
        {"first_name": "Ana", "last_name": "Lima", "time_zone": "Mars/Olympus"},
    )
    assert bad.status_code == 400
    assert "Select a valid choice" in bad.content.decode()
    user.refresh_from_db()
    assert user.time_zone == "America/New_York"


def test_a_coachs_new_zone_moves_their_working_hours_zone(client):
    from coaches.services.profiles import coach_profile_start

    coach_user = CoachUserFactory(time_zone="Europe/Berlin")
    profile = coach_profile_start(user=coach_user).coach
    client.force_login(coach_user)
    client.post(
        reverse("account_profile"),
        {"first_name": "C", "last_name": "D", "time_zone": "Europe/Lisbon"},
    )
    profile.refresh_from_db()
    assert profile.time_zone == "Europe/Lisbon"


def test_turned_off_emails_are_kept_and_honoured(client):
    user = UserFactory()
    client.force_login(user)
    # every box unticked but the unread one
    client.post(reverse("account_emails"), {EmailKind.UNREAD_MESSAGES.value: "on"})
    assert not email_allowed(user, EmailKind.SESSION_REMINDERS)
    assert email_allowed(user, EmailKind.UNREAD_MESSAGES)
    assert EmailPreference.objects.filter(user=user).count() == len(EmailKind)
    page = client.get(reverse("account_settings")).content.decode()
    box = re.search(r'<input[^>]*name="session_reminders"[^>]*>', page).group(0)
    assert "checked" not in box


def test_a_client_becomes_a_coach_and_is_sent_to_the_application(client):
    user = UserFactory()
    client.force_login(user)
    # the coaches-only pages offer the way instead of a dead end
    for url in ("/coaches/dashboard/", "/payments/earnings/", "/bookings/agenda/"):
        page = client.get(url)
        assert page.status_code == 403
        text = page.content.decode()
        assert "choose the coach role" not in text
        assert f'action="{reverse("account_role")}"' in text
    response = client.post(reverse("account_role"), {"role": Role.COACH})
    assert response.status_code == 302
    assert response["Location"] == reverse("coaches:application")
    user.refresh_from_db()
    assert user.role == Role.BOTH
    assert client.get(response["Location"], follow=True).status_code == 200


def test_allauth_emails_greet_and_sign_off_with_the_site_name(client, settings):
    settings.SITE_URL = "http://127.0.0.1:8100"
    user = UserFactory(email="reset@example.test")
    client.post(reverse("account_reset_password"), {"email": user.email})
    (message,) = mail.outbox
    assert message.body.startswith("Hello from Coach Connect!")
    assert "Thank you for using Coach Connect!" in message.body
    assert "127.0.0.1:8100!" not in message.body


def test_product_emails_sign_off_with_the_site_name(django_capture_on_commit_callbacks, settings):
    settings.SITE_URL = "http://coach.example"
    with django_capture_on_commit_callbacks(execute=True):
        send_templated_email(to="a@example.test", subject="Hi", template="test_hello")
    (message,) = mail.outbox
    assert message.subject == "[Coach Connect] Hi"
    assert message.body.endswith("\n\nThe Coach Connect team\nhttp://coach.example/\n")


def test_the_dev_inbox_opens_and_downloads_each_attachment(client, settings):
    settings.DEV_MAIL_ENABLED = True
    settings.EMAIL_BACKEND = "marketplace.mail.DevInboxBackend"
    message = mail.EmailMessage("Confirmed", "See the file", to=["a@example.test"])
    message.attach("session.ics", "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "text/calendar")
    message.send()
    sent = SentMail.objects.get()
    detail = client.get(f"/dev/mail/{sent.pk}/").content.decode()
    url = reverse("dev_mail_attachment", args=[sent.pk, 0])
    assert f'href="{url}?download=1"' in detail
    opened = client.get(url)
    assert opened["Content-Type"].startswith("text/calendar")
    assert opened.content.startswith(b"BEGIN:VCALENDAR")
    download = client.get(url + "?download=1")
    assert download["Content-Disposition"] == 'attachment; filename="session.ics"'
    assert client.get(reverse("dev_mail_attachment", args=[sent.pk, 1])).status_code == 404
    settings.DEV_MAIL_ENABLED = False
    assert client.get(url).status_code == 404


def test_pages_use_the_account_zone_else_the_browsers(client):
    # a new account on the default zone: the browser's zone is used and named
    user = UserFactory(time_zone="UTC")
    client.force_login(user)
    client.cookies["tz"] = "America%2FNew_York"  # as app.js writes it
    page = client.get(reverse("account_settings")).content.decode()
    assert re.search(r'<option value="America/New_York" selected>', page)
    # a zone the account chose wins over the browser's
    user.time_zone = "Asia/Tokyo"
    user.save()
    page = client.get(reverse("account_settings")).content.decode()
    assert re.search(r'<option value="Asia/Tokyo" selected>', page)
    # a cookie that names no zone is ignored
    client.cookies["tz"] = "Nowhere/Else"
    client.logout()
    assert client.get("/").status_code == 200


def test_a_new_account_starts_in_the_browsers_zone(client, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    client.cookies["tz"] = "Europe/Berlin"
    client.post(
        reverse("account_signup"),
        {
            "first_name": "Neu",
            "last_name": "Kunde",
            "email": "neu@example.test",
            "password1": "a-Strong-pass-91",
            "password2": "a-Strong-pass-91",
            "role": Role.CLIENT,
        },
    )
    from marketplace.models import User

    assert User.objects.get(email="neu@example.test").time_zone == "Europe/Berlin"


def test_the_community_digest_is_chosen_on_the_account_page(client):
    from messaging.community.models import DigestPreference

    user = UserFactory()
    client.force_login(user)
    page = client.get(reverse("account_settings")).content.decode()
    assert 'name="community-frequency"' in page
    response = client.post(
        reverse("community:digest_preference"),
        {"community-frequency": "never", "next": reverse("account_settings")},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("account_settings")
    assert DigestPreference.objects.get(user=user).frequency == "never"
