"""Messaging in Chromium against uvicorn (HTTP + WebSocket): acceptance 1 and 3, and the
polling fallback when the socket drops."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection
from playwright.sync_api import expect

from messaging import realtime, services
from messaging.models import Message
from tests.conftest import wait_for
from tests.factories import CoachUserFactory, UserFactory
from tests.messaging.conftest import AsgiServer, session_cookie
from tests.messaging.factories import ThreadFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def messaging_server(transactional_db):
    """uvicorn in a thread: pytest-django's live_server does not speak WebSocket."""
    server = AsgiServer().start()
    yield server
    server.stop()
    realtime.flush()


def signed_in_page(browser, server: AsgiServer, user, errors: list[str] | None = None):
    context = browser.new_context(base_url=server.url, timezone_id="Europe/Zurich")
    context.set_default_timeout(15_000)
    context.add_cookies([{"name": "sessionid", "value": session_cookie(user), "url": server.url}])
    page = context.new_page()
    if errors is not None:
        page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))
        page.on(
            "console",
            lambda message: (
                errors.append(f"console: {message.text}")
                if message.type == "error" and "Failed to load resource" not in message.text
                else None
            ),
        )
        page.on(
            "dialog", lambda dialog: (errors.append(f"dialog: {dialog.message}"), dialog.dismiss())
        )
    return page


def wait_live(page, mode: str = "socket") -> None:
    # Locators, not wait_for_function: the strict CSP forbids the eval the latter relies on.
    page.locator("html[data-messaging-socket='open']").wait_for(state="attached")
    if page.locator("#conversation").count():
        page.locator(f"#conversation[data-live='{mode}']").wait_for(state="attached")


def test_a_message_appears_in_the_other_open_page_within_a_second_and_the_badge_changes(
    browser, messaging_server
):
    # given: a client and a coach, each in their own browser context
    client_user = UserFactory(first_name="Chloe", last_name="Client")
    coach_user = CoachUserFactory(first_name="Maya", last_name="Brooks")
    thread = ThreadFactory(client=client_user, coach=coach_user)
    client_page = signed_in_page(browser, messaging_server, client_user)
    coach_page = signed_in_page(browser, messaging_server, coach_user)
    client_page.goto(f"/messages/{thread.pk}/")
    coach_page.goto(f"/messages/{thread.pk}/")
    wait_live(client_page)
    wait_live(coach_page)

    # when: the client sends
    client_page.get_by_label("Message", exact=True).fill("Hi Maya, are you free on Tuesday?")
    started = time.monotonic()
    client_page.get_by_role("button", name="Send").click()
    # then: the coach sees it without a reload, within one second
    coach_page.locator(".message-body", has_text="are you free on Tuesday?").wait_for(timeout=1000)
    assert time.monotonic() - started < 1.0
    # and the client's message shows "Seen" once the coach's open page has read it
    client_page.locator("li.message-mine .seen").wait_for(state="visible", timeout=3000)

    # when: the coach is on the inbox and the client writes again
    coach_page.goto("/messages/")
    wait_live(coach_page)
    badge = coach_page.locator("#unread-badge")
    assert badge.inner_text() == ""
    client_page.get_by_label("Message", exact=True).fill("And could we talk about goals?")
    started = time.monotonic()
    client_page.get_by_role("button", name="Send").click()
    # then: the coach's unread badge goes to 1 live, and the thread's row too
    expect(badge).to_have_text("1", timeout=1000)
    assert time.monotonic() - started < 1.0
    assert coach_page.locator(f'[data-thread-unread="{thread.pk}"]').inner_text() == "1"

    # when: the coach opens the conversation and replies
    coach_page.get_by_role("link", name="Chloe Client").click()
    assert coach_page.locator("#unread-badge").inner_text() == ""
    wait_live(coach_page)
    coach_page.get_by_label("Message", exact=True).fill(
        "Tuesday works, see https://example.com/plan"
    )
    started = time.monotonic()
    coach_page.get_by_role("button", name="Send").click()
    reply = client_page.locator(".message-body", has_text="Tuesday works")
    reply.wait_for(timeout=1000)
    assert time.monotonic() - started < 1.0
    link = reply.get_by_role("link", name="https://example.com/plan")
    assert link.get_attribute("rel") == "nofollow noopener"
    # the client has the page open, so the reply is read at once and the badge stays empty
    expect(client_page.locator("#unread-badge")).to_have_text("")
    assert [m.seq for m in Message.objects.filter(thread=thread)] == [1, 2, 3]


XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(2)>",
    "<svg onload=alert(3)>",
    "<svg><script>alert(4)</script></svg>",
    '"><script>alert(5)</script>',
    "'><img src=x onerror=alert(6)>",
    "<body onload=alert(7)>",
    '<iframe src="javascript:alert(8)"></iframe>',
    '<a href="javascript:alert(9)">click me</a>',
    "javascript:alert(10)",
    "<details open ontoggle=alert(11)>",
    "<input autofocus onfocus=alert(12)>",
    "<video><source onerror=alert(13)></video>",
    "<audio src=x onerror=alert(14)>",
    "<marquee onstart=alert(15)>x</marquee>",
    '<object data="javascript:alert(16)"></object>',
    '<embed src="javascript:alert(17)">',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(18)>",
    '<div style="background:url(javascript:alert(19))">x</div>',
    '<form action="javascript:alert(20)"><button>go</button></form>',
    "<scr<script>ipt>alert(21)</scr</script>ipt>",
    "&lt;script&gt;alert(22)&lt;/script&gt;",
    "<IMG SRC=JaVaScRiPt:alert(23)>",
    '<a href="http://example.com/" onmouseover="alert(24)">hover</a>',
    "http://example.com/?q=<script>alert(25)</script>",
    'https://example.com/"onmouseover="alert(26)',
    "<template><img src=x onerror=alert(27)></template>",
    '<noscript><p title="</noscript><img src=x onerror=alert(28)>">',
    '<base href="javascript:alert(29)//">',
    "{{7*7}} ${alert(30)} <!--<img src=x onerror=alert(30)>-->",
]


def test_thirty_xss_payloads_run_nothing_and_show_as_text(browser, messaging_server, settings):
    # given: both sides open, listening for dialogs, page errors and console errors (a CSP
    # violation would mean markup got through the escaping)
    settings.MESSAGE_RATE_LIMIT = "200/m"
    assert len(XSS_PAYLOADS) == 30
    thread = ThreadFactory()
    errors: list[str] = []
    sender_page = signed_in_page(browser, messaging_server, thread.coach, errors)
    reader_page = signed_in_page(browser, messaging_server, thread.client, errors)
    sender_page.goto(f"/messages/{thread.pk}/")
    reader_page.goto(f"/messages/{thread.pk}/")
    wait_live(sender_page)
    wait_live(reader_page)

    # when: every payload is typed and sent through the page
    box = sender_page.get_by_label("Message", exact=True)
    for payload in XSS_PAYLOADS:
        box.fill(payload)
        sender_page.get_by_role("button", name="Send").click()
        expect(box).to_have_value("")

    # then: live-inserted on both pages, and server-rendered after a reload, each one is text
    def shown(page) -> list[str]:
        return page.locator("#message-list .message-body").all_inner_texts()

    wait_for(lambda: len(shown(reader_page)) == 30, timeout=15)
    assert [text.strip() for text in shown(sender_page)] == XSS_PAYLOADS
    assert [text.strip() for text in shown(reader_page)] == XSS_PAYLOADS
    reader_page.reload()
    assert [text.strip() for text in shown(reader_page)] == XSS_PAYLOADS
    # only the two real http(s) URLs became links, and no element came from a payload
    hrefs = reader_page.locator("#message-list .message-body a").evaluate_all(
        "links => links.map(link => link.getAttribute('href'))"
    )
    assert hrefs and all(href.startswith(("http://", "https://")) for href in hrefs), hrefs
    injected = reader_page.locator(
        "#message-list .message-body :is(script, img, svg, iframe, input, object, embed,"
        " video, audio, form, details, marquee, base, template, math, div, body)"
    )
    assert injected.count() == 0
    sender_page.wait_for_timeout(300)
    assert errors == []
    assert Message.objects.filter(thread=thread).count() == 30


def send(thread, sender, body: str) -> None:
    """Post as ``sender`` from a plain thread: Playwright's loop owns the test thread, and the
    service pushes to the channel layer with async_to_sync, as a request thread does."""
    failures: list[BaseException] = []

    def run() -> None:
        try:
            services.message_send(thread=thread, sender=sender, body=body)
        except BaseException as error:
            failures.append(error)
        finally:
            connection.close()

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    assert not failures, failures


FAKE_SOCKET = """() => {
  window.__realWebSocket = window.__realWebSocket || window.WebSocket;
  window.WebSocket = class extends EventTarget {
    constructor() {
      super();
      this.readyState = 3;
      setTimeout(() => this.dispatchEvent(new Event("close")), 0);
    }
    send() {}
    close() {}
  };
  window.coachConversation.socket.socket.close();
}"""


def test_when_the_socket_drops_the_page_polls_and_loses_or_doubles_nothing(
    browser, messaging_server, settings
):
    # given: the coach's conversation is open and live
    settings.MESSAGE_RATE_LIMIT = "200/m"
    settings.MESSAGES_BEFORE_BOOKING_LIMIT = 100
    thread = ThreadFactory()
    page = signed_in_page(browser, messaging_server, thread.coach)
    page.goto(f"/messages/{thread.pk}/")
    wait_live(page)
    send(thread, thread.client, "live 1")
    page.locator(".message-body", has_text="live 1").wait_for(timeout=2000)

    # when: the socket drops and cannot reconnect
    page.evaluate(FAKE_SOCKET)
    page.locator("#conversation[data-live='polling']").wait_for(state="attached")
    assert "checking for new messages" in page.locator("#connection-status").inner_text()
    for index in range(2, 6):
        send(thread, thread.client, f"while offline {index}")
    # then: polling brings them, in order
    page.locator(".message-body", has_text="while offline 5").wait_for(timeout=8000)

    # when: the socket comes back while more messages arrive
    page.evaluate("() => { window.WebSocket = window.__realWebSocket; }")
    for index in range(6, 9):
        send(thread, thread.client, f"reconnecting {index}")
    wait_live(page)
    send(thread, thread.client, "live again 9")
    page.locator(".message-body", has_text="live again 9").wait_for(timeout=3000)

    # then: every message exactly once, in order
    seqs = page.locator("#message-list li[data-seq]").evaluate_all(
        "items => items.map(item => Number(item.dataset.seq))"
    )
    assert seqs == list(range(1, 10))
    assert page.locator("#connection-status").inner_text() == ""
