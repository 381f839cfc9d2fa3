"""Reads: who may see a thread, thread lists, message pages, unread counts, bookings."""

from __future__ import annotations

import uuid

from django.apps import apps
from django.core.cache import cache
from django.db.models import Count, Exists, F, Max, OuterRef, Q, QuerySet

from marketplace.errors import NotFound
from marketplace.models import User
from messaging.models import Block, Message, ReadState, Report, Sanction, SanctionKind, Thread

PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
BOOKED_STATUSES = ("confirmed", "completed")


def user_may_moderate(user) -> bool:
    return bool(
        user.is_authenticated and user.is_staff and user.has_perm("messaging.change_report")
    )


# A thread's participants with their coach profiles (the avatar shows a coach's photo), not
# the profile's search document.
PARTICIPANTS_WITH_PROFILES = ("client__coach_profile", "coach__coach_profile")
PROFILES_UNREAD = ("client__coach_profile__search_vector", "coach__coach_profile__search_vector")


def thread_get_for_user(*, thread_id: int, user) -> Thread:
    """The thread if ``user`` may read it, else ``NotFound`` (the same for missing and foreign).

    Participants read their threads; staff who moderate read a thread that has a report.
    """
    thread = (
        Thread.objects.select_related(*PARTICIPANTS_WITH_PROFILES)
        .defer(*PROFILES_UNREAD)
        .filter(pk=thread_id)
        .first()
        if user.is_authenticated
        else None
    )
    if thread is None:
        raise NotFound("No such conversation.")
    if thread.is_participant(user):
        return thread
    if user_may_moderate(user) and Report.objects.filter(message__thread=thread).exists():
        return thread
    raise NotFound("No such conversation.")


def thread_list_for_user(*, user) -> QuerySet[Thread]:
    """The user's threads, newest activity first, each with ``unread`` for that user."""
    return (
        Thread.objects.filter(Q(client=user) | Q(coach=user))
        # each row's avatar: the participants' coach profiles (a photo), read in the join
        .select_related(*PARTICIPANTS_WITH_PROFILES)
        .defer(*PROFILES_UNREAD)
        .annotate(
            unread=Count(
                "messages",
                filter=Q(
                    read_states__user=user,
                    messages__seq__gt=F("read_states__last_read_seq"),
                    messages__hidden_at__isnull=True,
                )
                & ~Q(messages__sender=user),
                distinct=True,
            )
        )
        .order_by(F("last_message_at").desc(nulls_last=True), "-id")
    )


def thread_last_messages(*, threads: list[Thread]) -> dict[int, Message]:
    """The newest message of each thread, for inbox previews (one query)."""
    if not threads:
        return {}
    newest = (
        Message.objects.filter(thread__in=threads)
        .values("thread")
        .annotate(top=Max("seq"))
        .values_list("thread", "top")
    )
    condition = Q(pk__in=[])
    for thread_id, seq in newest:
        condition |= Q(thread_id=thread_id, seq=seq)
    return {message.thread_id: message for message in Message.objects.filter(condition)}


def thread_find(*, client: User, coach: User) -> Thread | None:
    return Thread.objects.filter(client=client, coach=coach).first()


def thread_for_booking(*, booking, user) -> Thread | None:
    """The conversation about ``booking`` for a page that ``user`` (a participant) views."""
    coach_user_id = booking.coach.user_id
    if not user.is_authenticated or user.pk not in (booking.client_id, coach_user_id):
        return None
    return Thread.objects.filter(client_id=booking.client_id, coach_id=coach_user_id).first()


def message_page(
    *, thread: Thread, before: int | None = None, after: int | None = None, limit: int = PAGE_SIZE
) -> tuple[list[Message], bool]:
    """Messages in ``seq`` order and whether more exist beyond the page.

    ``after`` (catch-up) returns the oldest messages after that seq; otherwise the newest
    messages (before ``before`` when given) are returned.
    """
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    messages = Message.objects.filter(thread=thread).select_related("sender")
    if after is not None:
        page = list(messages.filter(seq__gt=after).order_by("seq")[: limit + 1])
        return page[:limit], len(page) > limit
    if before is not None:
        messages = messages.filter(seq__lt=before)
    page = list(messages.order_by("-seq")[: limit + 1])
    has_more = len(page) > limit
    return list(reversed(page[:limit])), has_more


def read_state_of(*, thread: Thread, user) -> ReadState | None:
    return ReadState.objects.filter(thread=thread, user=user).first()


def other_read_seq(*, thread: Thread, user) -> int:
    """How far the other participant has read: drives the "seen" marks."""
    state = ReadState.objects.filter(thread=thread).exclude(user=user).first()
    return state.last_read_seq if state else 0


def _unread_messages(user) -> QuerySet[Message]:
    return Message.objects.filter(
        thread__read_states__user=user,
        seq__gt=F("thread__read_states__last_read_seq"),
        hidden_at__isnull=True,
    ).exclude(sender=user)


def unread_count(*, user, thread_id: int | None = None) -> int:
    """Messages from others, not hidden, past the user's read mark (in all their threads)."""
    if not user.is_authenticated:
        return 0
    messages = _unread_messages(user)
    if thread_id is not None:
        messages = messages.filter(thread_id=thread_id)
    return messages.count()


# The navigation badge's count is cached per user with the generation it was counted in;
# every change to the user's unread messages replaces the generation (after its commit,
# ``services``): a count computed from rows read before the change carries the old
# generation, which no page takes again, so a badge is never stale once the change is
# committed. The expiry only bounds
# what an idle user's entry occupies.
UNREAD_BADGE_SECONDS = 600


def _unread_generation_key(user_id: int) -> str:
    return f"messaging:unread-generation:{user_id}"


def unread_badge_count(*, user) -> int:
    """``unread_count(user=user)`` for the navigation of every page, from the cache while no
    message to the user arrived, was read or was hidden since it was counted."""
    if not user.is_authenticated:
        return 0
    # One round trip: the generation and the last count with the generation it was made in.
    generation_key, count_key = _unread_generation_key(user.pk), f"messaging:unread:{user.pk}"
    found = cache.get_many([generation_key, count_key])
    generation = found.get(generation_key) or "0"
    counted = found.get(count_key)
    if isinstance(counted, tuple) and counted[0] == generation:
        return counted[1]
    count = unread_count(user=user)
    cache.set(count_key, (generation, count), UNREAD_BADGE_SECONDS)
    return count


def unread_badge_forget(*, user_ids: list[int]) -> None:
    """A new generation for these users' badges: their next page counts again. Call it
    after the change commits (``transaction.on_commit``)."""
    cache.set_many(
        {_unread_generation_key(user_id): uuid.uuid4().hex for user_id in user_ids},
        UNREAD_BADGE_SECONDS,
    )


def unread_counts(*, user, thread_id: int) -> tuple[int, int]:
    """The user's unread total and the part of it in one thread, in one query."""
    counts = _unread_messages(user).aggregate(
        total=Count("pk"), in_thread=Count("pk", filter=Q(thread_id=thread_id))
    )
    return counts["total"], counts["in_thread"]


def is_blocked_between(*, first: User, second: User) -> bool:
    return Block.objects.filter(
        Q(blocker=first, blocked=second) | Q(blocker=second, blocked=first)
    ).exists()


def has_blocked(*, blocker: User, blocked: User) -> bool:
    return Block.objects.filter(blocker=blocker, blocked=blocked).exists()


def active_suspensions(*, user) -> QuerySet[Sanction]:
    """The suspensions in force for ``user`` (a User or an ``OuterRef``)."""
    return Sanction.objects.filter(user=user, kind=SanctionKind.SUSPENSION, lifted_at__isnull=True)


def is_suspended(*, user: User) -> bool:
    return active_suspensions(user=user).exists()


def sender_restrictions(*, sender: User, recipient: User) -> tuple[bool, bool]:
    """(suspended, blocked): whether ``sender`` may not write to ``recipient``, one query."""
    suspension = Sanction.objects.filter(
        user=OuterRef("pk"), kind=SanctionKind.SUSPENSION, lifted_at__isnull=True
    )
    block = Block.objects.filter(
        Q(blocker=sender, blocked=recipient) | Q(blocker=recipient, blocked=sender)
    )
    return (
        User.objects.filter(pk=sender.pk)
        .annotate(suspended=Exists(suspension), blocked=Exists(block))
        .values_list("suspended", "blocked")
        .get()
    )


def has_booking_between(*, client: User, coach: User) -> bool:
    """Whether ``client`` has a confirmed or completed booking with ``coach`` (a User).

    Read-only through the bookings app; before that app has a ``Booking`` model, there is
    no booking between anyone.
    """
    try:
        booking_model = apps.get_model("bookings", "Booking")
    except LookupError:
        return False
    return booking_model._default_manager.filter(
        client=client, coach__user=coach, status__in=BOOKED_STATUSES
    ).exists()


def clients_who_booked(*, coach: User) -> list[User]:
    """The clients with a confirmed or completed booking with ``coach`` (a User), by name."""
    try:
        booking_model = apps.get_model("bookings", "Booking")
    except LookupError:
        return []
    booked = booking_model._default_manager.filter(
        client=OuterRef("pk"), coach__user=coach, status__in=BOOKED_STATUSES
    )
    return list(User.objects.filter(Exists(booked)).order_by("first_name", "last_name", "email"))


def booking_get(*, booking_id: int):
    """A booking by id (read-only), or ``None`` when it or the bookings model is missing."""
    try:
        booking_model = apps.get_model("bookings", "Booking")
    except LookupError:
        return None
    return booking_model._default_manager.select_related("coach").filter(pk=booking_id).first()


def client_messages_in(*, thread: Thread) -> int:
    return Message.objects.filter(thread=thread, sender_id=thread.client_id).count()


def message_get_for_participant(*, message_id: int, user) -> Message:
    message = Message.objects.select_related("thread", "sender").filter(pk=message_id).first()
    if message is None or not message.thread.is_participant(user):
        raise NotFound("No such message.")
    return message
