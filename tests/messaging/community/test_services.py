"""Community services: groups, membership, posting rules, moderation, notifications."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from marketplace.errors import DomainError, NotAllowed, NotFound
from marketplace.models import StatusChange
from messaging import services as messaging_services
from messaging.community import selectors
from messaging.community.models import (
    Discussion,
    Follow,
    GroupAccess,
    HeldWord,
    Image,
    MembershipState,
    ModerationAction,
    Notification,
    PostStatus,
    Reply,
    Report,
    Revision,
)
from messaging.community.services import (
    groups,
    memberships,
    moderation,
    notifications,
    posts,
    reactions,
)
from tests.factories import UserFactory
from tests.messaging.community.factories import (
    add_member,
    booked_client,
    coach_group,
    make_discussion,
    topic_group,
    verified_coach,
)

pytestmark = pytest.mark.django_db

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


def png(name="photo.png"):
    return SimpleUploadedFile(name, PNG, content_type="image/png")


def access(group, user):
    return selectors.access_for(group=group, user=user)


@pytest.fixture
def coach():
    return verified_coach(first_name="Maya", last_name="Brooks")


@pytest.fixture
def group(coach):
    return coach_group(coach)


@pytest.fixture
def client_member(coach, group):
    client = booked_client(coach, first_name="Chloe", last_name="Client")
    add_member(group, client)
    return client


def test_only_verified_coaches_and_staff_create_groups(coach):
    group = groups.group_create(by=coach, name="Runners", access=GroupAccess.REQUEST)
    assert (group.kind, group.owner, group.member_count) == ("coach", coach, 1)
    assert access(group, coach).is_owner
    with pytest.raises(NotAllowed):
        groups.group_create(by=UserFactory(), name="Mine")
    unverified = verified_coach()
    unverified.coach_profile.is_approved = False
    unverified.coach_profile.save()
    with pytest.raises(NotAllowed):
        groups.group_create(by=unverified, name="Mine")
    staff = UserFactory(is_staff=True, is_superuser=True)
    topic = groups.group_create(by=staff, name="Career change")
    assert (topic.kind, topic.access, topic.owner) == ("topic", "open", None)
    with pytest.raises(DomainError):
        groups.group_create(by=staff, name="Closed topic", access=GroupAccess.INVITE)


def test_a_cover_that_is_not_an_image_is_refused(coach):
    with pytest.raises(DomainError) as refused:
        groups.group_create(
            by=coach, name="Runners", cover=SimpleUploadedFile("cover.png", b"MZ not an image")
        )
    assert "cover" in refused.value.fields


def test_only_clients_who_booked_are_invited_and_an_invitation_is_the_way_in(coach, group):
    client = booked_client(coach)
    stranger = UserFactory()
    with pytest.raises(NotFound):
        memberships.group_join(group=group, user=client)
    with pytest.raises(DomainError) as refused:
        memberships.member_invite(
            group=group, by=access(group, coach), moderator=coach, user=stranger
        )
    assert refused.value.code == "not_a_client"
    memberships.member_invite(group=group, by=access(group, coach), moderator=coach, user=client)
    assert access(group, client).can_see and not access(group, client).can_read
    membership = memberships.group_join(group=group, user=client)
    assert membership.state == MembershipState.MEMBER
    group.refresh_from_db()
    assert group.member_count == 2
    assert StatusChange.objects.filter(model="community.membership", to_state="member").exists()


def test_a_by_request_group_waits_for_a_moderator(coach):
    group = coach_group(coach, access=GroupAccess.REQUEST)
    person = UserFactory()
    membership = memberships.group_join(group=group, user=person)
    assert membership.state == MembershipState.REQUESTED
    assert access(group, person).can_see and not access(group, person).can_read
    memberships.member_approve(
        group=group, by=access(group, coach), moderator=coach, membership=membership
    )
    assert access(group, person).is_member
    assert ModerationAction.objects.filter(kind="approve_member", member=person).exists()


def test_a_discussion_renders_safe_markdown_mentions_members_and_keeps_images(
    coach, group, client_member, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path
    outsider = UserFactory(first_name="Olga", last_name="Outside")
    memberships.handle_ensure(outsider)
    discussion = posts.discussion_start(
        access=access(group, client_member),
        author=client_member,
        title="Week 3 <b>plan</b>",
        body="**Hi** @maya-brooks and @olga-outside <script>alert(1)</script>",
        images=[png(), png("second.png")],
    )
    assert discussion.status == PostStatus.PUBLISHED
    assert "<strong>Hi</strong>" in discussion.body_html
    assert "<script>" not in discussion.body_html and "&lt;script&gt;" in discussion.body_html
    assert 'class="mention"' in discussion.body_html
    assert "@olga-outside" in discussion.body_html and discussion.body_html.count("mention") == 1
    assert Image.objects.filter(discussion=discussion).count() == 2
    # the coach is told; the outsider, not a member, is not
    assert list(Notification.objects.values_list("user", "kind")) == [(coach.pk, "mention")]
    assert Follow.objects.filter(user=client_member, discussion=discussion).exists()
    group.refresh_from_db()
    assert group.discussion_count == 1


def test_images_are_checked_by_content_and_at_most_four(group, client_member, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    with pytest.raises(DomainError) as refused:
        posts.discussion_start(
            access=access(group, client_member),
            author=client_member,
            title="t",
            body="b",
            images=[SimpleUploadedFile("fake.png", b"%PDF-1.4 not an image")],
        )
    assert "images" in refused.value.fields
    with pytest.raises(DomainError):
        posts.discussion_start(
            access=access(group, client_member),
            author=client_member,
            title="t",
            body="b",
            images=[png() for _ in range(5)],
        )
    assert not Discussion.objects.exists()


def test_replies_get_gapless_numbers_quote_and_notify_author_followers_and_mentions(
    coach, group, client_member
):
    third = add_member(group, booked_client(coach, first_name="Theo", last_name="Third")).user
    discussion = make_discussion(group, client_member)
    reactions.follow_set(user=third, discussion=discussion, on=True)
    first = posts.reply_post(
        access=access(group, coach), discussion=discussion, author=coach, body="30 km"
    )
    second = posts.reply_post(
        access=access(group, third),
        discussion=discussion,
        author=third,
        body="Agreed @maya-brooks",
        quote_of=first,
    )
    assert (first.seq, second.seq, second.quote_of) == (1, 2, first)
    discussion.refresh_from_db()
    assert (discussion.reply_count, discussion.last_seq) == (2, 2)
    notices = set(Notification.objects.values_list("user", "kind", "reply"))
    assert notices == {
        (client_member.pk, "reply", first.pk),
        (third.pk, "followed", first.pk),
        (client_member.pk, "reply", second.pk),
        (coach.pk, "mention", second.pk),
    }


def test_held_words_hold_a_post_until_a_moderator_publishes_it(coach, group, client_member):
    HeldWord.objects.create(phrase="miracle cure")
    discussion = make_discussion(group, coach)
    reply = posts.reply_post(
        access=access(group, client_member),
        discussion=discussion,
        author=client_member,
        body="Try this Miracle  Cure now",
    )
    assert reply.status == PostStatus.HELD and "miracle cure" in reply.held_reason
    discussion.refresh_from_db()
    assert discussion.reply_count == 0 and not Notification.objects.exists()
    replies, _ = selectors.reply_page(
        discussion=discussion, access=access(group, coach), user=coach
    )
    assert [r.pk for r in replies] == [reply.pk]  # moderators see it
    third = add_member(group, booked_client(coach)).user
    replies, _ = selectors.reply_page(
        discussion=discussion, access=access(group, third), user=third
    )
    assert replies == []
    assert selectors.moderation_queue(group=group)["held_replies"] == [reply]
    moderation.post_moderate(
        access=access(group, coach), moderator=coach, post=reply, action="approve"
    )
    reply.refresh_from_db()
    discussion.refresh_from_db()
    assert reply.status == PostStatus.PUBLISHED and discussion.reply_count == 1
    assert Notification.objects.filter(user=coach, kind="reply").exists()
    # "cured" is not the phrase: whole words only
    other = posts.reply_post(
        access=access(group, client_member),
        discussion=discussion,
        author=client_member,
        body="a miracle cured me",
    )
    assert other.status == PostStatus.PUBLISHED


def test_new_members_are_rate_limited_more_strictly(coach, group, settings):
    settings.COMMUNITY_POST_RATE_LIMIT = "5/m"
    settings.COMMUNITY_NEW_MEMBER_POST_RATE_LIMIT = "2/m"
    discussion = make_discussion(group, coach)
    newcomer = add_member(group, booked_client(coach), days_ago=0).user
    veteran = add_member(group, booked_client(coach), days_ago=30).user
    for _ in range(2):
        posts.reply_post(
            access=access(group, newcomer), discussion=discussion, author=newcomer, body="hi"
        )
    with pytest.raises(DomainError) as limited:
        posts.reply_post(
            access=access(group, newcomer), discussion=discussion, author=newcomer, body="hi"
        )
    assert (limited.value.status_code, limited.value.code) == (429, "rate_limited")
    for _ in range(5):
        posts.reply_post(
            access=access(group, veteran), discussion=discussion, author=veteran, body="hi"
        )
    with pytest.raises(DomainError):
        posts.reply_post(
            access=access(group, veteran), discussion=discussion, author=veteran, body="hi"
        )


def test_one_suspension_stops_messages_and_community_posts(coach, group, client_member):
    staff = UserFactory(is_staff=True, is_superuser=True)
    discussion = make_discussion(group, coach)
    moderation.user_suspend(staff=staff, user=client_member, reason="spam")
    with pytest.raises(NotAllowed) as refused:
        posts.reply_post(
            access=access(group, client_member),
            discussion=discussion,
            author=client_member,
            body="hello",
        )
    assert refused.value.code == "messaging_suspended"
    assert access(group, client_member).can_read  # reading stays possible
    from messaging.models import Sanction

    assert Sanction.objects.filter(user=client_member, kind="suspension").count() == 1
    thread = messaging_services.thread_open(by=client_member, coach=coach)
    with pytest.raises(NotAllowed):
        messaging_services.message_send(thread=thread, sender=client_member, body="hi")
    assert ModerationAction.objects.filter(kind="suspend", member=client_member).exists()


def test_authors_edit_within_the_window_with_history_and_delete_softly(
    coach, group, client_member, settings
):
    discussion = posts.discussion_start(
        access=access(group, client_member), author=client_member, title="Old", body="old text"
    )
    posts.post_edit(post=discussion, by=client_member, title="New", body="new *text*")
    discussion.refresh_from_db()
    assert (discussion.title, discussion.edited_at is not None) == ("New", True)
    assert "<em>text</em>" in discussion.body_html
    assert list(Revision.objects.values_list("title", "body")) == [("Old", "old text")]
    with pytest.raises(NotAllowed):
        posts.post_edit(post=discussion, by=coach, title="Mine", body="x")
    Discussion.objects.filter(pk=discussion.pk).update(
        created_at=timezone.now() - timedelta(minutes=settings.COMMUNITY_EDIT_MINUTES + 1)
    )
    discussion.refresh_from_db()
    with pytest.raises(DomainError) as closed:
        posts.post_edit(post=discussion, by=client_member, title="Late", body="late")
    assert closed.value.code == "edit_window_closed"
    posts.post_delete(post=discussion, by=client_member)
    discussion.refresh_from_db()
    assert discussion.status == PostStatus.DELETED
    with pytest.raises(NotFound):
        selectors.discussion_access(discussion_id=discussion.pk, user=client_member)
    assert selectors.discussion_access(discussion_id=discussion.pk, user=coach)  # moderator
    group.refresh_from_db()
    assert group.discussion_count == 0


def test_a_ban_stops_posting_and_hides_a_private_group(
    coach, group, client_member, django_capture_on_commit_callbacks, mailoutbox
):
    make_discussion(group, coach)
    with django_capture_on_commit_callbacks(execute=True):
        memberships.member_ban(
            group=group,
            by=access(group, coach),
            user=client_member,
            reason="abuse",
            moderator=coach,
        )
    with pytest.raises(NotFound):
        selectors.group_access(group_id=group.pk, user=client_member)
    with pytest.raises(NotFound):
        memberships.group_join(group=group, user=client_member)
    assert [(mail.to, "abuse" in mail.body) for mail in mailoutbox] == [
        ([client_member.email], True)
    ]
    memberships.member_unban(
        group=group, by=access(group, coach), user=client_member, moderator=coach
    )
    assert access(group, client_member).state == MembershipState.LEFT
    assert list(ModerationAction.objects.order_by("created_at").values_list("kind", flat=True)) == [
        "ban",
        "unban",
    ]


def test_reports_go_to_the_queue_and_hiding_tells_the_author(coach, group, client_member):
    discussion = make_discussion(group, coach)
    reply = posts.reply_post(
        access=access(group, coach), discussion=discussion, author=coach, body="rude words"
    )
    report = moderation.post_report(
        access=access(group, client_member),
        reporter=client_member,
        discussion=discussion,
        reply=reply,
        reason="rude",
    )
    with pytest.raises(DomainError) as twice:
        moderation.post_report(
            access=access(group, client_member),
            reporter=client_member,
            discussion=discussion,
            reply=reply,
            reason="rude",
        )
    assert twice.value.code == "already_reported"
    assert selectors.moderation_queue(group=group)["reports"] == [report]
    with pytest.raises(NotAllowed):
        moderation.post_moderate(
            access=access(group, client_member),
            moderator=client_member,
            post=reply,
            action="hide",
            reason="x",
        )
    with pytest.raises(DomainError):  # a reason is required
        moderation.post_moderate(
            access=access(group, coach), moderator=coach, post=reply, action="hide"
        )
    moderation.post_moderate(
        access=access(group, coach),
        moderator=coach,
        post=reply,
        action="hide",
        reason="Insults are against the rules",
    )
    report.refresh_from_db()
    reply.refresh_from_db()
    assert reply.status == PostStatus.HIDDEN and report.status == "resolved"
    assert Notification.objects.filter(
        user=coach, kind="moderation", text__contains="Insults are against the rules"
    ).exists()
    moderation.post_moderate(
        access=access(group, coach), moderator=coach, post=reply, action="restore"
    )
    reply.refresh_from_db()
    assert reply.status == PostStatus.PUBLISHED
    assert list(ModerationAction.objects.order_by("created_at").values_list("kind", flat=True)) == [
        "hide",
        "restore",
    ]
    assert Report.objects.get().resolution.startswith("hide")


def test_reactions_toggle_once_per_kind(coach, group, client_member):
    discussion = make_discussion(group, coach)
    on, counts = reactions.reaction_toggle(
        access=access(group, client_member),
        user=client_member,
        discussion=discussion,
        reply=None,
        kind="like",
    )
    assert on and counts["like"] == 1
    on, counts = reactions.reaction_toggle(
        access=access(group, client_member),
        user=client_member,
        discussion=discussion,
        reply=None,
        kind="like",
    )
    assert not on and counts["like"] == 0
    with pytest.raises(DomainError):
        reactions.reaction_toggle(
            access=access(group, client_member),
            user=client_member,
            discussion=discussion,
            reply=None,
            kind="angry",
        )


def test_the_daily_digest_is_sent_once_with_one_click_unsubscribe(
    coach, group, client_member, django_capture_on_commit_callbacks, mailoutbox
):
    discussion = make_discussion(group, client_member)
    for body in ("one", "two"):
        posts.reply_post(
            access=access(group, coach), discussion=discussion, author=coach, body=body
        )
    with django_capture_on_commit_callbacks(execute=True):
        assert notifications.daily_digests_send() == 1
        assert notifications.daily_digests_send() == 0  # at most one a day
    [mail] = [mail for mail in mailoutbox if "digest" in mail.subject]
    assert mail.to == [client_member.email]
    assert mail.body.count(discussion.title) == 2
    url = mail.extra_headers["List-Unsubscribe"].strip("<>")
    assert mail.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in mail.message().as_string()
    assert url in mail.body
    token = url.rstrip("/").rsplit("/", 1)[1]
    assert notifications.unsubscribe(token=token) == client_member
    assert notifications.digest_preference_for(user=client_member).frequency == "never"
    assert notifications.unsubscribe(token=token + "x") is None


def test_immediately_sends_one_mail_per_notification_and_never_sends_none(
    coach, group, client_member, django_capture_on_commit_callbacks, mailoutbox
):
    notifications.digest_preference_set(user=client_member, frequency="immediately")
    discussion = make_discussion(group, client_member)
    # the notification's e-mail task is queued after commit, and its mail after its commit
    with django_capture_on_commit_callbacks(execute=True):
        posts.reply_post(
            access=access(group, coach), discussion=discussion, author=coach, body="hi"
        )
    mails = [mail for mail in mailoutbox if mail.to == [client_member.email]]
    assert len(mails) == 1 and "replied to your discussion" in mails[0].subject
    assert mails[0].extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    notice = Notification.objects.get(user=client_member)
    assert notice.emailed_at is not None
    assert notifications.notification_email_send(notification_id=notice.pk) is False  # once
    notifications.digest_preference_set(user=client_member, frequency="never")
    posts.reply_post(access=access(group, coach), discussion=discussion, author=coach, body="2")
    assert notifications.daily_digests_send() == 0
    assert len([mail for mail in mailoutbox if mail.to == [client_member.email]]) == 1


def test_unread_counts_per_group(coach, group, client_member):
    topic = topic_group()
    add_member(topic, client_member)
    make_discussion(group, coach, title="new")
    rows = {g.pk: g.unread for g in selectors.groups_of_member(user=client_member)}
    assert rows == {group.pk: 1, topic.pk: 0}
    group.refresh_from_db()
    memberships.group_mark_seen(access=access(group, client_member))
    rows = {g.pk: g.unread for g in selectors.groups_of_member(user=client_member)}
    assert rows[group.pk] == 0


def test_unread_counts_stop_at_the_limit_and_the_badge_says_so(
    coach, group, client_member, monkeypatch, client
):
    monkeypatch.setattr(selectors, "UNREAD_COUNT_LIMIT", 3)
    for index in range(2):
        make_discussion(group, coach, title=f"new {index}")
    assert [g.unread for g in selectors.groups_of_member(user=client_member)] == [2]
    for index in range(3):
        make_discussion(group, coach, title=f"more {index}")
    assert [g.unread for g in selectors.groups_of_member(user=client_member)] == [3]
    # the page shows counts up to 99 and "99+" beyond
    monkeypatch.setattr(selectors, "UNREAD_COUNT_LIMIT", 100)
    for index in range(96):
        make_discussion(group, coach, title=f"even more {index}")
    assert [g.unread for g in selectors.groups_of_member(user=client_member)] == [100]
    client.force_login(client_member)
    page = client.get(reverse("community:index")).content.decode()
    assert ">99+</span>" in page and "more than 99 discussions with new activity" in page


def test_search_finds_discussions_by_title_and_body(coach, group):
    make_discussion(group, coach, title="Tapering before the race", body="two weeks")
    make_discussion(group, coach, title="Shoes", body="which brand for trails")
    found = selectors.discussion_list(group=group, query="trail")
    assert [d.title for d in found] == []  # not indexed: written straight to the database
    discussion = posts.discussion_start(
        access=access(group, coach), author=coach, title="Hills", body="Running uphill trails"
    )
    assert [d.pk for d in selectors.discussion_list(group=group, query="trail")] == [discussion.pk]
    assert Reply.objects.count() == 0
