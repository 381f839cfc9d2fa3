"""Files people attach to what they write (messages, community discussions), checked by content.

The type comes from the file's first bytes (``filetype``), never from its name or the
browser's header; the file is stored under a random name with the detected extension.
"""

from __future__ import annotations

import filetype
from django.core.files.uploadedfile import UploadedFile

from marketplace.errors import DomainError

ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
IMAGE_TYPES = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
}
ATTACHMENT_TYPES = {**IMAGE_TYPES, "application/pdf": "pdf"}


def attachment_detect(
    attachment: UploadedFile,
    *,
    allowed: dict[str, str] = ATTACHMENT_TYPES,
    field: str = "attachment",
    what: str = "an image (JPEG, PNG, GIF, WebP) or a PDF",
) -> tuple[str, str]:
    """The detected content type and extension of ``attachment``, or a ``DomainError``
    naming ``field`` when it is too large or not one of ``allowed``."""
    if attachment.size is None or attachment.size > ATTACHMENT_MAX_BYTES:
        raise DomainError(
            "Attachments can be at most 10 MB.", fields={field: ["The file is too large."]}
        )
    attachment.seek(0)
    head = attachment.read(262)
    attachment.seek(0)
    kind = filetype.guess(head)
    if kind is None or kind.mime not in allowed:
        raise DomainError(f"Attach {what}.", fields={field: ["This file type is not allowed."]})
    return kind.mime, allowed[kind.mime]
