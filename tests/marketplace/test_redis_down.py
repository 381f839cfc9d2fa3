"""A stopped Redis (connections refused): the cache answers misses instead of raising, rate
limits let requests through, and /healthz says which part fails without internal detail."""

from __future__ import annotations

import logging
import uuid

import pytest
from django.core.cache import cache, caches
from redis.exceptions import ConnectionError as RedisConnectionError
from rest_framework.authtoken.models import Token

from marketplace.cache import FailOpenRedisCache
from marketplace.circuit import Circuit
from messaging import services as messaging
from messaging.models import Message
from tests.factories import UserFactory
from tests.messaging.factories import ThreadFactory
from tests.mfa import PASSWORD, give_totp, sign_in_with_totp, totp_code


def _no_redis() -> str:
    """A unix socket nobody listens on: every connection is refused at once."""
    return f"unix:///tmp/cc-no-redis-{uuid.uuid4().hex[:12]}.sock"


@pytest.fixture
def redis_down(settings) -> str:
    """The cache of this test on a Redis that is not there."""
    location = _no_redis()
    default = settings.CACHES["default"]
    settings.CACHES = {**settings.CACHES, "default": {**default, "LOCATION": location}}
    return location


def test_the_cache_is_the_fail_open_backend_and_works_on_a_live_redis():
    assert isinstance(caches["default"], FailOpenRedisCache)
    cache.set("answer", 42)
    assert cache.get("answer") == 42
    assert cache.add("answer", 1) is False
    assert cache.incr("answer") == 43
    assert cache.get_many(["answer", "missing"]) == {"answer": 43}
    assert cache.has_key("answer") and cache.delete("answer")
    cache.ping()


def test_a_stopped_redis_gives_misses_not_errors(redis_down, caplog):
    caplog.set_level(logging.WARNING, logger="marketplace.circuit")
    # when / then: every call answers as a miss
    assert cache.get("key") is None
    assert cache.get("key", "fallback") == "fallback"
    assert cache.get_many(["a", "b"]) == {}
    assert cache.has_key("key") is False
    assert cache.get_or_set("key", "computed") == "computed"
    cache.set("key", 1)
    cache.delete_many(["a"])
    assert cache.set_many({"a": 1, "b": 2}) == ["a", "b"]  # the keys not stored
    # a counter that cannot be read counts from the start, so a rate limit lets it through
    assert cache.add("counter", 0) is True
    assert cache.incr("counter", 3) == 3
    with pytest.raises(RedisConnectionError):
        cache.ping()
    # and the outage is logged once, not once per call
    warnings = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(warnings) == 1
    assert redis_down in warnings[0].getMessage()


def test_a_used_totp_code_cannot_be_vouched_for_without_redis(redis_down):
    # allauth marks a code used with add(): unknown, the code is refused, not accepted twice
    assert cache.add("allauth.mfa.totp.used?user=1&code=123456", "y") is False
    assert cache.add("allauth.rl:lock", True) is True


def test_after_a_failure_the_cache_stops_asking_redis_for_a_while():
    backend = FailOpenRedisCache(
        _no_redis(), {"OPTIONS": {"RETRY_AFTER": 3600, "socket_timeout": 0.3}}
    )
    assert backend.circuit.allows()
    assert backend.get("key") is None
    # then: the circuit is open; Redis is not asked again within the hour
    assert backend.circuit.failing and not backend.circuit.allows()
    assert backend.get("key", "miss") == "miss"


def test_a_circuit_lets_one_caller_try_again_and_closes_when_it_succeeds(caplog):
    caplog.set_level(logging.WARNING, logger="marketplace.circuit")
    circuit = Circuit("a service", retry_after=0)
    circuit.failed(ConnectionError("refused"))
    assert circuit.failing
    assert circuit.allows()  # the pause (none here) is over: one caller tries
    circuit.succeeded()
    assert not circuit.failing
    assert [r.getMessage() for r in caplog.records][-1] == "a service answers again"


@pytest.mark.django_db
def test_messages_are_not_rate_limited_into_errors_when_redis_is_down(redis_down, settings):
    # given: a limit of one message a day, and no Redis to count in
    thread = ThreadFactory()
    coach_user = thread.coach
    settings.MESSAGE_RATE_LIMIT = "1/d"
    # when: the coach sends three
    for index in range(3):
        messaging.message_send(thread=thread, sender=coach_user, body=f"n{index}")
    # then: the limit fails open
    assert Message.objects.filter(thread=thread).count() == 3


@pytest.mark.django_db
def test_signing_in_and_the_api_work_with_redis_down(redis_down, client):
    user = UserFactory()
    # a wrong password is answered with the form, not a 500
    wrong = client.post("/accounts/login/", {"login": user.email, "password": "wrong"})
    assert wrong.status_code == 200
    assert b"not correct" in wrong.content
    # the right one signs in
    right = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert right.status_code == 302
    # the API's throttles count in the cache too
    token = Token.objects.create(user=UserFactory()).key
    api = client.get("/api/coaches/", HTTP_AUTHORIZATION=f"Token {token}")
    assert api.status_code == 200, api.content


@pytest.mark.django_db
def test_staff_cannot_pass_the_totp_step_while_redis_is_down(client, settings):
    # given: staff with TOTP, and the cache gone after the password step
    staff = UserFactory(is_staff=True)
    give_totp(staff)
    login = client.post("/accounts/login/", {"login": staff.email, "password": PASSWORD})
    assert login["Location"] == "/accounts/2fa/authenticate/"
    default = settings.CACHES["default"]
    settings.CACHES = {**settings.CACHES, "default": {**default, "LOCATION": _no_redis()}}
    # when
    step = client.post("/accounts/2fa/authenticate/", {"code": totp_code()})
    # then: a code whose use cannot be recorded is refused (recovery codes still work)
    assert step.status_code == 200


@pytest.mark.django_db
def test_healthz_names_redis_to_anyone_and_shows_the_error_to_staff_only(client, settings):
    # given: staff signed in while Redis was there
    staff = UserFactory(is_staff=True)
    sign_in_with_totp(client, staff)
    location = _no_redis()
    default = settings.CACHES["default"]
    settings.CACHES = {**settings.CACHES, "default": {**default, "LOCATION": location}}
    # when: an anonymous visitor asks
    anonymous = client.__class__().get("/healthz")
    # then: 503, which part fails, and nothing else
    assert anonymous.status_code == 503
    body = anonymous.json()
    assert "redis" in body["failing"] and body["redis"] == {"ok": False}
    assert body["database"] == {"ok": True}
    assert location.removeprefix("unix://") not in anonymous.content.decode()
    assert "error" not in anonymous.content.decode().lower()
    # and staff see the error
    staff_view = client.get("/healthz")
    assert staff_view.status_code == 503
    assert staff_view.json()["redis"]["error"]
