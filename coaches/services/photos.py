"""A coach's photo in the sizes pages show: cropped to a square around the centre and
resized server-side with Pillow's ``ImageOps.fit``, stored next to the original and made
once per photo (a new photo has a new file name, so its sizes are new files too)."""

from __future__ import annotations

import io
import logging
from pathlib import PurePosixPath

from django.core.files.base import ContentFile
from PIL import Image, ImageOps, UnidentifiedImageError

from coaches.models import CoachProfile

logger = logging.getLogger(__name__)

# name -> edge in pixels. Each is about twice the largest CSS size it is drawn at, so it
# stays sharp on high-density screens: small for lists, messages and the agenda (32-48 px),
# medium for search results (80 px), large for the profile (160 px).
PHOTO_SIZES: dict[str, int] = {"small": 96, "medium": 192, "large": 400}


def photo_size_name(photo_name: str, size: str) -> str:
    """The storage name of one size of a photo: ``coaches/photos/photo_x.png`` ->
    ``coaches/photos/sizes/photo_x-large.webp``."""
    path = PurePosixPath(photo_name)
    return str(path.parent / "sizes" / f"{path.stem}-{size}.webp")


def coach_photo_sizes_make(*, coach: CoachProfile) -> dict[str, str]:
    """Write every size of the coach's photo that is missing; returns size -> storage name
    (empty without a photo, or when the stored file is not an image Pillow can read)."""
    if not coach.photo:
        return {}
    storage = coach.photo.storage
    names = {size: photo_size_name(coach.photo.name, size) for size in PHOTO_SIZES}
    missing = [size for size, name in names.items() if not storage.exists(name)]
    if not missing:
        return names
    try:
        with coach.photo.open("rb") as original, Image.open(original) as image:
            image = ImageOps.exif_transpose(image)
            image = image.convert("RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB")
            for size in missing:
                edge = PHOTO_SIZES[size]
                square = ImageOps.fit(
                    image, (edge, edge), method=Image.Resampling.LANCZOS, centering=(0.5, 0.4)
                )
                buffer = io.BytesIO()
                square.save(buffer, format="WEBP", quality=85, method=4)
                # The name is derived, not chosen by storage: a concurrent request that made
                # the same size first leaves an identical file, so keep whichever exists.
                if not storage.exists(names[size]):
                    storage.save(names[size], ContentFile(buffer.getvalue()))
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError):
        logger.warning("coach %s: photo %s cannot be resized", coach.pk, coach.photo.name)
        return {}
    return names


def coach_photo_size(*, coach: CoachProfile, size: str) -> str | None:
    """The storage name of one size of the coach's photo, made on first use (photos stored
    before sizes existed); None without a usable photo or for an unknown size."""
    if size not in PHOTO_SIZES:
        return None
    return coach_photo_sizes_make(coach=coach).get(size)
