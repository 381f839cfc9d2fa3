"""``next`` targets stay on this site: the helper and the pages that follow ``next``."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.urls import reverse

from marketplace.redirects import safe_next_url
from tests.coaches.factories import SessionTypeFactory, complete_application

OFF_SITE = [
    "https://evil.example/phish",
    "http://evil.example/phish",
    "//evil.example/x",
    "///evil.example/x",
    "/\\evil.example/x",
    "\\\\evil.example/x",
    "https:evil.example",
    "javascript:alert(1)",
    " //evil.example",
    "\x01//evil.example",
    "https://testserver.evil.example/",
]


@pytest.mark.parametrize("target", OFF_SITE)
def test_an_off_site_next_falls_back_to_the_default(target):
    request = RequestFactory().post("/coaches/session-types/", {"next": target})
    assert safe_next_url(request, "coaches:dashboard") == reverse("coaches:dashboard")


@pytest.mark.parametrize(
    "target", ["/coaches/dashboard/", "/coaches/dashboard/?tab=2#types", "http://testserver/x/"]
)
def test_a_next_on_this_site_is_followed(target):
    request = RequestFactory().post("/coaches/session-types/", {"next": target})
    assert safe_next_url(request, "coaches:dashboard") == target


def test_an_https_page_never_sends_back_to_plain_http():
    request = RequestFactory().post("/x/", {"next": "http://testserver/x/"}, secure=True)
    assert safe_next_url(request, "/") == "/"
    request = RequestFactory().post("/x/", {"next": "https://testserver/x/"}, secure=True)
    assert safe_next_url(request, "/") == "https://testserver/x/"


def test_next_in_the_query_string_is_checked_too():
    request = RequestFactory().get("/x/", {"next": "//evil.example/x"})
    assert safe_next_url(request, "/") == "/"
    request = RequestFactory().get("/x/", {"next": "/coaches/"})
    assert safe_next_url(request, "/") == "/coaches/"


@pytest.mark.django_db
@pytest.mark.parametrize("target", ["https://evil.example/phish", "//evil.example/x"])
def test_adding_a_session_type_never_redirects_off_site(client, target):
    # given a coach on the dashboard
    application = complete_application()
    client.force_login(application.coach.user)
    # when the form carries an off-site next
    response = client.post(
        reverse("coaches:session_type_add"),
        {"name": "Intro", "duration_minutes": 30, "price": "49.50", "next": target},
    )
    # then the session type is added and the browser goes to the dashboard
    assert response.status_code == 302
    assert response["Location"] == reverse("coaches:dashboard")
    assert application.coach.session_types.filter(name="Intro").exists()


@pytest.mark.django_db
def test_adding_a_session_type_returns_to_the_page_it_came_from(client):
    application = complete_application()
    client.force_login(application.coach.user)
    back = reverse("coaches:application_step", args=["business"])
    response = client.post(
        reverse("coaches:session_type_add"),
        {"name": "Intro", "duration_minutes": 30, "price": "49.50", "next": back},
    )
    assert response["Location"] == back


@pytest.mark.django_db
def test_removing_a_session_type_never_redirects_off_site(client):
    application = complete_application()
    session_type = SessionTypeFactory(coach=application.coach)
    client.force_login(application.coach.user)
    response = client.post(
        reverse("coaches:session_type_remove", args=[session_type.pk]),
        {"next": "https://evil.example/phish"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("coaches:dashboard")
    session_type.refresh_from_db()
    assert session_type.is_active is False
