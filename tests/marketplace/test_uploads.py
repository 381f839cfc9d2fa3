"""Oversized uploads are refused with a 413 before they are read, and reading stops at the
limit even when the request lies about its length."""

from __future__ import annotations

import io

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.handlers.asgi import ASGIRequest
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import reverse
from rest_framework.authtoken.models import Token

from coaches.forms import MAX_CERTIFICATE_BYTES, MAX_PHOTO_BYTES
from marketplace.uploads import (
    MAX_FILE_BYTES,
    MAX_REQUEST_BYTES,
    UploadLimitMiddleware,
    UploadTooLarge,
)
from messaging.attachments import ATTACHMENT_MAX_BYTES
from messaging.models import Message
from tests.coaches.factories import PDF_BYTES
from tests.factories import CoachUserFactory, UserFactory
from tests.messaging.factories import ThreadFactory

MB = 1024 * 1024


class CountingStream:
    """A request body that records how much of it was read."""

    def __init__(self, content: bytes) -> None:
        self.stream = io.BytesIO(content)
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self.stream.read(size)
        self.read_bytes += len(chunk)
        return chunk

    def readline(self, size: int = -1) -> bytes:
        line = self.stream.readline(size)
        self.read_bytes += len(line)
        return line


def pdf_of(size: int, name: str = "plan.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF_BYTES + b"0" * (size - len(PDF_BYTES)))


@pytest.fixture
def thread(db):
    return ThreadFactory(client=UserFactory(), coach=CoachUserFactory())


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_every_forms_limit_fits_under_the_request_limit():
    assert max(MAX_CERTIFICATE_BYTES, MAX_PHOTO_BYTES, ATTACHMENT_MAX_BYTES) == MAX_FILE_BYTES
    assert MAX_FILE_BYTES < MAX_REQUEST_BYTES <= settings.FILE_UPLOAD_MAX_MEMORY_SIZE
    assert settings.FILE_UPLOAD_HANDLERS[0] == "marketplace.uploads.BoundedUploadHandler"


def test_a_30_mb_attachment_is_refused_with_a_413_page(client, thread):
    # given a signed-in participant
    client.force_login(thread.client)
    # when they post a 30 MB file with the message form
    response = client.post(
        reverse("messaging:send", args=[thread.pk]),
        {"body": "my plan", "attachment": pdf_of(30 * MB)},
    )
    # then they get a 413 page that says the limit, and nothing is stored
    assert response.status_code == 413
    page = response.content.decode()
    assert "The upload is 30.0 MB; a file can be at most 10 MB." in page
    assert not Message.objects.exists()


def test_the_declared_length_alone_refuses_the_request_before_reading(client, thread):
    client.force_login(thread.client)
    body = CountingStream(b"x" * 1024)
    response = client.generic(
        "POST",
        reverse("messaging:send", args=[thread.pk]),
        content_type=MULTIPART_CONTENT,
        **{"wsgi.input": body, "CONTENT_LENGTH": str(30 * MB)},
    )
    assert response.status_code == 413
    assert body.read_bytes == 0


def lying_request(declared: int, body: CountingStream) -> ASGIRequest:
    """A form post whose Content-Length understates its body: Django's ASGI request reads
    the body it was given, whatever the header says."""
    return ASGIRequest(
        {
            "type": "http",
            "method": "POST",
            "path": "/messages/1/send/",
            "headers": [
                (b"content-type", MULTIPART_CONTENT.encode()),
                (b"content-length", str(declared).encode()),
                (b"host", b"testserver"),
            ],
        },
        body,
    )


def test_a_lying_content_length_cannot_stream_past_the_limit():
    body = CountingStream(encode_multipart(BOUNDARY, {"body": "x", "attachment": pdf_of(30 * MB)}))
    with pytest.raises(UploadTooLarge) as refused:
        lying_request(4096, body).POST
    assert refused.value.status_code == 413
    assert "over 12 MB" in refused.value.message
    # it stopped within a few 64 KB chunks of the limit, nowhere near the 30 MB sent
    assert MAX_REQUEST_BYTES < body.read_bytes < MAX_REQUEST_BYTES + MB


@pytest.mark.django_db
def test_the_middleware_turns_a_refusal_while_streaming_into_a_413_page():
    body = CountingStream(encode_multipart(BOUNDARY, {"body": "x", "attachment": pdf_of(30 * MB)}))
    request = lying_request(4096, body)
    request.user = AnonymousUser()
    views_reached: list = []
    response = UploadLimitMiddleware(views_reached.append)(request)
    assert response.status_code == 413
    assert "over 12 MB; a file can be at most 10 MB" in response.content.decode()
    assert views_reached == []
    assert body.read_bytes < MAX_REQUEST_BYTES + MB


def test_the_api_answers_413_with_its_error_body(client, thread):
    token = Token.objects.create(user=thread.client)
    response = client.post(
        f"/api/messages/threads/{thread.pk}/messages/",
        {"attachment": pdf_of(13 * MB)},
        HTTP_AUTHORIZATION=f"Token {token.key}",
    )
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "upload_too_large"
    assert "a file can be at most 10 MB" in error["message"]
    assert error["fields"] == {}
    assert not Message.objects.exists()


def test_a_file_within_the_limit_is_taken(client, thread):
    token = Token.objects.create(user=thread.client)
    response = client.post(
        f"/api/messages/threads/{thread.pk}/messages/",
        {"attachment": pdf_of(MAX_FILE_BYTES - MB)},
        HTTP_AUTHORIZATION=f"Token {token.key}",
    )
    assert response.status_code == 201, response.content
    assert Message.objects.get().attachment_size == MAX_FILE_BYTES - MB


def test_a_file_just_over_its_forms_limit_gets_the_forms_own_message(client, thread):
    client.force_login(thread.client)
    response = client.post(
        reverse("messaging:send", args=[thread.pk]),
        {"body": "", "attachment": pdf_of(MAX_FILE_BYTES + MB)},
        follow=True,
    )
    assert response.status_code == 200
    assert "Attachments can be at most 10 MB." in response.content.decode()
    assert not Message.objects.exists()
