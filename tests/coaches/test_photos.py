"""Coach photos: cut to squares of a few sizes with Pillow once, served by size, initials
when there is no photo."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template import Context, Template
from django.urls import reverse
from PIL import Image

from coaches.services import photos, profiles
from tests.bookings.factories import open_coach
from tests.coaches.factories import CoachProfileFactory, png_bytes

pytestmark = pytest.mark.django_db


def test_a_new_photo_is_cut_to_every_size_once_and_served_square(client):
    # given: a public coach uploads a wide photo
    coach, _ = open_coach()
    upload = SimpleUploadedFile("photo.png", png_bytes((1200, 700)), content_type="image/png")
    profiles.coach_profile_update(coach=coach, photo=upload)

    # then: each size is stored as a square of its edge
    storage = coach.photo.storage
    for size, edge in photos.PHOTO_SIZES.items():
        name = photos.photo_size_name(coach.photo.name, size)
        assert storage.exists(name)
        with storage.open(name) as stored, Image.open(stored) as image:
            assert image.size == (edge, edge)
            assert image.format == "WEBP"
    made_at = storage.get_modified_time(photos.photo_size_name(coach.photo.name, "large"))
    photos.coach_photo_sizes_make(coach=coach)  # a second call makes nothing again
    assert storage.get_modified_time(photos.photo_size_name(coach.photo.name, "large")) == made_at

    # and: the photo view answers each size, and refuses unknown sizes
    url = reverse("coaches:photo", args=[coach.slug])
    response = client.get(url, {"size": "medium"})
    assert response["Content-Type"] == "image/webp"
    with Image.open(io.BytesIO(b"".join(response.streaming_content))) as image:
        assert image.size == (192, 192)
    assert client.get(url, {"size": "huge"}).status_code == 404


def test_a_photo_stored_before_sizes_existed_gets_them_on_first_view(client):
    coach, _ = open_coach()
    coach.photo.save("photo.png", io.BytesIO(png_bytes((300, 500))), save=True)
    name = photos.photo_size_name(coach.photo.name, "small")
    assert not coach.photo.storage.exists(name)
    response = client.get(reverse("coaches:photo", args=[coach.slug]), {"size": "small"})
    assert response.status_code == 200
    assert coach.photo.storage.exists(name)


def test_the_avatar_is_the_photo_or_the_initials():
    template = Template("{% load coaches_tags %}{% avatar person 'md' %}")
    coach, _ = open_coach()
    coach.user.first_name, coach.user.last_name = "Cora", "van Coach"
    coach.user.save()
    assert '<span class="avatar avatar-md" aria-hidden="true">CC</span>' in template.render(
        Context({"person": coach})
    )
    coach.photo.save("photo.png", io.BytesIO(png_bytes((300, 300))), save=True)
    html = template.render(Context({"person": coach.user}))
    assert f'src="/coaches/{coach.slug}/photo/?size=medium"' in html
    hidden = CoachProfileFactory(is_approved=False)
    hidden.photo.save("photo.png", io.BytesIO(png_bytes()), save=True)
    # a coach who is not public yet shows initials, never a photo link that would 404
    assert "<img" not in template.render(Context({"person": hidden}))
