"""Bounded uploads: a request larger than any upload the product takes is refused with a 413
before its body is read, and reading stops at the limit whatever the request declared.

The largest file a form takes is 10 MB (a coach's certificate, a message attachment; a photo
is at most 5 MB), and each form checks its own limit and type and says so on the form. A
request may carry 12 MB (:data:`MAX_REQUEST_BYTES`): one such file, the rest of its form,
and room for a file a little over its form's limit to get that form's message. Beyond that,
two guards keep the upload out of memory:

- :class:`UploadLimitMiddleware` answers 413 from ``Content-Length`` alone, before any code
  reads the body (CSRF's check reads it for every form post). It then parses a
  multipart form post itself, so that a refusal while reading becomes the same 413.
- :class:`BoundedUploadHandler` (first in ``FILE_UPLOAD_HANDLERS``) counts the bytes of
  the files as they stream in and stops at the limit: for a request whose body is longer
  than its ``Content-Length`` said (Django's ASGI request, or a server that does not cut
  the body at the declared length), and for parsers that run without the middleware
  (DRF's multipart parser on a ``PUT``/``PATCH``).

A refused upload raises :class:`UploadTooLarge` (a ``DomainError``, 413), which the API's
exception handler turns into the usual error body. ``StopUpload`` would end the parse
quietly and leave the view a form without its file; the error says what happened instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from marketplace.api import error_body
from marketplace.errors import DomainError

MEGABYTE = 1024 * 1024
# The largest single file any form accepts (certificates and attachments, 10 MB).
MAX_FILE_BYTES = 10 * MEGABYTE
# The most one request may carry, body and files (the 12 MB kept in memory by settings).
MAX_REQUEST_BYTES = 12 * MEGABYTE


class UploadTooLarge(DomainError):
    status_code = 413
    code = "upload_too_large"


def _too_large(size: int | None = None) -> UploadTooLarge:
    """The refusal; ``size`` is what the request declared (``None``: more than the limit)."""
    told = (
        f"{size / MEGABYTE:.1f} MB"
        if size is not None
        else f"over {MAX_REQUEST_BYTES // MEGABYTE} MB"
    )
    return UploadTooLarge(
        f"The upload is {told}; a file can be at most {MAX_FILE_BYTES // MEGABYTE} MB. "
        "Choose a smaller file and send it again."
    )


class BoundedUploadHandler(FileUploadHandler):
    """Counts the bytes of the files of one request and refuses the request past the limit.

    It passes every chunk on unchanged to the next handler (which keeps the file) and never
    returns a file itself. Django makes one instance per request.
    """

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.received = 0

    def handle_raw_input(
        self,
        input_data: Any,
        META: dict[str, Any],
        content_length: int,
        boundary: str,  # Django passes bytes; typed as its base class declares
        encoding: str | None = None,
    ) -> None:
        if content_length > MAX_REQUEST_BYTES:
            raise _too_large(content_length)
        return None

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > MAX_REQUEST_BYTES:
            raise _too_large()  # nothing past the limit is read
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0  # as Django reads it: an unreadable length means no body


def too_large_response(request: HttpRequest, error: UploadTooLarge) -> HttpResponse:
    """413: the API's error body under ``/api/``, a page otherwise."""
    if request.path.startswith("/api/"):
        body = error_body(error.code, error.message, error.fields)
        return JsonResponse(body, status=error.status_code)
    return render(
        request,
        "marketplace/upload_too_large.html",
        {"message": error.message},
        status=error.status_code,
    )


class UploadLimitMiddleware:
    """Refuses an oversized request before its body is read (see the module docstring).

    Sits after the authentication middleware, so the 413 page knows who is signed in, and
    before any view: nothing in the middleware above it reads the body.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        length = _declared_length(request)
        if length > MAX_REQUEST_BYTES:
            return too_large_response(request, _too_large(length))
        if request.method == "POST" and request.content_type == "multipart/form-data":
            try:
                request.POST  # noqa: B018 - parse now, through BoundedUploadHandler
            except UploadTooLarge as error:
                return too_large_response(request, error)
        return self.get_response(request)
