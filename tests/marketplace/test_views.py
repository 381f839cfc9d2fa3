import pytest
from django.core import mail

from marketplace.emails import send_templated_email
from marketplace.models import SentMail


@pytest.mark.django_db
def test_home_page_renders_with_landmarks(client):
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<main id="main"' in html
    assert 'aria-label="Main"' in html
    assert "Skip to content" in html


@pytest.mark.django_db
def test_healthz_reports_database_redis_and_worker(client):
    response = client.get("/healthz")
    body = response.json()
    assert body["database"]["ok"] is True
    assert body["redis"]["ok"] is True
    # No worker runs in this test: health is honest about it.
    assert body["worker"]["ok"] is False
    assert response.status_code == 503


def test_healthz_is_ok_with_a_real_worker(client, celery_worker):
    # /healthz waits half a second for a worker's answer; a worker that has just started on
    # a loaded machine may miss the first ping, so ask a few times
    for _ in range(10):
        response = client.get("/healthz")
        if response.status_code == 200:
            break
    assert response.status_code == 200, response.content
    assert response.json()["worker"]["ok"] is True


@pytest.mark.django_db
def test_dev_inbox_lists_mail_and_makes_links_clickable(client, settings):
    settings.EMAIL_BACKEND = "marketplace.mail.DevInboxBackend"
    mail.EmailMessage(
        "Confirm", "Open https://example.test/confirm/abc?x=1 now", to=["a@b.c"]
    ).send()
    sent = SentMail.objects.get()
    listing = client.get("/dev/mail/")
    assert b"Confirm" in listing.content
    detail = client.get(f"/dev/mail/{sent.pk}/").content.decode()
    assert '<a href="https://example.test/confirm/abc?x=1" rel="nofollow noopener">' in detail


@pytest.mark.django_db
def test_dev_inbox_is_not_there_in_production(client, settings):
    settings.DEV_MAIL_ENABLED = False
    assert client.get("/dev/mail/").status_code == 404


@pytest.mark.django_db
def test_templated_email_is_sent_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        send_templated_email(
            to="coach@example.test",
            subject="Hello",
            template="test_hello",
            context={"name": "Maya"},
        )
        assert mail.outbox == []
    assert len(callbacks) == 1
    assert mail.outbox[0].subject == "[Coach Connect] Hello"
    assert "Maya" in mail.outbox[0].body
