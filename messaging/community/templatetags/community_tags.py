"""Template tags of the community pages.

``reaction_buttons``, ``reply_item`` and ``discussion_row`` write what a page repeats (five
reaction buttons per reply, up to 50 replies, 20 discussions) in Python: as template nodes
they were most of the pages' time (``tests/bench/community.py``). What is the same for every
reply of a page (the CSRF token, the viewer, what they may do, the links) is worked out once
per page (``_ReplyPage``), and the markup is joined from strings: every value that comes from
people or the database goes through ``escape`` (the standard library's ``html.escape``,
which is what Django's ``escape`` calls); the reaction kinds and their emoji are the code's
own constants, escaped once when this module loads; ``body_html`` is the sanitised HTML the
renderer stored (``rendering.render_markdown``).
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from django import template
from django.middleware import csrf
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.utils.functional import SimpleLazyObject
from django.utils.safestring import SafeString
from django.utils.timesince import timesince

from messaging.community.models import PostStatus, ReactionKind

register = template.Library()

# (kind, the start of its button up to the class, the rest up to the disabled flag, the
# rest up to the count): kind and emoji are constants of ``ReactionKind``
_BUTTON_PARTS = [
    (
        kind,
        f'<button type="submit" name="kind" value="{escape(kind)}" class="reaction',
        f'" data-kind="{escape(kind)}"',
        f'><span aria-hidden="true">{escape(str(emoji))}</span>'
        f'<span class="visually-hidden">{escape(kind)}</span> <span class="reaction-count">',
    )
    for kind, emoji in ReactionKind.choices
]


def _buttons(reactions: list[dict], disabled: str) -> str:
    by_kind = {reaction["kind"]: reaction for reaction in reactions}
    parts = []
    for kind, start, middle, end in _BUTTON_PARTS:
        reaction = by_kind.get(kind)
        if reaction is None:
            continue
        mine = reaction["mine"]
        parts.append(
            f"{start}{' reaction-mine' if mine else ''}"
            f'" aria-pressed="{"true" if mine else "false"}{middle}{disabled}{end}'
            f"{int(reaction['count'])}</span></button>"
        )
    return "".join(parts)


@register.simple_tag
def reaction_buttons(reactions: list[dict], can_react: bool) -> SafeString:
    """The buttons of ``selectors.reaction_summary``'s list (every kind, in the fixed order)."""
    return SafeString(_buttons(reactions, "" if can_react else " disabled"))


@register.simple_tag
def path_with_id(pattern: str, object_id: int) -> str:
    """``pattern`` (a URL reversed with the id 0, ``/community/replies/0/report/``) for
    ``object_id``: one ``reverse`` per page instead of one per reply."""
    return pattern.replace("/0/", f"/{int(object_id)}/", 1)


def _when(value: datetime) -> str:
    """``value`` in the viewer's zone as the date filter's ``"j M Y, H:i"`` writes it."""
    local = timezone.localtime(value)
    return f"{local.day} {MONTHS_3[local.month].title()} {local.year}, {local:%H:%M}"


class _ReplyPage:
    """What every reply of one discussion page shares, worked out once per page."""

    def __init__(self, context) -> None:
        request = context["request"]
        access = context["access"]
        urls = context["reply_urls"]
        self.user_id = context["user"].pk
        self.token = escape(csrf.get_token(request))
        self.can_post = access.can_post
        self.is_member = access.is_member
        self.can_moderate = access.can_moderate
        self.disabled = "" if self.can_post else " disabled"
        self.next_path = escape(request.get_full_path())
        self.urls = {name: str(url) for name, url in urls.items()}

    @classmethod
    def of(cls, context) -> _ReplyPage:
        page = context.render_context.get(cls)
        if page is None:
            page = context.render_context[cls] = cls(context)
        return page

    def url(self, name: str, reply_id: int) -> str:
        return escape(path_with_id(self.urls[name], reply_id))


@register.simple_tag(takes_context=True)
def reply_item(context, reply) -> SafeString:
    """One reply of a discussion page, as ``_reply.html`` would write it."""
    page = _ReplyPage.of(context)
    status = reply.status
    published = status == PostStatus.PUBLISHED
    author = reply.author
    author_name = escape(author.display_name)
    handle = getattr(author, "community_handle", None)
    reply_id, seq = int(reply.pk), int(reply.seq)
    parts = [
        f'<li class="reply card{"" if published else f" reply-{escape(status)}"}"'
        f' id="reply-{seq}" data-seq="{seq}" data-id="{reply_id}"'
        f' data-author="{int(reply.author_id)}">',
        f'<p class="reply-meta"><strong class="reply-author">{author_name}</strong>',
        f' <span class="handle">@{escape(handle.handle)}</span>' if handle else "",
        f' · <time datetime="{reply.created_at.isoformat()}">{_when(reply.created_at)}</time>',
        " · edited" if reply.edited_at else "",
        ""
        if published
        else f' <span class="badge badge-muted">{escape(str(reply.get_status_display()))}</span>',
        "</p>",
    ]
    quoted = reply.quote_of
    if quoted is not None:
        if quoted.status == PostStatus.PUBLISHED:
            parts.append(
                '<blockquote class="reply-quote"><p class="muted">'
                f"{escape(quoted.author.display_name)} wrote:</p>{quoted.body_html}</blockquote>"
            )
        else:
            parts.append(
                '<blockquote class="reply-quote"><p class="muted">'
                "The quoted reply is no longer shown.</p></blockquote>"
            )
    parts.append(f'<div class="post-body">{reply.body_html}</div>')
    if published:
        parts.append(
            f'<form method="post" action="{page.url("react", reply_id)}" class="reactions"'
            f' data-react-url="{page.url("react_api", reply_id)}" aria-label="Reactions">'
            f'<input type="hidden" name="csrfmiddlewaretoken" value="{page.token}">'
            f"{_buttons(reply.reaction_list, page.disabled)}</form>"
        )
    parts.append('<div class="post-actions">')
    if page.can_post and published:
        parts.append(
            f'<a href="?quote={reply_id}#reply-form" class="quote-link" data-quote="{reply_id}"'
            f' data-quote-author="{author_name}">Quote</a>'
        )
    if reply.author_id == page.user_id:
        if status in (PostStatus.PUBLISHED, PostStatus.HELD):
            parts.append(f'<a href="{page.url("edit", reply_id)}">Edit</a>')
        parts.append(
            f'<form method="post" action="{page.url("delete", reply_id)}" class="inline-form">'
            f'<input type="hidden" name="csrfmiddlewaretoken" value="{page.token}">'
            '<button type="submit" class="link-button">Delete</button></form>'
        )
    elif page.is_member and published:
        parts.append(
            '<details class="report"><summary>Report</summary>'
            f'<form method="post" action="{page.url("report", reply_id)}">'
            f'<input type="hidden" name="csrfmiddlewaretoken" value="{page.token}">'
            f'<label for="report-reply-{reply_id}">What is wrong with this reply?</label>'
            f'<textarea id="report-reply-{reply_id}" name="reason" rows="2" maxlength="1000"'
            " required></textarea>"
            '<button type="submit" class="button-small">Send report</button>'
            "</form></details>"
        )
    if page.can_moderate:
        buttons = []
        if status == PostStatus.PUBLISHED:
            buttons.append(("hide", "Hide", ""))
        if status == PostStatus.HIDDEN:
            buttons.append(("restore", "Restore", ""))
        if status == PostStatus.HELD:
            buttons.append(("approve", "Approve", ""))
        if status not in (PostStatus.REMOVED, PostStatus.DELETED):
            buttons.append(("remove", "Remove", " button-danger"))
        parts.append(
            '<details class="moderate"><summary>Moderate</summary>'
            f'<form method="post" action="{page.url("moderate", reply_id)}">'
            f'<input type="hidden" name="csrfmiddlewaretoken" value="{page.token}">'
            f'<input type="hidden" name="next" value="{page.next_path}">'
            f'<label for="moderate-reason-{reply_id}">Reason (the author is told)</label>'
            f'<input type="text" id="moderate-reason-{reply_id}" name="reason" maxlength="1000">'
            + "".join(
                f'<button type="submit" name="action" value="{value}"'
                f' class="button-small{extra}">{label}</button>'
                for value, label, extra in buttons
            )
            + "</form></details>"
        )
    parts.append("</div></li>")
    return SafeString("".join(parts))


@register.simple_tag(takes_context=True)
def discussion_row(context, discussion) -> SafeString:
    """One row of a group's list of discussions (see ``reply_item`` for why in Python)."""
    now = context.render_context.get("community_now")
    if now is None:
        now = context.render_context["community_now"] = timezone.now()
    count = int(discussion.reply_count)
    pk = int(discussion.pk)
    activity = discussion.last_activity_at
    return SafeString(
        f'<li class="discussion-row card" id="discussion-{pk}" data-discussion="{pk}">'
        f'<a class="discussion-title" href="{escape(reverse_discussion(pk))}">'
        f"{escape(discussion.title)}</a>"
        f'<p class="muted discussion-meta">by {escape(discussion.author.display_name)} · '
        f'<span class="reply-count" data-reply-count="{pk}">{count}</span>'
        f" {'reply' if count == 1 else 'replies'} · latest activity"
        f' <time datetime="{activity.isoformat()}">{escape(timesince(activity, now))} ago'
        "</time></p></li>"
    )


_DISCUSSION_URL = SimpleLazyObject(lambda: reverse("community:discussion", args=[0]))


def reverse_discussion(discussion_id: int) -> str:
    return path_with_id(str(_DISCUSSION_URL), discussion_id)
