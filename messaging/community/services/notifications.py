"""In-app notifications and the e-mail digest.

A published reply notifies the discussion's author (``reply``), the members it mentions
(``mention``) and the discussion's followers (``followed``), each person once, never the
replier. In a private group only current members are notified. Rows are written in the
poster's transaction; e-mail follows each person's ``DigestPreference``: ``immediately``
(a task per notification, after commit), ``daily`` (the default: the hourly beat task
sends one digest per person per day) or ``never``. Every mail carries a one-click
unsubscribe link (signed, no expiry; RFC 8058 ``List-Unsubscribe`` and
``List-Unsubscribe-Post`` headers).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from marketplace.emails import send_templated_email
from marketplace.models import User
from marketplace.queue import enqueue
from messaging.community.models import (
    DigestFrequency,
    DigestPreference,
    Discussion,
    Follow,
    GroupAccess,
    Membership,
    MembershipState,
    Notification,
    NotificationKind,
    Reply,
)
from messaging.community.rendering import plain_excerpt

UNSUBSCRIBE_SALT = "community.unsubscribe"
DIGEST_INTERVAL = timedelta(hours=23)
DIGEST_BATCH = 500


# --- preferences and unsubscribing ---------------------------------------------------------


def digest_preference_for(*, user: User) -> DigestPreference:
    preference, _ = DigestPreference.objects.get_or_create(user=user)
    return preference


def digest_preference_set(*, user: User, frequency: str) -> DigestPreference:
    if frequency not in DigestFrequency.values:
        raise ValueError(frequency)
    preference, _ = DigestPreference.objects.update_or_create(
        user=user, defaults={"frequency": frequency}
    )
    return preference


def unsubscribe_token(user: User) -> str:
    return signing.dumps({"user": user.pk}, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_url(user: User) -> str:
    return settings.SITE_URL + reverse("community:unsubscribe", args=[unsubscribe_token(user)])


def user_for_unsubscribe_token(token: str) -> User | None:
    try:
        payload = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("user"), int):
        return None
    return User.objects.filter(pk=payload["user"]).first()


def unsubscribe(*, token: str) -> User | None:
    """One click (RFC 8058): no more community e-mail for the token's person."""
    user = user_for_unsubscribe_token(token)
    if user is not None:
        digest_preference_set(user=user, frequency=DigestFrequency.NEVER)
    return user


def _mail_headers(user: User) -> dict[str, str]:
    return {
        "List-Unsubscribe": f"<{unsubscribe_url(user)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


# --- creating notifications ----------------------------------------------------------------


def _members_only(discussion: Discussion, user_ids: set[int]) -> set[int]:
    if not user_ids or discussion.group.access == GroupAccess.OPEN:
        return user_ids
    return set(
        Membership.objects.filter(
            group_id=discussion.group_id, user_id__in=user_ids, state=MembershipState.MEMBER
        ).values_list("user_id", flat=True)
    )


def _create(rows: list[Notification]) -> None:
    if not rows:
        return
    created = Notification.objects.bulk_create(rows)
    immediate = set(
        DigestPreference.objects.filter(
            user_id__in={row.user_id for row in created},
            frequency=DigestFrequency.IMMEDIATELY,
        ).values_list("user_id", flat=True)
    )
    for row in created:
        if row.user_id in immediate:
            enqueue("community.send_notification_email", notification_id=row.pk)


def notify_reply(*, reply: Reply, discussion: Discussion, mentioned: set[int]) -> None:
    """Inside the poster's transaction: notices for a reply that was just published."""
    actor = reply.author_id
    told: set[int] = {actor}
    rows: list[Notification] = []
    excerpt = plain_excerpt(reply.body, 200)

    def add(user_ids: set[int], kind: str) -> None:
        for user_id in sorted(_members_only(discussion, user_ids - told)):
            told.add(user_id)
            rows.append(
                Notification(
                    user_id=user_id,
                    kind=kind,
                    actor_id=actor,
                    discussion=discussion,
                    reply=reply,
                    text=excerpt,
                )
            )

    add({discussion.author_id}, NotificationKind.REPLY)
    add(mentioned, NotificationKind.MENTION)
    followers = set(Follow.objects.filter(discussion=discussion).values_list("user_id", flat=True))
    add(followers, NotificationKind.FOLLOWED)
    _create(rows)


def notify_discussion(*, discussion: Discussion, mentioned: set[int]) -> None:
    """Inside the poster's transaction: the members a new discussion mentions."""
    users = _members_only(discussion, mentioned - {discussion.author_id})
    _create(
        [
            Notification(
                user_id=user_id,
                kind=NotificationKind.MENTION,
                actor_id=discussion.author_id,
                discussion=discussion,
                text=plain_excerpt(discussion.title, 200),
            )
            for user_id in sorted(users)
        ]
    )


def notify_moderation(*, post: Discussion | Reply, text: str) -> None:
    """Tell the author what a moderator did to their post and why (in-app and e-mail)."""
    discussion = post if isinstance(post, Discussion) else post.discussion
    reply = post if isinstance(post, Reply) else None
    Notification.objects.create(
        user_id=post.author_id,
        kind=NotificationKind.MODERATION,
        discussion=discussion,
        reply=reply,
        text=text[:300],
    )
    author = User.objects.get(pk=post.author_id)
    send_templated_email(
        to=author.email,
        subject=f"A moderator acted on your post in {discussion.group.name}",
        template="community_moderated",
        context={"user": author, "discussion": discussion, "reply": reply, "text": text},
    )


def notification_mark_read(*, user: User, ids: list[int] | None = None) -> int:
    notices = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        notices = notices.filter(pk__in=ids)
    return notices.update(read_at=timezone.now())


# --- e-mail --------------------------------------------------------------------------------


def notification_email_send(*, notification_id: int) -> bool:
    """E-mail one notification now (for ``immediately``). Safe to run twice: the row is
    locked and ``emailed_at`` is the guard; a read notice or a changed mind sends nothing."""
    with transaction.atomic():
        notice = (
            Notification.objects.select_for_update(of=("self",))
            .select_related("user", "actor", "discussion__group", "reply")
            .filter(pk=notification_id, emailed_at__isnull=True)
            .first()
        )
        if notice is None or notice.read_at is not None or not notice.user.is_active:
            return False
        preference = digest_preference_for(user=notice.user)
        if preference.frequency != DigestFrequency.IMMEDIATELY:
            return False
        notice.emailed_at = timezone.now()
        notice.save(update_fields=["emailed_at"])
        user = notice.user
        send_templated_email(
            to=user.email,
            subject=_subject(notice),
            template="community_notification",
            context={
                "user": user,
                "notice": notice,
                "url": settings.SITE_URL + notice.url,
                "unsubscribe_url": unsubscribe_url(user),
                "settings_url": settings.SITE_URL + reverse("community:digest_preference"),
            },
            headers=_mail_headers(user),
        )
    return True


def _subject(notice: Notification) -> str:
    who = notice.actor.display_name if notice.actor else "Someone"
    return f"{who} {notice.get_kind_display()}: {notice.discussion.title}"[:150]


def digest_send(*, user_id: int, now=None) -> int:
    """Send ``user_id`` their daily digest of notifications not yet e-mailed or read; at
    most one a day (``last_digest_at`` under the preference's row lock). Returns how many
    notifications it named."""
    now = now or timezone.now()
    with transaction.atomic():
        DigestPreference.objects.get_or_create(user_id=user_id)
        preference = (
            DigestPreference.objects.select_for_update().select_related("user").get(user_id=user_id)
        )
        if preference.frequency != DigestFrequency.DAILY or not preference.user.is_active:
            return 0
        if preference.last_digest_at and preference.last_digest_at > now - DIGEST_INTERVAL:
            return 0
        notices = list(
            Notification.objects.filter(
                user_id=user_id, emailed_at__isnull=True, read_at__isnull=True
            )
            .select_related("actor", "discussion__group", "reply")
            .order_by("created_at")[:50]
        )
        if not notices:
            return 0
        Notification.objects.filter(pk__in=[notice.pk for notice in notices]).update(emailed_at=now)
        preference.last_digest_at = now
        preference.save(update_fields=["last_digest_at"])
        user = preference.user
        send_templated_email(
            to=user.email,
            subject=f"Your community digest: {len(notices)} new",
            template="community_digest",
            context={
                "user": user,
                "notices": [(notice, settings.SITE_URL + notice.url) for notice in notices],
                "unsubscribe_url": unsubscribe_url(user),
                "settings_url": settings.SITE_URL + reverse("community:digest_preference"),
            },
            headers=_mail_headers(user),
        )
    return len(notices)


def daily_digests_send(*, now=None) -> int:
    """The beat task: a digest for everyone on ``daily`` (the default) who has something
    new and had none in the last day."""
    now = now or timezone.now()
    recent = DigestPreference.objects.filter(user=OuterRef("user_id")).filter(
        ~Q(frequency=DigestFrequency.DAILY) | Q(last_digest_at__gt=now - DIGEST_INTERVAL)
    )
    due = (
        Notification.objects.filter(emailed_at__isnull=True, read_at__isnull=True)
        .filter(~Exists(recent))
        .values_list("user_id", flat=True)
        .distinct()
    )
    sent = 0
    for user_id in list(due[:DIGEST_BATCH]):
        sent += int(digest_send(user_id=user_id, now=now) > 0)
    return sent
