"""Messaging fixtures: people, a thread, and an ASGI live server that speaks WebSocket."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tests.factories import CoachUserFactory, UserFactory
from tests.messaging.factories import ThreadFactory


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    """Factories hash a password per user; the default hasher is slow on purpose."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _publisher_drained() -> Iterator[None]:
    """Announcements run on a publisher thread: let them finish and drop its connection."""
    yield
    from messaging import realtime

    realtime.flush()


@pytest.fixture
def client_user():
    return UserFactory(first_name="Chloe", last_name="Client", time_zone="Europe/London")


@pytest.fixture
def coach_user():
    return CoachUserFactory(first_name="Maya", last_name="Brooks", time_zone="America/New_York")


@pytest.fixture
def outsider():
    return UserFactory(first_name="Oscar", last_name="Outsider")


@pytest.fixture
def thread(client_user, coach_user):
    return ThreadFactory(client=client_user, coach=coach_user)


class AsgiServer:
    """uvicorn serving ``marketplace.asgi:application`` (or the given ASGI application) in a
    thread of the test process."""

    def __init__(self, application=None) -> None:
        import uvicorn

        if application is None:
            from marketplace.asgi import application

        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            application,
            log_level="warning",
            lifespan="off",
            ws="websockets-sansio",
            access_log=False,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    def start(self) -> AsgiServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()


@pytest.fixture
def asgi_live_server(transactional_db) -> Iterator[AsgiServer]:
    """A live server for browser and WebSocket tests; the data it reads must be committed."""
    server = AsgiServer().start()
    try:
        yield server
    finally:
        server.stop()


def session_cookie(user) -> str:
    """A signed-in session for ``user`` (committed, so a server thread can read it)."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value
