"""Template tags of the community pages.

``reaction_buttons``, ``reply_item`` and ``discussion_row`` write what a page repeats (five
reaction buttons per reply, up to 50 replies, 20 discussions) in Python: as template nodes
they were most of the pages' time (``tests/bench/community.py``).
"""

from __future__ import annotations

from django import template
from django.middleware import csrf
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.functional import SimpleLazyObject
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import timesince

register = template.Library()


@register.simple_tag
def reaction_buttons(reactions: list[dict], can_react: bool) -> SafeString:
    """The buttons of ``selectors.reaction_summary``'s list (escaped by ``format_html``)."""
    disabled = "" if can_react else " disabled"
    return format_html_join(
        "",
        '<button type="submit" name="kind" value="{}" class="reaction{}" aria-pressed="{}"'
        ' data-kind="{}"{}><span aria-hidden="true">{}</span>'
        '<span class="visually-hidden">{}</span> <span class="reaction-count">{}</span></button>',
        (
            (
                reaction["kind"],
                " reaction-mine" if reaction["mine"] else "",
                "true" if reaction["mine"] else "false",
                reaction["kind"],
                disabled,
                reaction["emoji"],
                reaction["kind"],
                reaction["count"],
            )
            for reaction in reactions
        ),
    )


@register.simple_tag
def path_with_id(pattern: str, object_id: int) -> str:
    """``pattern`` (a URL reversed with the id 0, ``/community/replies/0/report/``) for
    ``object_id``: one ``reverse`` per page instead of one per reply."""
    return pattern.replace("/0/", f"/{int(object_id)}/", 1)


def _when(value) -> str:
    return dateformat.format(timezone.localtime(value), "j M Y, H:i")


@register.simple_tag(takes_context=True)
def reply_item(context, reply) -> SafeString:
    """One reply of a discussion page, as ``_reply.html`` would write it.

    Written in Python because a page shows up to 50 of them and template nodes made most of
    its time. Every value is escaped by ``format_html``; ``body_html`` is the sanitised HTML
    the renderer stored (``rendering.render_markdown``).
    """
    access = context["access"]
    user = context["user"]
    urls = context["reply_urls"]
    token = csrf.get_token(context["request"])
    published = reply.status == "published"
    author = reply.author
    handle = getattr(author, "community_handle", None)
    parts = [
        format_html(
            '<li class="reply card{}" id="reply-{}" data-seq="{}" data-id="{}" data-author="{}">',
            "" if published else f" reply-{reply.status}",
            reply.seq,
            reply.seq,
            reply.pk,
            reply.author_id,
        ),
        format_html(
            '<p class="reply-meta"><strong class="reply-author">{}</strong>{} · '
            '<time datetime="{}">{}</time>{}{}</p>',
            author.display_name,
            format_html(' <span class="handle">@{}</span>', handle.handle) if handle else "",
            reply.created_at.isoformat(),
            _when(reply.created_at),
            " · edited" if reply.edited_at else "",
            ""
            if published
            else format_html(
                ' <span class="badge badge-muted">{}</span>', reply.get_status_display()
            ),
        ),
    ]
    quoted = reply.quote_of
    if quoted is not None:
        if quoted.status == "published":
            parts.append(
                format_html(
                    '<blockquote class="reply-quote"><p class="muted">{} wrote:</p>{}</blockquote>',
                    quoted.author.display_name,
                    mark_safe(quoted.body_html),  # noqa: S308 - sanitised when written
                )
            )
        else:
            parts.append(
                mark_safe(
                    '<blockquote class="reply-quote"><p class="muted">'
                    "The quoted reply is no longer shown.</p></blockquote>"
                )
            )
    parts.append(
        format_html(
            '<div class="post-body">{}</div>',
            mark_safe(reply.body_html),  # noqa: S308 - sanitised when written
        )
    )
    if published:
        parts.append(
            format_html(
                '<form method="post" action="{}" class="reactions" data-react-url="{}"'
                ' aria-label="Reactions"><input type="hidden" name="csrfmiddlewaretoken"'
                ' value="{}">{}</form>',
                path_with_id(urls["react"], reply.pk),
                path_with_id(urls["react_api"], reply.pk),
                token,
                reaction_buttons(reply.reaction_list, access.can_post),
            )
        )
    actions = []
    if access.can_post and published:
        actions.append(
            format_html(
                '<a href="?quote={}#reply-form" class="quote-link" data-quote="{}"'
                ' data-quote-author="{}">Quote</a>',
                reply.pk,
                reply.pk,
                author.display_name,
            )
        )
    if reply.author_id == user.pk:
        if reply.status in ("published", "held"):
            actions.append(
                format_html('<a href="{}">Edit</a>', path_with_id(urls["edit"], reply.pk))
            )
        actions.append(
            format_html(
                '<form method="post" action="{}" class="inline-form">'
                '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
                '<button type="submit" class="link-button">Delete</button></form>',
                path_with_id(urls["delete"], reply.pk),
                token,
            )
        )
    elif access.is_member and published:
        actions.append(
            format_html(
                '<details class="report"><summary>Report</summary>'
                '<form method="post" action="{}">'
                '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
                '<label for="report-reply-{}">What is wrong with this reply?</label>'
                '<textarea id="report-reply-{}" name="reason" rows="2" maxlength="1000"'
                " required></textarea>"
                '<button type="submit" class="button-small">Send report</button>'
                "</form></details>",
                path_with_id(urls["report"], reply.pk),
                token,
                reply.pk,
                reply.pk,
            )
        )
    if access.can_moderate:
        buttons = []
        if reply.status == "published":
            buttons.append(("hide", "Hide", ""))
        if reply.status == "hidden":
            buttons.append(("restore", "Restore", ""))
        if reply.status == "held":
            buttons.append(("approve", "Approve", ""))
        if reply.status not in ("removed", "deleted"):
            buttons.append(("remove", "Remove", " button-danger"))
        actions.append(
            format_html(
                '<details class="moderate"><summary>Moderate</summary>'
                '<form method="post" action="{}">'
                '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
                '<input type="hidden" name="next" value="{}">'
                '<label for="moderate-reason-{}">Reason (the author is told)</label>'
                '<input type="text" id="moderate-reason-{}" name="reason" maxlength="1000">'
                "{}</form></details>",
                path_with_id(urls["moderate"], reply.pk),
                token,
                context["request"].get_full_path(),
                reply.pk,
                reply.pk,
                format_html_join(
                    "",
                    '<button type="submit" name="action" value="{}" class="button-small{}">'
                    "{}</button>",
                    ((value, extra, label) for value, label, extra in buttons),
                ),
            )
        )
    parts.append(
        format_html('<div class="post-actions">{}</div></li>', SafeString("".join(actions)))
    )
    return SafeString("".join(parts))


@register.simple_tag
def discussion_row(discussion) -> SafeString:
    """One row of a group's list of discussions (see ``reply_item`` for why in Python)."""
    count = discussion.reply_count
    return format_html(
        '<li class="discussion-row card" id="discussion-{}" data-discussion="{}">'
        '<a class="discussion-title" href="{}">{}</a>'
        '<p class="muted discussion-meta">by {} · <span class="reply-count"'
        ' data-reply-count="{}">{}</span> {} · latest activity <time datetime="{}">{} ago'
        "</time></p></li>",
        discussion.pk,
        discussion.pk,
        reverse_discussion(discussion.pk),
        discussion.title,
        discussion.author.display_name,
        discussion.pk,
        count,
        "reply" if count == 1 else "replies",
        discussion.last_activity_at.isoformat(),
        timesince(discussion.last_activity_at),
    )


_DISCUSSION_URL = SimpleLazyObject(lambda: reverse("community:discussion", args=[0]))


def reverse_discussion(discussion_id: int) -> str:
    return path_with_id(str(_DISCUSSION_URL), discussion_id)
