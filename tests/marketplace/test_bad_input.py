"""Bad input at every form and endpoint that takes it: never a 500, always a clear 4xx (a JSON
body with ``error.code`` from the API, a form error on a page), and nothing stored.

Each test sends one endpoint a list of values (the dates, prices, names and amounts that once
gave 500s, and negative, huge, NaN, empty, other scripts' digits, NUL and 10,000-character
strings), collects every answer that is not what it should be, and checks the rows it could
have written are as they were. The clients answer a crash with a 500 instead of raising it,
so one run reports every value that still breaks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from bookings.models import Booking, BookingStatus, CancellationPolicy
from coaches.demo import ensure_managed_lists
from coaches.models import CoachApplication, CoachProfile, ExtraHours, SessionType, TimeOff
from marketplace.models import User
from messaging import services as messaging
from messaging.models import Message, ReadState, Thread
from payments.gateway import stripe_client
from payments.models import ConnectedAccount, Payment, Refund, WebhookEvent, WebhookEventStatus
from payments.sandbox import controls
from payments.sandbox.models import StripeObject
from payments.services import accounts as connect
from tests.bookings.factories import BookingFactory, next_hour, open_coach
from tests.coaches.factories import complete_application
from tests.factories import CoachUserFactory, UserFactory
from tests.mfa import sign_in_with_totp

BAD_INSTANTS = [
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z",
    "2030-02-30T10:00:00Z",
    "2030-01-01T10:00:00+99:00",
    "2030-01-01T10:00:00-99:00",
    "2031-02-29T10:00:00Z",
    "2030-01-01T25:00:00Z",
    "1999-12-31T23:59:59Z",
    "2101-01-01T00:00:00Z",
    "NaN",
    "-1",
    "1e30",
    "99999999999999999999",
    "null",
    "２０３０-01-01T10:00:00Z",
    "2030-01-01T10:00:00Z\x00",
    "2030-01-01T10:00:00Z" + "0" * 10_000,
    "x" * 10_000,
]
# Integers and amounts in minor units, as JSON values or form text. (Digits of other scripts,
# "٣", and "1_000" are numbers to Python, Django and DRF, and read as those numbers.)
BAD_INTEGERS: list[Any] = [
    -1,
    2**31,
    2**63,
    10**30,
    1e30,
    "1e30",
    "NaN",
    "Infinity",
    "-Infinity",
    "",
    "²",
    "½",
    "12.5",
    "0x10",
    "9" * 10_000,
    [1],
    {"a": 1},
]
# Amounts in major units, typed in a form.
BAD_AMOUNTS = [
    "99999999",
    "1000000",
    "999999.995",
    "1e30",
    "1E+9",
    "-5",
    "NaN",
    "Infinity",
    "49.999",
    "9" * 10_000,
    "0x10",
]
HUGE_TEXT = "x" * 10_000
# Refusals that say nothing about the value sent: a test that gets one tested nothing.
NOT_ABOUT_THE_INPUT = {
    "not_authenticated",
    "authentication_failed",
    "permission_denied",
    "mfa_required",
    "throttled",
}
# Longer than any column in characters, four bytes each.
EMOJI_TEXT = "💥" * 5_001


class Failures(list):
    def check(self, what: str, ok: bool, detail: Any = "") -> None:
        if not ok:
            self.append(f"{what}: {detail}")

    def assert_none(self) -> None:
        assert self == [], "\n".join(self)


def _client(user: User | None = None) -> Client:
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


def _api(user: User | None = None) -> APIClient:
    client = APIClient(raise_request_exception=False)
    if user is not None:
        client.force_authenticate(user)
    return client


def _json_4xx(response) -> tuple[bool, str]:
    """A 4xx whose JSON body names an error code."""
    if not 400 <= response.status_code < 500:
        return False, f"{response.status_code} {response.content[:200]!r}"
    try:
        code = response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return False, f"{response.status_code} without an error body: {response.content[:200]!r}"
    if code in NOT_ABOUT_THE_INPUT:
        return False, f"{response.status_code} {code}: the request never reached the input"
    return bool(code), code


def _flash(response) -> str:
    """The messages shown on the page a redirect led to (post with ``follow=True``)."""
    return " ".join(str(message) for message in get_messages(response.wsgi_request))


def _rows(*models: Any) -> dict[str, Any]:
    return {model.__name__: sorted(model.objects.values_list("pk", flat=True)) for model in models}


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def local_stripe(db, settings):
    settings.SITE_URL = "http://testserver"
    controls.reset()
    controls.register_default_endpoints("http://testserver")
    ensure_managed_lists()
    return controls


@pytest.fixture
def bookable(local_stripe, django_capture_on_commit_callbacks):
    """A coach bookable around the clock whose Express account is active on the local Stripe,
    and their 60-minute session type."""
    with django_capture_on_commit_callbacks(execute=True):
        coach, session_type = open_coach()
        coach.user.connected_account.delete()
        account = connect.connected_account_create(coach=coach.user, country=coach.country)
        controls.complete_onboarding(account.stripe_account_id, "complete")
        connect.connected_account_refresh(account=account)
    coach.refresh_from_db()
    return coach, session_type


def _sweep(
    values: Iterable[Any], send: Callable[[Any], Any], judge: Callable[[Any], tuple[bool, Any]]
) -> Failures:
    failures = Failures()
    for value in values:
        response = send(value)
        ok, detail = judge(response)
        failures.check(repr(value)[:60], ok, detail)
    return failures


# --- dates ---------------------------------------------------------------------------------


def test_the_slots_api_answers_bad_dates_with_400(bookable):
    coach, session_type = bookable
    api = _api()
    url = f"/api/coaches/{coach.pk}/slots/"
    failures = Failures()
    for name in ("start", "end"):
        for value in BAD_INSTANTS:
            response = api.get(url, {"session_type": session_type.pk, name: value})
            ok, detail = _json_4xx(response)
            failures.check(f"{name}={value[:40]!r}", ok and response.status_code == 400, detail)
    for value in ["²", "٣", "-1", "9" * 30, "1e30", HUGE_TEXT]:
        ok, detail = _json_4xx(api.get(url, {"session_type": value}))
        failures.check(f"session_type={value[:40]!r}", ok, detail)
    failures.assert_none()


def test_the_booking_journey_answers_bad_dates_with_a_page_that_says_why(bookable):
    _coach, session_type = bookable
    client = _client(UserFactory())
    url = reverse("bookings:new")
    failures = Failures()
    for value in BAD_INSTANTS:
        for method in (client.get, client.post):
            response = method(url, {"session_type": session_type.pk, "start": value})
            failures.check(
                f"{method.__name__} start={value[:40]!r}",
                response.status_code == 400 and b'role="alert"' in response.content,
                response.status_code,
            )
    for value in ["²", "٣", "9" * 30, HUGE_TEXT]:
        response = client.get(url, {"session_type": value, "start": "2030-01-01T10:00:00Z"})
        failures.check(f"session_type={value[:40]!r}", response.status_code == 400, response)
    failures.assert_none()
    assert "booking_draft" not in client.session


def test_the_bookings_api_refuses_bad_holds_and_stores_nothing(bookable):
    _coach, session_type = bookable
    api = _api(UserFactory())
    before = _rows(Booking, Payment, StripeObject)
    good = {
        "session_type": session_type.pk,
        "starts_at": next_hour(days=4).isoformat(),
        "client_time_zone": "Europe/Zurich",
    }
    cases: list[tuple[str, Any]] = [("starts_at", value) for value in BAD_INSTANTS]
    cases += [("starts_at", "2030-01-01T10:00:00")]  # no offset
    cases += [("session_type", value) for value in BAD_INTEGERS]
    cases += [("package_purchase", value) for value in BAD_INTEGERS if value != ""]
    cases += [("topic", HUGE_TEXT), ("topic", EMOJI_TEXT)]
    cases += [("client_time_zone", value) for value in ("Mars/Base", "../../etc/passwd", HUGE_TEXT)]
    cases += [
        ("success_url", value) for value in ("javascript:alert(1)", "https://x/" + "a" * 5000)
    ]
    failures = Failures()
    for name, value in cases:
        response = api.post("/api/bookings/", {**good, name: value}, format="json")
        ok, detail = _json_4xx(response)
        # an id in range that names no row is a 404
        clear = response.status_code == 400 or (
            name in ("session_type", "package_purchase") and response.status_code == 404
        )
        failures.check(f"{name}={repr(value)[:40]}", ok and clear, detail)
    failures.assert_none()
    assert _rows(Booking, Payment, StripeObject) == before


def test_rescheduling_refuses_bad_dates_and_keeps_the_booking(bookable):
    _coach, session_type = bookable
    client_user = UserFactory()
    booking = BookingFactory(session_type=session_type, client=client_user)
    api, page = _api(client_user), _client(client_user)
    api_url = f"/api/bookings/{booking.pk}/reschedule/"
    page_url = reverse("bookings:reschedule", args=[booking.pk])
    failures = Failures()
    for value in [*BAD_INSTANTS, "", 5, None]:
        ok, detail = _json_4xx(api.post(api_url, {"starts_at": value}, format="json"))
        failures.check(f"api {repr(value)[:40]}", ok and detail == "invalid", detail)
    for value in [*BAD_INSTANTS, ""]:
        response = page.post(page_url, {"starts_at": value})
        form = response.context["form"] if response.context else None
        failures.check(
            f"page {value[:40]!r}",
            response.status_code == 200 and form is not None and "starts_at" in form.errors,
            response.status_code,
        )
    failures.assert_none()
    moved = Booking.objects.get(pk=booking.pk)
    assert (moved.starts_at, moved.status) == (booking.starts_at, BookingStatus.CONFIRMED)
    assert Booking.objects.count() == 1


# --- the coach's prices, availability and name --------------------------------------------


@pytest.fixture
def applying_coach(local_stripe) -> CoachProfile:
    return complete_application().coach


def test_session_type_prices_beyond_what_stripe_charges_are_a_form_error(applying_coach):
    coach = applying_coach  # sells in CHF
    client = _client(coach.user)
    url = reverse("coaches:session_type_add")
    before = _rows(SessionType)
    failures = Failures()
    good = {"name": "Intro", "duration_minutes": 60, "price": "49.50"}
    cases = [("price", value) for value in [*BAD_AMOUNTS, "", "0", "0.99"]]
    cases += [("name", HUGE_TEXT), ("name", ""), ("duration_minutes", "99999999999")]
    cases += [("duration_minutes", "²")]
    for name, value in cases:
        response = client.post(url, {**good, name: value}, follow=True)
        message = _flash(response)
        failures.check(
            f"{name}={value[:40]!r}",
            response.redirect_chain
            and response.redirect_chain[0][1] == 302
            and "was not added" in message
            and _rows(SessionType) == before,
            message[:120],
        )
    failures.assert_none()
    # the largest price Stripe charges is accepted, in minor units
    response = client.post(url, {**good, "price": "999999.99"}, follow=True)
    assert "Session type added" in _flash(response)
    assert coach.session_types.get(name="Intro").price == 99_999_999


def _profile_settings(coach: CoachProfile) -> dict[str, Any]:
    """The profile's columns, less the search index's own bookkeeping."""
    row = CoachProfile.objects.filter(pk=coach.pk).values().get()
    for computed in ("availability_indexed_at", "next_available_at", "updated_at"):
        row.pop(computed)
    return row


def test_the_availability_forms_refuse_bad_input_and_store_nothing(applying_coach):
    coach = applying_coach
    client = _client(coach.user)
    url = reverse("coaches:availability")
    before = _rows(TimeOff, ExtraHours)
    rules_before = list(coach.availability_rules.values_list("weekday", "start_time", "end_time"))
    settings_before = _profile_settings(coach)
    good_off = {
        "action": "time_off",
        "starts_at": "2030-07-01T00:00",
        "ends_at": "2030-07-15T00:00",
    }
    posts: list[dict[str, Any]] = [
        {**good_off, name: value} for name in ("starts_at", "ends_at") for value in BAD_INSTANTS
    ]
    posts += [{**good_off, "note": HUGE_TEXT}]
    good_extra = {
        "action": "extra",
        "date": "2030-07-20",
        "start_time": "10:00",
        "end_time": "12:00",
    }
    posts += [
        {**good_extra, "date": value}
        for value in ("9999-12-31", "0001-01-01", "2030-02-30", "1e30", HUGE_TEXT)
    ]
    posts += [{**good_extra, "start_time": "25:00"}, {**good_extra, "end_time": HUGE_TEXT}]
    good_settings = {
        "action": "settings",
        "buffer_before_minutes": 0,
        "buffer_after_minutes": 0,
        "minimum_notice_minutes": 0,
        "booking_horizon_days": 30,
    }
    posts += [
        {**good_settings, name: value}
        for name in ("buffer_before_minutes", "minimum_notice_minutes", "booking_horizon_days")
        for value in ("-1", str(2**31), "1e30", "NaN", "²", "9" * 10_000)
    ]
    posts += [{"action": "grid", "day_0": HUGE_TEXT}, {"action": "grid", "day_1": "09:00-99:00"}]
    failures = Failures()
    for data in posts:
        response = client.post(url, data)
        failures.check(
            f"{data['action']} {repr(data)[:80]}", response.status_code == 400, response.status_code
        )
    for value in ("²", "1e30", "9" * 30, HUGE_TEXT):
        response = client.post(url, {"action": "remove_time_off", "id": value})
        failures.check(f"remove {value[:30]!r}", response.status_code in (302, 404), response)
    failures.assert_none()
    assert _rows(TimeOff, ExtraHours) == before
    assert (
        list(coach.availability_rules.values_list("weekday", "start_time", "end_time"))
        == rules_before
    )
    assert _profile_settings(coach) == settings_before


def test_a_coach_with_the_longest_names_has_working_pages(local_stripe):
    # given: a coach whose first and last names together run to 300 characters
    user = CoachUserFactory(first_name="A" * 150, last_name="B" * 150)
    client = _client(user)
    # when / then: the pages that start the application answer, and keep answering
    for _ in range(2):
        for name in ("coaches:dashboard", "coaches:application", "coaches:availability"):
            response = client.get(reverse(name), follow=True)
            assert response.status_code == 200, (name, response.status_code)
    application = CoachApplication.objects.get(coach__user=user)
    assert application.full_name == "A" * 150


def test_signup_refuses_names_and_addresses_that_do_not_fit(db):
    client = _client()
    url = reverse("account_signup")
    good = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.test",
        "password1": "a-Strong-pass-91",
        "password2": "a-Strong-pass-91",
        "role": "coach",
    }
    cases = [
        {"first_name": "A" * 100, "last_name": "B" * 100},
        {"first_name": "A" * 151},
        {"last_name": HUGE_TEXT},
        {"email": "a" * 300 + "@example.test"},
        {"password1": "p" * 10_000, "password2": "p" * 10_000},
        {"role": "staff"},
    ]
    failures = Failures()
    for change in cases:
        response = client.post(url, {**good, **change})
        form = response.context.get("form") if response.context else None
        failures.check(
            repr(change)[:60],
            response.status_code == 200 and form is not None and bool(form.errors),
            response.status_code,
        )
    failures.assert_none()
    assert not User.objects.filter(email__endswith="example.test").exists()


def test_the_application_steps_refuse_text_longer_than_their_columns(applying_coach):
    coach = applying_coach
    client = _client(coach.user)
    application_before = CoachApplication.objects.filter(coach=coach).values().get()
    steps = {
        "personal": {
            "full_name": "Nora Novak",
            "phone": "+41 44 123 45 67",
            "location": "Zurich",
            "time_zone": "Europe/Zurich",
        },
        "experience": {"years_experience": "5", "specializations": []},
    }
    cases = [
        ("personal", {"full_name": HUGE_TEXT}),
        ("personal", {"full_name": "A" * 151}),
        ("personal", {"location": EMOJI_TEXT}),
        ("personal", {"phone": "9" * 10_000}),
        ("personal", {"time_zone": "Mars/Base"}),
        ("experience", {"years_experience": str(2**31)}),
        ("experience", {"years_experience": "²"}),
        ("experience", {"other_certifications": HUGE_TEXT}),
    ]
    failures = Failures()
    for step, change in cases:
        response = client.post(
            reverse("coaches:application_step", args=[step]), {**steps[step], **change}
        )
        form = response.context.get("form") if response.context else None
        failures.check(
            f"{step} {repr(change)[:50]}",
            response.status_code in (200, 400) and form is not None and bool(form.errors),
            response.status_code,
        )
    failures.assert_none()
    assert CoachApplication.objects.filter(coach=coach).values().get() == application_before


# --- search --------------------------------------------------------------------------------


SEARCH_CASES = [
    {"min_price": "1e30"},
    {"max_price": "9" * 10_000},
    {"min_price": "NaN"},
    {"min_price": "-1"},
    {"day": "9999-12-31"},
    {"day": "0001-01-01", "tz": "Pacific/Kiritimati"},
    {"day": "2030-02-30"},
    {"day": "2030-03-01", "from_time": "25:00"},
    {"tz": "Mars/Base"},
    {"tz": HUGE_TEXT},
    {"q": HUGE_TEXT},
    {"free_within_days": "99999999999"},
    {"min_rating": "NaN"},
    {"sort": "'; drop table coaches_coachprofile; --"},
]


def test_search_answers_bad_filters_with_a_clear_error(bookable):
    api, page = _api(), _client()
    failures = Failures()
    for params in SEARCH_CASES:
        ok, detail = _json_4xx(api.get("/api/coaches/", params))
        failures.check(f"api {repr(params)[:60]}", ok and detail == "invalid_search", detail)
        response = page.get(reverse("coaches:search"), params)
        form = response.context.get("form") if response.context else None
        failures.check(
            f"page {repr(params)[:60]}",
            response.status_code == 200 and form is not None and bool(form.errors),
            response.status_code,
        )
    failures.assert_none()


# --- payouts and the local Stripe's account ------------------------------------------------


@pytest.fixture
def active_coach(local_stripe, django_capture_on_commit_callbacks) -> ConnectedAccount:
    profile = CoachProfile.objects.create(
        user=CoachUserFactory(), slug="payout-coach", is_approved=True
    )
    with django_capture_on_commit_callbacks(execute=True):
        account = connect.connected_account_create(coach=profile.user)
        connect.connected_account_onboarding_link(
            coach=profile.user,
            refresh_url="http://testserver/payments/setup/refresh/",
            return_url="http://testserver/payments/setup/return/",
        )
        controls.complete_onboarding(account.stripe_account_id, "complete")
        controls.deliver_pending_events()
    account.refresh_from_db()
    return account


def _stripe_account(account: ConnectedAccount) -> dict[str, Any]:
    stripe_account = stripe_client().v1.accounts.retrieve(account.stripe_account_id)
    return {
        "metadata": stripe_account.metadata.to_dict(),
        "schedule": stripe_account.settings.payouts.schedule.to_dict(),  # type: ignore[union-attr]
    }


def _account_row(account: ConnectedAccount) -> dict[str, Any]:
    row = ConnectedAccount.objects.filter(pk=account.pk).values().get()
    row.pop("last_checked_at")
    return row


def test_a_minimum_payout_beyond_stripes_maximum_is_a_400_and_never_reaches_stripe(
    active_coach,
):
    account = active_coach
    api = _api(account.coach)
    stripe_before, row_before = _stripe_account(account), _account_row(account)
    failures = Failures()
    for value in [*BAD_INTEGERS, 100_000_000, 99_999_999.5]:
        response = api.post(
            "/api/connect/payout-schedule",
            {"interval": "daily", "minimum_amount": value},
            format="json",
        )
        ok, detail = _json_4xx(response)
        unchanged = _stripe_account(account) == stripe_before
        failures.check(repr(value)[:40], ok and response.status_code == 400 and unchanged, detail)
    for name, value in [("monthly_anchor", 2**31), ("monthly_anchor", 0), ("interval", HUGE_TEXT)]:
        ok, detail = _json_4xx(
            api.post(
                "/api/connect/payout-schedule",
                {"interval": "monthly", name: value},
                format="json",
            )
        )
        failures.check(f"{name}={repr(value)[:40]}", ok, detail)
    for change in ({"url": "https://x.test/" + "a" * 600}, {"product_description": HUGE_TEXT}):
        body = {"url": "https://x.test/me", "product_description": "Coaching", **change}
        ok, detail = _json_4xx(api.put("/api/connect/account", body, format="json"))
        failures.check(repr(change)[:40], ok and detail == "invalid", detail)
    failures.assert_none()
    assert _stripe_account(account) == stripe_before
    assert _account_row(account) == row_before
    # the largest minimum is taken, at Stripe too
    response = api.post(
        "/api/connect/payout-schedule",
        {"interval": "daily", "minimum_amount": 99_999_999},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["payout_minimum_amount"] == 99_999_999
    assert _stripe_account(account)["metadata"]["payout_minimum_amount"] == "99999999"


def test_the_payout_form_refuses_a_minimum_stripe_could_not_pay(active_coach):
    account = active_coach
    client = _client(account.coach)
    stripe_before, row_before = _stripe_account(account), _account_row(account)
    failures = Failures()
    for value in BAD_AMOUNTS:
        response = client.post(
            reverse("payments:payout_schedule"),
            {"interval": "daily", "minimum_amount": value},
            follow=True,
        )
        message = _flash(response)
        failures.check(
            value[:40],
            response.status_code == 200
            and "Fix the payout schedule" in message
            and _stripe_account(account) == stripe_before,
            message[:100],
        )
    failures.assert_none()
    assert _stripe_account(account) == stripe_before
    assert _account_row(account) == row_before


def test_a_minimum_no_column_could_hold_in_stripes_metadata_breaks_nothing(
    active_coach, django_capture_on_commit_callbacks
):
    # given: the account's metadata at Stripe holds a minimum written before it was bounded
    account = active_coach
    account.payout_minimum_amount = 500
    account.save(update_fields=["payout_minimum_amount"])
    with django_capture_on_commit_callbacks(execute=True):
        stripe_client().v1.accounts.update(
            account.stripe_account_id,
            params={"metadata": {"payout_minimum_amount": "1" + "0" * 30}},
        )
        # when: the account.updated webhook arrives, and the account is re-read
        controls.deliver_pending_events()
        connect.connected_account_refresh(account=account)
    # then: it is processed, the minimum we had stays, and the next save works
    updates = WebhookEvent.objects.filter(type="account.updated").order_by("-pk")
    assert updates and updates[0].status == WebhookEventStatus.SUCCEEDED, updates[0].last_error
    account.refresh_from_db()
    assert account.payout_minimum_amount == 500
    response = _api(account.coach).post(
        "/api/connect/payout-schedule",
        {"interval": "daily", "minimum_amount": 2500},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert _stripe_account(account)["metadata"]["payout_minimum_amount"] == "2500"


def test_a_refund_amount_beyond_stripes_maximum_is_a_400(db):
    # staff reach the API from a session that passed the second factor
    api = APIClient(raise_request_exception=False)
    sign_in_with_totp(api, UserFactory(is_staff=True))
    failures = Failures()
    for value in [value for value in BAD_INTEGERS if value != ""] + [0, 100_000_000]:
        response = api.post("/api/payments/1/refund/", {"amount": value}, format="json")
        ok, detail = _json_4xx(response)
        failures.check(repr(value)[:40], ok and detail == "invalid", detail)
    failures.assert_none()
    assert not Refund.objects.exists()
    # a valid amount reaches the payment, which does not exist
    missing = api.post("/api/payments/1/refund/", {"amount": 100}, format="json")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")


# --- bookings' pages -----------------------------------------------------------------------


def test_cancel_issue_and_policy_forms_refuse_bad_text_and_numbers(bookable):
    coach, session_type = bookable
    client_user = UserFactory()
    booking = BookingFactory(
        session_type=session_type,
        client=client_user,
        starts_at=next_hour(days=-2),
        ends_at=next_hour(days=-2) + timedelta(hours=1),
    )
    client = _client(client_user)
    failures = Failures()
    for url, data in [
        (reverse("bookings:cancel", args=[booking.pk]), {"reason": HUGE_TEXT}),
        (reverse("bookings:issue", args=[booking.pk]), {"description": HUGE_TEXT}),
        (reverse("bookings:issue", args=[booking.pk]), {"description": EMOJI_TEXT}),
    ]:
        response = client.post(url, data, follow=True)
        failures.check(url, response.status_code == 200 and _flash(response), response)
    coach_client = _client(coach.user)
    good_policy = {
        "free_cancellation_hours": 24,
        "late_cancellation_refund_percent": 50,
        "after_start_refund_percent": 0,
        "no_show_refund_percent": 0,
        "free_reschedule_hours": 24,
        "max_reschedules": 2,
    }
    bad_policy = [
        (name, value)
        for name in ("free_cancellation_hours", "late_cancellation_refund_percent")
        for value in ("-1", str(2**31), "1e30", "NaN", "²", "9" * 10_000)
    ]
    bad_policy += [("late_cancellation_refund_percent", "101"), ("no_show_refund_percent", "500")]
    bad_policy += [("max_reschedules", str(2**15)), ("max_reschedules", "-1")]
    for name, value in bad_policy:
        response = coach_client.post(reverse("bookings:policy"), {**good_policy, name: value})
        form = response.context.get("form") if response.context else None
        failures.check(
            f"policy {name}={value[:20]}",
            response.status_code == 200 and form is not None and name in form.errors,
            response.status_code,
        )
    failures.assert_none()
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    assert (booking.issue_description, booking.cancellation_reason) == ("", "")
    assert not CancellationPolicy.objects.filter(coach=coach).exists()


def test_ids_beyond_any_row_are_404s(bookable):
    user = UserFactory()
    page, api = _client(user), _api(user)
    huge = "9" * 30
    failures = Failures()
    for url in (f"/bookings/{huge}/", f"/bookings/{huge}/receipt/", f"/messages/{huge}/"):
        response = page.get(url)
        failures.check(url, response.status_code == 404, response.status_code)
    for url in (
        f"/api/coaches/{huge}/",
        f"/api/bookings/{huge}/",
        f"/api/messages/threads/{huge}/",
    ):
        ok, detail = _json_4xx(api.get(url))
        failures.check(url, ok, detail)
    ok, detail = _json_4xx(api.post(f"/api/bookings/{huge}/cancel/", {}, format="json"))
    failures.check("cancel", ok, detail)
    failures.assert_none()


# --- messaging -----------------------------------------------------------------------------


def test_messaging_refuses_bad_numbers_and_text(bookable):
    coach, _session_type = bookable
    client_user = UserFactory()
    thread = messaging.thread_open(by=client_user, coach=coach.user)
    messaging.message_send(thread=thread, sender=coach.user, body="Hello")
    api, page = _api(client_user), _client(client_user)
    failures = Failures()
    for value in BAD_INTEGERS:
        if isinstance(value, list | dict):
            continue
        # the page's "older messages" cursor falls back to the newest page
        response = page.get(reverse("messaging:thread", args=[thread.pk]), {"before": value})
        failures.check(
            f"thread page before={repr(value)[:30]}", response.status_code == 200, response
        )
    before = _rows(Thread, Message)
    read_before = list(ReadState.objects.values_list("pk", "last_read_seq"))
    for value in BAD_INTEGERS:
        if value == "":
            continue
        for name in ("coach", "booking"):
            ok, detail = _json_4xx(api.post("/api/messages/threads/", {name: value}, format="json"))
            failures.check(f"open {name}={repr(value)[:30]}", ok, detail)
        ok, detail = _json_4xx(
            api.post(
                f"/api/messages/threads/{thread.pk}/read/", {"up_to_seq": value}, format="json"
            )
        )
        failures.check(f"read {repr(value)[:30]}", ok, detail)
        if isinstance(value, list | dict):
            continue
        for name in ("before", "after", "limit"):
            ok, detail = _json_4xx(api.get(f"/api/messages/threads/{thread.pk}/", {name: value}))
            failures.check(f"page {name}={repr(value)[:30]}", ok, detail)
    for body in (HUGE_TEXT, EMOJI_TEXT):
        ok, detail = _json_4xx(
            api.post(f"/api/messages/threads/{thread.pk}/messages/", {"body": body}, format="json")
        )
        failures.check(f"send {body[:10]!r}", ok, detail)
        ok, detail = _json_4xx(
            api.post(
                "/api/messages/threads/", {"coach": coach.user.pk, "body": body}, format="json"
            )
        )
        failures.check(f"open with {body[:10]!r}", ok, detail)
    failures.assert_none()
    assert _rows(Thread, Message) == before
    assert list(ReadState.objects.values_list("pk", "last_read_seq")) == read_before
