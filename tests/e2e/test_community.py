"""Community in Chromium against uvicorn (HTTP + WebSocket): acceptance 1 (an invite-only
group, a live reply, a stranger who sees nothing), 3 (XSS payloads render inert) and the
live side of 4 (a hidden reply leaves the viewers' pages)."""

from __future__ import annotations

import json
import re
import threading
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from playwright.sync_api import expect
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from messaging import realtime
from messaging.community import selectors
from messaging.community.models import Discussion, Group, Image, Membership, Reply
from messaging.community.services import moderation, posts
from tests.conftest import wait_for
from tests.factories import UserFactory
from tests.messaging.community.factories import (
    add_member,
    booked_client,
    coach_group,
    verified_coach,
)
from tests.messaging.community.test_services import PNG
from tests.messaging.conftest import AsgiServer, session_cookie

pytestmark = pytest.mark.browser


@pytest.fixture
def community_server(transactional_db, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    settings.COMMUNITY_POST_RATE_LIMIT = "1000/m"
    server = AsgiServer().start()
    yield server
    server.stop()
    realtime.flush()


def signed_in_page(browser, server: AsgiServer, user, errors: list[str] | None = None, **size):
    context = browser.new_context(
        base_url=server.url, timezone_id="Europe/Zurich", viewport=size or None
    )
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


def wait_live(page) -> None:
    # Locators, not wait_for_function: the strict CSP forbids the eval the latter relies on.
    page.locator("html[data-community-socket='open']").wait_for(state="attached")


def in_thread(work) -> None:
    """Run ``work`` (which writes and announces) in a plain thread: Playwright's loop owns
    the test thread, and the services push with async_to_sync, as a request thread does."""
    failures: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as error:
            failures.append(error)
        finally:
            connection.close()

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    assert not failures, failures


def test_an_invite_only_group_talks_live_and_a_stranger_sees_nothing(
    browser, community_server, tmp_path
):
    # given: a verified coach, a client who booked with them, and a third person
    coach = verified_coach(first_name="Maya", last_name="Brooks")
    client = booked_client(coach, first_name="Chloe", last_name="Client")
    stranger = UserFactory(first_name="Sam", last_name="Stranger")
    coach_page = signed_in_page(browser, community_server, coach)
    client_page = signed_in_page(browser, community_server, client)

    # when: the coach creates an invite-only group from the Community page
    coach_page.goto("/community/")
    coach_page.get_by_role("link", name="Create a group").click()
    coach_page.get_by_label("Name").fill("Marathon circle")
    coach_page.get_by_label("Description").fill("For the spring marathon")
    coach_page.get_by_label("Invite only", exact=False).check()
    coach_page.get_by_role("button", name="Create the group").click()
    expect(coach_page.locator("#group-title")).to_have_text("Marathon circle")
    group = Group.objects.get(name="Marathon circle")
    assert group.access == "invite"
    # and invites the client from the members page
    coach_page.get_by_role("link", name=re.compile(r"^Members \(\d+\)$")).click()
    coach_page.get_by_label("Invite a client who booked").select_option(str(client.pk))
    coach_page.get_by_role("button", name="Invite").click()
    expect(coach_page.locator(f"#member-{client.pk}")).to_contain_text("Invited")

    # then: the client finds the invitation, joins and starts a discussion with an image
    client_page.goto("/community/")
    client_page.get_by_role("link", name="Marathon circle").click()
    client_page.get_by_role("button", name="Accept the invitation").click()
    assert Membership.objects.get(group=group, user=client).state == "member"
    client_page.get_by_role("link", name="Start a discussion").click()
    client_page.get_by_label("Title").fill("Long runs before race day")
    client_page.get_by_label("Text").fill("How long should my **last** long run be?")
    image = tmp_path / "route.png"
    image.write_bytes(PNG)
    client_page.get_by_label("Images").set_input_files(str(image))
    client_page.get_by_role("button", name="Publish").click()
    expect(client_page.locator("#discussion-title")).to_have_text("Long runs before race day")
    discussion = Discussion.objects.get(title="Long runs before race day")
    picture = Image.objects.get(discussion=discussion)
    assert client_page.locator(".discussion-body strong").inner_text() == "last"

    # when: the coach opens it and replies, the client's open page shows the reply live
    wait_live(client_page)
    coach_page.goto(f"/community/groups/{group.pk}/")
    coach_page.get_by_role("link", name="Long runs before race day").click()
    wait_live(coach_page)
    coach_page.get_by_label("Your reply").fill("About 30 km, three weeks before.")
    started = time.monotonic()
    coach_page.get_by_role("button", name="Reply", exact=True).click()
    client_page.locator("#reply-list .post-body", has_text="About 30 km").wait_for(timeout=1000)
    assert time.monotonic() - started < 1.0
    assert Reply.objects.filter(discussion=discussion).count() == 1
    # reactions count live too
    client_page.locator("#reply-1 button.reaction[data-kind='thanks']").click()
    expect(coach_page.locator("#reply-1 button[data-kind='thanks'] .reaction-count")).to_have_text(
        "1"
    )

    # then: the stranger sees nothing, by URL, by API or by WebSocket
    stranger_page = signed_in_page(browser, community_server, stranger)
    stranger_page.goto("/community/")
    assert "Marathon circle" not in stranger_page.content()
    for url in (
        f"/community/groups/{group.pk}/",
        f"/community/discussions/{discussion.pk}/",
        f"/community/discussions/{discussion.pk}/images/{picture.pk}/",
        f"/api/community/groups/{group.pk}/",
        f"/api/community/groups/{group.pk}/discussions/",
        f"/api/community/discussions/{discussion.pk}/",
        f"/api/community/discussions/{discussion.pk}/replies/",
    ):
        response = stranger_page.request.get(url)
        assert response.status == 404, url
        text = response.text()
        assert "Long runs" not in text and "Marathon circle" not in text and "30 km" not in text
    listing = stranger_page.request.get("/api/community/groups/").json()
    assert all(row["name"] != "Marathon circle" for row in listing["results"])
    headers = {
        "Origin": community_server.url,
        "Cookie": f"sessionid={session_cookie(stranger)}",
    }
    for path in (
        f"/ws/community/discussions/{discussion.pk}/",
        f"/ws/community/groups/{group.pk}/",
    ):
        with pytest.raises(InvalidStatus) as refused:
            connect(community_server.ws_url + path, additional_headers=headers).close()
        assert refused.value.response.status_code == 403


XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(2)>",
    "<svg onload=alert(3)>",
    '"><script>alert(4)</script>',
    "'><img src=x onerror=alert(5)>",
    '<iframe src="javascript:alert(6)"></iframe>',
    '<a href="javascript:alert(7)">click</a>',
    "[click](javascript:alert(8))",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCg5KTwvc2NyaXB0Pg==)",
    "![img](x onerror=alert(10))",
    "<details open ontoggle=alert(11)>",
    "<input autofocus onfocus=alert(12)>",
    '<object data="javascript:alert(13)"></object>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(14)>",
    '<div style="background:url(javascript:alert(15))">x</div>',
    "<scr<script>ipt>alert(16)</scr</script>ipt>",
    "&lt;script&gt;alert(17)&lt;/script&gt;",
    '[a](http://example.com/" onmouseover="alert(18))',
    "http://example.com/?q=<script>alert(19)</script>",
    "`<script>alert(20)</script>`",
    '<base href="javascript:alert(21)//">',
    "{{7*7}} ${alert(22)} <!--<img src=x onerror=alert(22)>-->",
    "@<img src=x onerror=alert(23)>",
    "[x](vbscript:alert(24))",
]


def test_xss_payloads_in_titles_bodies_group_names_and_file_names_render_inert(
    browser, community_server
):
    # given: a group named with a payload, and every payload as a discussion's title and
    # body, an image's file name and a reply
    assert len(XSS_PAYLOADS) >= 20
    coach = verified_coach(first_name="Maya", last_name="Brooks")
    reader = booked_client(coach)
    group = coach_group(coach, name='<img src=x onerror=alert("group")>')
    add_member(group, reader)
    access = selectors.access_for(group=group, user=coach)
    discussions = [
        posts.discussion_start(
            access=access,
            author=coach,
            title=payload[:200],
            body=payload,
            # a file name is kept without its folders: payloads without "/" stay whole
            images=[SimpleUploadedFile(f"{XSS_PAYLOADS[1]} {index}.png", PNG)],
        )
        for index, payload in enumerate(XSS_PAYLOADS[:4])
    ]
    target = discussions[0]
    for payload in XSS_PAYLOADS[4:]:
        posts.discussion_start(access=access, author=coach, title=payload[:200], body=payload)
    errors: list[str] = []
    writer = signed_in_page(browser, community_server, coach, errors)
    viewer = signed_in_page(browser, community_server, reader, errors)

    # when: the pages are shown, and the payloads are posted as replies live
    viewer.goto("/community/")
    expect(viewer.locator(".group-name").first).to_have_text(group.name)
    viewer.goto(f"/community/groups/{group.pk}/")
    titles = viewer.locator("#discussion-list .discussion-title").all_inner_texts()
    # the newest 20 on the first page
    assert sorted(t.strip() for t in titles) == sorted(p[:200] for p in XSS_PAYLOADS[-20:])
    viewer.goto(f"/community/discussions/{target.pk}/")
    writer.goto(f"/community/discussions/{target.pk}/")
    wait_live(viewer)
    wait_live(writer)
    box = writer.get_by_label("Your reply")
    for payload in XSS_PAYLOADS:
        box.fill(payload)
        writer.get_by_role("button", name="Reply", exact=True).click()
        expect(box).to_have_value("")

    # then: live on the viewer's page and after a reload, nothing ran and no element came
    # from a payload; links are only http(s)
    wait_for(lambda: viewer.locator("#reply-list li.reply").count() == len(XSS_PAYLOADS))
    for page in (viewer, viewer):
        injected = page.locator(
            ".post-body :is(script, img, svg, iframe, input, object, embed, math, div, details,"
            " style, base, template, form, table)"
        )
        assert injected.count() == 0
        hrefs = page.locator(".post-body a").evaluate_all(
            "links => links.map(link => link.getAttribute('href'))"
        )
        assert all(href.startswith(("http://", "https://", "mailto:")) for href in hrefs), hrefs
        viewer.reload()
    assert viewer.locator("#reply-list li.reply").count() == len(XSS_PAYLOADS)
    assert viewer.locator("#discussion-title").inner_text() == XSS_PAYLOADS[0]
    alts = viewer.locator(".discussion-images img").evaluate_all(
        "images => images.map(image => image.getAttribute('alt'))"
    )
    assert alts == [f"Image: {XSS_PAYLOADS[1]} 0.png"]
    viewer.goto(f"/community/groups/{group.pk}/members/")
    viewer.goto("/community/notifications/")
    writer.wait_for_timeout(300)
    assert errors == []


def test_a_hidden_reply_leaves_the_viewers_page_live(browser, community_server):
    coach = verified_coach(first_name="Maya", last_name="Brooks")
    author = booked_client(coach, first_name="Rude", last_name="Poster")
    viewer_user = booked_client(coach, first_name="Vera", last_name="Viewer")
    group = coach_group(coach)
    add_member(group, author)
    add_member(group, viewer_user)
    discussion = posts.discussion_start(
        access=selectors.access_for(group=group, user=coach),
        author=coach,
        title="Race week",
        body="Questions?",
    )
    reply = posts.reply_post(
        access=selectors.access_for(group=group, user=author),
        discussion=discussion,
        author=author,
        body="something nasty",
    )
    viewer = signed_in_page(browser, community_server, viewer_user)
    viewer.goto(f"/community/discussions/{discussion.pk}/")
    wait_live(viewer)
    expect(viewer.locator("#reply-1")).to_be_visible()

    in_thread(
        lambda: moderation.post_moderate(
            access=selectors.access_for(group=group, user=coach),
            moderator=coach,
            post=reply,
            action="hide",
            reason="Insults break rule 1",
        )
    )
    expect(viewer.locator("#reply-1")).to_have_count(0, timeout=2000)
    viewer.reload()
    assert viewer.locator("#reply-1").count() == 0
    socket_url = f"{community_server.ws_url}/ws/community/discussions/{discussion.pk}/"
    assert (
        json.loads(
            connect(
                socket_url,
                additional_headers={
                    "Origin": community_server.url,
                    "Cookie": f"sessionid={session_cookie(viewer_user)}",
                },
            ).recv(timeout=5)
        )["kind"]
        == "hello"
    )
