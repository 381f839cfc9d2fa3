"""Pages: who may see what, the application wizard with uploads, availability, profiles."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from coaches.models import (
    ApplicationStatus,
    AvailabilityRule,
    CoachApplication,
    ExtraHours,
    Specialization,
    TimeOff,
)
from coaches.services import applications, search_index
from tests.coaches.factories import (
    PDF_BYTES,
    CoachProfileFactory,
    SessionTypeFactory,
    complete_application,
    png_bytes,
    weekly_hours,
)
from tests.factories import CoachUserFactory, UserFactory
from tests.mfa import sign_in_with_totp

pytestmark = pytest.mark.django_db


def stored_files(media_root: Path) -> list[Path]:
    return [path for path in Path(media_root).rglob("*") if path.is_file()]


# --- certificate access --------------------------------------------------------------------


def test_the_certificate_is_served_to_its_coach_and_to_staff_only(client):
    application = complete_application()
    url = reverse("coaches:certificate", args=[application.pk])
    # the coach
    client.force_login(application.coach.user)
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF_BYTES
    assert response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "private, no-store"
    # staff
    sign_in_with_totp(client, UserFactory(is_staff=True))
    assert client.get(url + "?download=1")["Content-Disposition"].startswith("attachment")
    # a client, another coach, anonymous
    client.force_login(UserFactory())
    assert client.get(url).status_code == 404
    other_coach = complete_application()
    client.force_login(other_coach.coach.user)
    assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302  # to the login page


def test_certificates_are_stored_outside_the_web_root(settings, _media_root):
    application = complete_application()
    path = Path(application.certificate_file.path)
    assert path.is_relative_to(_media_root)
    assert not path.is_relative_to(settings.BASE_DIR / "static")
    assert path.suffix == ".pdf" and "certificate" not in path.stem  # our own random name


# --- uploads -------------------------------------------------------------------------------


@pytest.fixture
def coach_client(client):
    user = CoachUserFactory()
    client.force_login(user)
    return client


def certification_post(upload):
    return {
        "certifying_body": 1,
        "certificate_number": "IPEC-77",
        "certification_level": "master",
        "certified_on": "2021-03-04",
        "certificate_file": upload,
    }


def _body_id() -> int:
    from coaches.models import CertifyingBody

    return CertifyingBody.objects.get(slug="ipec").pk


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (
            SimpleUploadedFile("big.pdf", PDF_BYTES + b"0" * (10 * 1024 * 1024)),
            "the limit is 10 MB",
        ),
        (
            SimpleUploadedFile("fake.pdf", b"this is plain text, not a PDF " * 20),
            "not a PDF, JPG, PNG",
        ),
        (SimpleUploadedFile("empty.pdf", b""), "The file is empty"),
        (SimpleUploadedFile("script.pdf", b"MZ\x90\x00" + b"\x00" * 200), "not a PDF, JPG, PNG"),
    ],
    ids=["over-10-MB", "pdf-name-not-pdf-content", "empty", "executable"],
)
def test_bad_certificate_uploads_get_a_form_error_and_nothing_is_stored(
    coach_client, _media_root, upload, message
):
    url = reverse("coaches:application_step", args=["certification"])
    data = certification_post(upload)
    data["certifying_body"] = _body_id()
    response = coach_client.post(url, data)
    assert response.status_code == 200
    assert message in response.content.decode()
    application = CoachApplication.objects.get()
    assert not application.certificate_file
    assert "certification" not in application.completed_steps
    assert stored_files(_media_root) == []


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("scan.pdf", PDF_BYTES, "application/pdf"),
        ("scan.PNG", png_bytes(), "image/png"),
        # named .pdf but really a PNG: accepted as what it is, stored as .png
        ("photo.pdf", png_bytes(), "image/png"),
    ],
)
def test_good_certificate_uploads_are_stored_with_their_detected_type(
    coach_client, _media_root, name, content, content_type
):
    url = reverse("coaches:application_step", args=["certification"])
    data = certification_post(SimpleUploadedFile(name, content))
    data["certifying_body"] = _body_id()
    response = coach_client.post(url, data)
    assert response.status_code == 302
    application = CoachApplication.objects.get()
    assert application.certificate_content_type == content_type
    assert application.certificate_file.name.endswith(
        "." + content_type.split("/")[1].replace("jpeg", "jpg")
    )
    assert [path.read_bytes() for path in stored_files(_media_root)] == [content]


def test_a_replaced_certificate_deletes_the_old_file(coach_client, _media_root):
    url = reverse("coaches:application_step", args=["certification"])
    for content in (PDF_BYTES, png_bytes()):
        data = certification_post(SimpleUploadedFile("c.pdf", content))
        data["certifying_body"] = _body_id()
        assert coach_client.post(url, data).status_code == 302
    assert [path.read_bytes() for path in stored_files(_media_root)] == [png_bytes()]


# --- the wizard ----------------------------------------------------------------------------


def test_the_wizard_saves_each_step_and_resumes_where_the_coach_left(coach_client):
    response = coach_client.get(reverse("coaches:application"))
    assert response["Location"].endswith("/apply/personal/")
    response = coach_client.post(
        reverse("coaches:application_step", args=["personal"]),
        {
            "full_name": "Nora Novak",
            "phone": "+41 44 123 45 67",
            "location": "Zurich",
            "time_zone": "Europe/Zurich",
        },
    )
    assert response["Location"].endswith("/apply/certification/")
    # leave and come back: resumes at the next unsaved step, with saved values kept
    response = coach_client.get(reverse("coaches:application"))
    assert response["Location"].endswith("/apply/certification/")
    page = coach_client.get(reverse("coaches:application_step", args=["personal"])).content.decode()
    assert 'value="Nora Novak"' in page
    application = CoachApplication.objects.get()
    assert application.completed_steps == ["personal"]
    assert application.coach.time_zone == "Europe/Zurich"
    assert application.coach.user.get_full_name() == "Nora Novak"


def test_a_bad_step_shows_field_errors(coach_client):
    response = coach_client.post(
        reverse("coaches:application_step", args=["personal"]),
        {"full_name": "", "phone": "call me", "location": "", "time_zone": "Mars/Base"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Enter a phone number" in page
    assert "Select a valid choice" in page


def test_clients_cannot_open_the_coach_pages(client):
    client.force_login(UserFactory())
    for name in ("coaches:dashboard", "coaches:application", "coaches:availability"):
        assert client.get(reverse(name)).status_code == 403


def test_the_dashboard_shows_status_and_rejection_reason(client):
    application = complete_application()
    applications.application_submit(application=application, by=application.coach.user)
    applications.application_reject(
        application=application, by=UserFactory(is_staff=True), reason="Blurry scan"
    )
    client.force_login(application.coach.user)
    page = client.get(reverse("coaches:dashboard")).content.decode()
    assert "Rejected" in page and "Blurry scan" in page
    assert "Update and resubmit" in page


def test_submitting_from_the_review_step(client):
    application = complete_application()
    client.force_login(application.coach.user)
    response = client.post(reverse("coaches:application_step", args=["review"]))
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED


# --- unapproved coaches stay invisible -----------------------------------------------------


def test_an_unapproved_coach_never_appears_in_pages_search_or_api(client):
    hidden = complete_application().coach  # not approved, but able to take charges
    hidden.can_take_charges = True
    hidden.save()
    SessionTypeFactory(coach=hidden)
    search_index.coach_search_vectors_refresh(coach_ids=[hidden.pk])
    visible = CoachProfileFactory(bio="Career coaching for engineers")
    SessionTypeFactory(coach=visible)
    search_index.coach_search_vectors_refresh(coach_ids=[visible.pk])
    assert client.get(reverse("coaches:profile", args=[hidden.slug])).status_code == 404
    assert client.get(reverse("coaches:profile_slots", args=[hidden.slug])).status_code == 404
    for query in ("", "?q=career", "?q=Nora"):
        page = client.get(reverse("coaches:search") + query).content.decode()
        assert hidden.slug not in page
    listing = client.get("/api/coaches/?page_size=100").json()
    assert [coach["id"] for coach in listing["results"]] == [visible.pk]
    assert client.get(f"/api/coaches/{hidden.pk}/").status_code == 404
    assert client.get(f"/api/coaches/{hidden.pk}/slots/?session_type=1").status_code == 404
    # approved but unable to take charges is hidden too
    visible.can_take_charges = False
    visible.save()
    assert client.get(reverse("coaches:profile", args=[visible.slug])).status_code == 404
    assert client.get("/api/coaches/").json()["results"] == []


# --- profile -------------------------------------------------------------------------------


@pytest.fixture
def public_coach():
    coach = CoachProfileFactory(
        time_zone="Europe/Zurich",
        minimum_notice_minutes=0,
        buffer_after_minutes=0,
        languages=["en", "de"],
    )
    weekly_hours(coach, time(9), time(10))
    SessionTypeFactory(coach=coach, duration_minutes=60, price=15000, currency="chf")
    return coach


def test_the_profile_shows_slots_in_the_visitors_zone_linked_to_booking(client, public_coach):
    page = client.get(
        reverse("coaches:profile", args=[public_coach.slug]) + "?tz=America/New_York"
    ).content.decode()
    assert "CHF\u00a0150.00" in page
    assert "America/New_York" in page
    starts = re.findall(r'data-start="([^"]+)"', page)
    assert starts, "the next slots are listed"
    first = datetime.fromisoformat(starts[0].replace("Z", "+00:00"))
    from zoneinfo import ZoneInfo

    # 09:00 in Zurich, shown at the New York wall-clock time of that instant
    assert first.astimezone(ZoneInfo("Europe/Zurich")).time() == time(9)
    label = first.astimezone(ZoneInfo("America/New_York")).strftime("%H:%M")
    assert f">{label}</a>" in page
    try:
        book = reverse("bookings:new")
    except Exception:
        book = None
    if book:
        assert f"{book}?session_type=" in page


def test_the_profile_slots_partial_changes_zone(client, public_coach):
    response = client.get(
        reverse("coaches:profile_slots", args=[public_coach.slug]) + "?tz=Asia/Tokyo",
        HTTP_HX_REQUEST="true",
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page
    starts = re.findall(r'data-start="([^"]+)"', page)
    from zoneinfo import ZoneInfo

    first = datetime.fromisoformat(starts[0].replace("Z", "+00:00"))
    assert f">{first.astimezone(ZoneInfo('Asia/Tokyo')):%H:%M}</a>" in page


def test_the_profile_shows_the_verified_badge_naming_the_certification(client):
    application = complete_application()
    applications.application_submit(application=application, by=application.coach.user)
    applications.application_approve(application=application, by=UserFactory(is_staff=True))
    page = client.get(reverse("coaches:profile", args=[application.coach.slug])).content.decode()
    assert "Verified" in page
    assert "Professional coach, certified by iPEC" in page


# --- availability editor -------------------------------------------------------------------


def test_the_coach_edits_the_week_grid_settings_time_off_and_extra_hours(client):
    application = complete_application()
    coach = application.coach
    client.force_login(coach.user)
    url = reverse("coaches:availability")
    grid = {f"day_{day}": "" for day in range(7)}
    grid.update({"action": "grid", "day_0": "09:00-12:00, 13:00-17:00", "day_2": "08:30-10:00"})
    assert client.post(url, grid).status_code == 302
    assert sorted(
        AvailabilityRule.objects.filter(coach=coach).values_list("weekday", "start_time")
    ) == [
        (0, time(9)),
        (0, time(13)),
        (2, time(8, 30)),
    ]
    bad = {**grid, "day_1": "10:00-09:00"}
    response = client.post(url, bad)
    assert response.status_code == 400
    assert "must end after it starts" in response.content.decode()
    overlap = {**grid, "day_1": "09:00-11:00, 10:00-12:00"}
    assert "overlaps" in client.post(url, overlap).content.decode()
    assert (
        client.post(
            url,
            {
                "action": "settings",
                "buffer_before_minutes": 10,
                "buffer_after_minutes": 5,
                "minimum_notice_minutes": 120,
                "booking_horizon_days": 30,
                "max_sessions_per_day": 3,
            },
        ).status_code
        == 302
    )
    coach.refresh_from_db()
    assert (coach.buffer_before_minutes, coach.max_sessions_per_day) == (10, 3)
    assert (
        client.post(
            url,
            {
                "action": "time_off",
                "starts_at": "2030-07-01T00:00",
                "ends_at": "2030-07-15T00:00",
                "note": "Holiday",
            },
        ).status_code
        == 302
    )
    time_off = TimeOff.objects.get(coach=coach)
    # typed in the coach's zone (Europe/Zurich, summer time)
    assert time_off.starts_at == datetime(2030, 6, 30, 22, tzinfo=UTC)
    assert (
        client.post(
            url,
            {"action": "extra", "date": "2030-07-20", "start_time": "10:00", "end_time": "12:00"},
        ).status_code
        == 302
    )
    assert ExtraHours.objects.filter(coach=coach).count() == 1
    client.post(url, {"action": "remove_time_off", "id": time_off.pk})
    assert not TimeOff.objects.filter(coach=coach).exists()
    page = client.get(url).content.decode()
    assert "09:00-12:00, 13:00-17:00" in page
    assert "Europe/Zurich" in page


def test_a_coach_cannot_remove_another_coachs_time_off(client):
    other = CoachProfileFactory()
    time_off = TimeOff.objects.create(
        coach=other,
        starts_at=datetime(2030, 1, 1, tzinfo=UTC),
        ends_at=datetime(2030, 1, 2, tzinfo=UTC),
    )
    application = complete_application()
    client.force_login(application.coach.user)
    client.post(reverse("coaches:availability"), {"action": "remove_time_off", "id": time_off.pk})
    assert TimeOff.objects.filter(pk=time_off.pk).exists()


def test_session_types_are_added_in_the_coachs_currency(client):
    application = complete_application()
    client.force_login(application.coach.user)
    client.post(
        reverse("coaches:session_type_add"),
        {"name": "Intro", "duration_minutes": 30, "price": "49.50"},
    )
    session_type = application.coach.session_types.get(name="Intro")
    assert (session_type.price, session_type.currency) == (4950, "chf")
    application.coach.refresh_from_db()
    assert application.coach.min_price == 4950
    other = SessionTypeFactory()
    response = client.post(reverse("coaches:session_type_remove", args=[other.pk]))
    assert response.status_code == 404


def test_the_business_step_stores_a_photo_served_once_the_coach_is_public(client, _media_root):
    application = complete_application()
    coach = application.coach
    client.force_login(coach.user)
    data = {
        "headline": "Career coach",
        "bio": "I help people " * 10,
        "services": "1:1",
        "languages": ["en"],
        "currency": "chf",
    }
    bad = client.post(
        reverse("coaches:application_step", args=["business"]),
        {**data, "photo": SimpleUploadedFile("me.jpg", b"not an image at all" * 10)},
    )
    assert "not a JPG, PNG, WEBP file" in bad.content.decode()
    good = client.post(
        reverse("coaches:application_step", args=["business"]),
        {**data, "photo": SimpleUploadedFile("me.png", png_bytes())},
    )
    assert good.status_code == 302
    coach.refresh_from_db()
    assert coach.photo.name.endswith(".png")
    photo_url = reverse("coaches:photo", args=[coach.slug])
    assert client.get(photo_url).status_code == 200  # the coach sees it before approval
    client.logout()
    assert client.get(photo_url).status_code == 404  # hidden while not approved
    coach.is_approved = True
    coach.save()
    assert b"".join(client.get(photo_url).streaming_content) == png_bytes()


def test_the_home_page_is_search_first_with_featured_verified_coaches_and_trust(client):
    # given: one public coach with a specialisation and one not yet approved
    from tests.bookings.factories import open_coach

    coach, _ = open_coach()
    coach.user.first_name = "Feature"
    coach.user.save()
    coach.specializations.set(Specialization.objects.filter(slug="career"))
    hidden = CoachProfileFactory(is_approved=False)
    html = client.get("/").content.decode()
    # a search box that goes to search, and the specialisations on offer
    assert f'action="{reverse("coaches:search")}"' in html and 'name="q"' in html
    assert f"{reverse('coaches:search')}?specialization=career" in html
    # featured coaches are public ones only
    assert reverse("coaches:profile", args=[coach.slug]) in html
    assert reverse("coaches:profile", args=[hidden.slug]) not in html
    # how it works for both sides, and the trust signals
    for text in ("For clients", "For coaches", "Verified coaches", "Secure payment by Stripe"):
        assert text in html
    assert "refund" in html
