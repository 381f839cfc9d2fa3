"""Safe Markdown for discussions and replies: rendered once, when written, to HTML that a
page (and a live update) inserts as it is.

Two kept libraries do it: ``markdown-it-py`` parses CommonMark with raw HTML switched off
(a ``<script>`` typed in a post is text), links checked by its ``validateLink`` (no
``javascript:``/``data:`` links) and bare URLs made links by ``linkify-it-py``; then ``nh3``
(the Ammonia sanitizer) keeps only an allowlist of tags and attributes, only http(s) and
mailto links, and puts ``rel="nofollow noopener noreferrer ugc"`` on every link. Images in
Markdown and headings are off: pictures are attached and checked by content, and a post's
text never outranks the page's own headings.

Mentions are ``@handle``; only handles of the group's members (given by the caller) become
``<span class="mention">``, so a mention cannot name or notify an outsider.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline

MENTION_PATTERN = re.compile(r"(?<![\w.@-])@([a-z0-9][a-z0-9-]{0,39})", re.IGNORECASE)

ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "s",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "hr",
    "span",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "span": {"data-user"}}
ALLOWED_CLASSES = {"span": {"mention"}}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "nofollow noopener noreferrer ugc"


@dataclass
class Rendered:
    html: str
    mentioned: set[int] = field(default_factory=set)


def _mention(state: StateInline, silent: bool) -> bool:
    position = state.pos
    if state.src[position] != "@":
        return False
    match = MENTION_PATTERN.match(state.src, position)
    if match is None or (position > 0 and re.match(r"[\w.@-]", state.src[position - 1])):
        return False
    handle = match.group(1).lower()
    user_id = state.env.get("handles", {}).get(handle)
    if user_id is None:
        return False
    if not silent:
        token = state.push("mention", "span", 0)
        token.meta = {"handle": handle, "user": user_id}
    state.pos = match.end()
    return True


def _render_mention(self, tokens, index, options, env) -> str:
    meta = tokens[index].meta
    state_env = env if isinstance(env, dict) else {}
    state_env.setdefault("mentioned", set()).add(meta["user"])
    return f'<span class="mention" data-user="{int(meta["user"])}">@{meta["handle"]}</span>'


def _parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": False, "linkify": True, "breaks": True})
    parser.enable(["linkify", "strikethrough"])
    parser.disable(["image", "heading", "lheading", "html_inline", "html_block"])
    parser.inline.ruler.push("mention", _mention)
    parser.add_render_rule("mention", _render_mention)
    return parser


_PARSER = _parser()


def handles_in(text: str) -> set[str]:
    """The ``@handles`` written in ``text`` (lowercase), for the caller to resolve."""
    return {match.group(1).lower() for match in MENTION_PATTERN.finditer(text or "")}


def render_markdown(text: str, *, handles: dict[str, int] | None = None) -> Rendered:
    """``text`` as safe HTML, and the ids of the members it mentions (among ``handles``)."""
    env: dict = {"handles": handles or {}, "mentioned": set()}
    html = _PARSER.render(text or "", env)
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        allowed_classes=ALLOWED_CLASSES,
        url_schemes=URL_SCHEMES,
        link_rel=LINK_REL,
    )
    return Rendered(html=clean.strip(), mentioned=set(env["mentioned"]))


def plain_excerpt(text: str, length: int = 160) -> str:
    """A one-line excerpt of a post's Markdown for lists and e-mails (no markup)."""
    flattened = " ".join((text or "").split())
    return flattened if len(flattened) <= length else flattened[: length - 1].rstrip() + "…"
