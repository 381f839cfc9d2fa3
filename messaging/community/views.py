"""Community pages: groups, a group's discussions, a discussion, members, the moderation
queue, notifications and e-mail preferences.

Every view reads the group or post through ``selectors`` (``group_access``,
``discussion_access``, ``reply_access``), so what a person may not see is the same 404 as
what does not exist. Forms post here without JavaScript; the pages' script posts to the API.
"""

from __future__ import annotations

from typing import cast

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from marketplace.errors import DomainError, NotFound
from marketplace.models import User
from marketplace.redirects import redirect_to_next, safe_next_url
from messaging.community import selectors
from messaging.community.forms import (
    DigestPreferenceForm,
    DiscussionEditForm,
    DiscussionForm,
    GroupForm,
    InviteForm,
    MemberActionForm,
    ModerateForm,
    ReasonForm,
    ReplyEditForm,
    ReplyForm,
    SearchForm,
)
from messaging.community.models import (
    Discussion,
    GroupAccess,
    Image,
    Membership,
    PostStatus,
    ReactionKind,
    Reply,
    Report,
    Revision,
)
from messaging.community.selectors import Access
from messaging.community.services import (
    groups,
    memberships,
    moderation,
    notifications,
    posts,
    reactions,
)


def _me(request) -> User:
    """The signed-in user (the view is behind a login check)."""
    return cast(User, request.user)


def _group(request: HttpRequest, group_id: int, need: str = "see") -> Access:
    try:
        return selectors.group_access(group_id=group_id, user=_me(request), need=need)
    except NotFound as error:
        raise Http404(error.message) from None


def _discussion(request: HttpRequest, discussion_id: int) -> tuple[Discussion, Access]:
    try:
        return selectors.discussion_access(discussion_id=discussion_id, user=_me(request))
    except NotFound as error:
        raise Http404(error.message) from None


def _reply(request: HttpRequest, reply_id: int) -> tuple[Reply, Access]:
    try:
        return selectors.reply_access(reply_id=reply_id, user=_me(request))
    except NotFound as error:
        raise Http404(error.message) from None


# Each reply's links, reversed once with the id 0 (``community_tags.path_with_id``).
REPLY_URLS = SimpleLazyObject(
    lambda: {
        "react": reverse("community:reply_react", args=[0]),
        "react_api": reverse("community_api_reply_reactions", args=[0]),
        "edit": reverse("community:reply_edit", args=[0]),
        "delete": reverse("community:reply_delete", args=[0]),
        "report": reverse("community:reply_report", args=[0]),
        "moderate": reverse("community:reply_moderate", args=[0]),
    }
)


def _errors(form) -> str:
    return " ".join(str(error) for errors in form.errors.values() for error in errors)


def _fail(request: HttpRequest, error: DomainError) -> None:
    """A refused action: 404 for what cannot be seen, a message for the rest."""
    if isinstance(error, NotFound):
        raise Http404(error.message)
    flash.error(request, error.message)


def _image_response(field, content_type: str) -> FileResponse:
    response = FileResponse(field.open("rb"), content_type=content_type)
    response["Cache-Control"] = "private, max-age=0, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- groups --------------------------------------------------------------------------------


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    return render(
        request,
        "messaging/community/index.html",
        {
            "my_groups": list(selectors.groups_of_member(user=me)),
            "other_groups": list(selectors.groups_to_discover(user=me)[:100]),
            "may_create": groups.may_create_coach_group(me) or groups.may_create_topic_group(me),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def group_new(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    coach = groups.may_create_coach_group(me)
    if not coach and not groups.may_create_topic_group(me):
        raise Http404("Only verified coaches and staff create groups.")
    form = GroupForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            group = groups.group_create(
                by=me,
                name=data["name"],
                description=data["description"],
                rules=data["rules"],
                access=data["access"] if coach else GroupAccess.OPEN,
                specialization=data.get("specialization"),
                cover=data.get("cover"),
            )
        except DomainError as error:
            for field, field_errors in error.fields.items():
                form.add_error(field if field in form.fields else None, field_errors)
            if not error.fields:
                form.add_error(None, error.message)
        else:
            flash.success(request, f"The group “{group.name}” is ready.")
            return redirect(group)
    return render(request, "messaging/community/group_form.html", {"form": form, "coach": coach})


@login_required
@require_GET
def group_detail(request: HttpRequest, group_id: int) -> HttpResponse:
    access = _group(request, group_id)
    group = access.group
    search = SearchForm(request.GET or None)
    query = search.cleaned_data.get("q", "") if search.is_valid() else ""
    page = results = None
    if access.can_read and query:
        # ranked search results, numbered pages
        results = Paginator(
            selectors.discussion_list(group=group, query=query), selectors.DISCUSSIONS_PER_PAGE
        ).get_page(request.GET.get("page"))
    elif access.can_read:
        # latest activity first, a page after a cursor (no OFFSET, no COUNT(*): the group
        # keeps its count)
        page = selectors.discussion_page(
            group=group,
            before=selectors.ListCursor.parse(request.GET.get("before")),
            after=selectors.ListCursor.parse(request.GET.get("after")),
        )
        if access.is_member:
            memberships.group_mark_seen(access=access)
    return render(
        request,
        "messaging/community/group.html",
        {
            "group": group,
            "access": access,
            "page": page,
            "results": results,
            "discussions": page.discussions if page else results.object_list if results else [],
            "search": search,
            "query": query,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def group_edit(request: HttpRequest, group_id: int) -> HttpResponse:
    access = _group(request, group_id, need="moderate")
    group = access.group
    if not (access.is_owner or access.staff_moderator):
        raise Http404("No such group.")
    initial = {
        "name": group.name,
        "description": group.description,
        "rules": group.rules,
        "access": group.access,
        "specialization": group.specialization,
    }
    form = GroupForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            groups.group_update(
                group=group,
                by=_me(request),
                name=data["name"],
                description=data["description"],
                rules=data["rules"],
                access=data["access"] if group.kind == "coach" else None,
                cover=data.get("cover"),
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            flash.success(request, "Saved.")
            return redirect(group)
    return render(
        request,
        "messaging/community/group_form.html",
        {"form": form, "coach": group.kind == "coach", "group": group},
    )


@login_required
@require_GET
def group_cover(request: HttpRequest, group_id: int) -> FileResponse:
    group = _group(request, group_id).group
    if not group.cover:
        raise Http404("No cover.")
    return _image_response(group.cover, group.cover_type)


@login_required
@require_POST
def join(request: HttpRequest, group_id: int) -> HttpResponse:
    access = _group(request, group_id)
    try:
        membership = memberships.group_join(group=access.group, user=_me(request))
    except DomainError as error:
        _fail(request, error)
    else:
        if membership.is_member:
            flash.success(request, f"Welcome to {access.group.name}.")
        else:
            flash.success(request, "Your request to join was sent to the group's moderators.")
    return redirect(access.group)


@login_required
@require_POST
def leave(request: HttpRequest, group_id: int) -> HttpResponse:
    access = _group(request, group_id)
    try:
        memberships.group_leave(group=access.group, user=_me(request))
    except DomainError as error:
        _fail(request, error)
        return redirect(access.group)
    flash.success(request, f"You left {access.group.name}.")
    return redirect("community:index")


@login_required
@require_GET
def members(request: HttpRequest, group_id: int) -> HttpResponse:
    access = _group(request, group_id, need="read")
    group = access.group
    rows = list(selectors.group_members(group=group))
    if not access.can_moderate:
        rows = [row for row in rows if row.is_member]
    return render(
        request,
        "messaging/community/members.html",
        {
            "group": group,
            "access": access,
            "rows": rows,
            "invitable": selectors.invitable_clients(group=group) if access.can_moderate else [],
            "invite_form": InviteForm(),
        },
    )


@login_required
@require_POST
def invite(request: HttpRequest, group_id: int) -> HttpResponse:
    access = _group(request, group_id, need="moderate")
    form = InviteForm(request.POST)
    invitee = User.objects.filter(pk=form.cleaned_data["user"]).first() if form.is_valid() else None
    if invitee is None:
        flash.error(request, "Choose a client to invite.")
    else:
        try:
            memberships.member_invite(
                group=access.group, by=access, moderator=_me(request), user=invitee
            )
        except DomainError as error:
            _fail(request, error)
        else:
            flash.success(request, f"{invitee.display_name} is invited.")
    return redirect("community:members", group_id)


@login_required
@require_POST
def member_action(request: HttpRequest, group_id: int, user_id: int) -> HttpResponse:
    access = _group(request, group_id, need="moderate")
    group = access.group
    membership = Membership.objects.filter(group=group, user_id=user_id).select_related("user")
    row = membership.first()
    if row is None:
        raise Http404("No such member.")
    form = MemberActionForm(request.POST)
    if not form.is_valid():
        flash.error(request, _errors(form))
        return redirect("community:members", group_id)
    action, reason, me = form.cleaned_data["action"], form.cleaned_data["reason"], _me(request)
    try:
        if action == "approve":
            memberships.member_approve(group=group, by=access, moderator=me, membership=row)
        elif action == "ban":
            memberships.member_ban(
                group=group, by=access, user=row.user, reason=reason, moderator=me
            )
        elif action == "unban":
            memberships.member_unban(group=group, by=access, user=row.user, moderator=me)
        elif action == "warn":
            memberships.member_warn(
                group=group, by=access, user=row.user, reason=reason, moderator=me
            )
        else:
            memberships.member_set_role(
                group=group, by=access, moderator=me, membership=row, role=action
            )
    except DomainError as error:
        _fail(request, error)
    else:
        flash.success(request, "Done.")
    return redirect("community:members", group_id)


# --- discussions ---------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def discussion_new(request: HttpRequest, group_id: int) -> HttpResponse:
    access = _group(request, group_id, need="read")
    form = DiscussionForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            discussion = posts.discussion_start(
                access=access,
                author=_me(request),
                title=form.cleaned_data["title"],
                body=form.cleaned_data["body"],
                images=form.cleaned_data["images"],
            )
        except DomainError as error:
            for field, field_errors in error.fields.items():
                form.add_error(field if field in form.fields else None, field_errors)
            if not error.fields:
                form.add_error(None, error.message)
        else:
            if discussion.status == PostStatus.HELD:
                flash.warning(
                    request, "Your discussion is waiting for a moderator before it is published."
                )
            return redirect(discussion)
    return render(
        request,
        "messaging/community/discussion_form.html",
        {"group": access.group, "access": access, "form": form},
    )


@login_required
@require_GET
def discussion_detail(request: HttpRequest, discussion_id: int) -> HttpResponse:
    discussion, access = _discussion(request, discussion_id)
    me = _me(request)
    try:
        after = int(request.GET["after"]) if request.GET.get("after") else None
    except ValueError:
        after = None
    if after is not None and not 0 <= after < 2**31:
        after = None
    replies, has_more = selectors.reply_page(
        discussion=discussion, access=access, user=me, after=after
    )
    reactions_of = selectors.reactions_on_page(discussion=discussion, replies=replies)
    for reply in replies:
        reply.reaction_list = selectors.reaction_summary(  # type: ignore[attr-defined]
            reactions_of.get(reply.pk, []), user=me
        )
    context = {
        "discussion": discussion,
        "group": discussion.group,
        "access": access,
        "replies": replies,
        "has_more": has_more,
        "last_seq": replies[-1].seq if replies else (after or 0),
        "paged": after is not None,
        "images": list(discussion.images.all()) if discussion.image_count else [],
        "reactions": selectors.reaction_summary(reactions_of[None], user=me),
        "following": getattr(discussion, "following", False),
        "editable": discussion.author_id == me.pk
        and discussion.status in (PostStatus.PUBLISHED, PostStatus.HELD)
        and posts.editable_until(discussion) > timezone.now(),
        "reaction_kinds": ReactionKind.choices,
        "reply_urls": REPLY_URLS,
    }
    return render(request, "messaging/community/discussion.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def discussion_edit(request: HttpRequest, discussion_id: int) -> HttpResponse:
    discussion, _access = _discussion(request, discussion_id)
    if discussion.author_id != _me(request).pk:
        raise Http404("No such discussion.")
    form = DiscussionEditForm(
        request.POST or None, initial={"title": discussion.title, "body": discussion.body}
    )
    if request.method == "POST" and form.is_valid():
        try:
            posts.post_edit(
                post=discussion,
                by=_me(request),
                title=form.cleaned_data["title"],
                body=form.cleaned_data["body"],
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            return redirect(discussion)
    return render(
        request,
        "messaging/community/edit_form.html",
        {"form": form, "group": discussion.group, "discussion": discussion, "what": "discussion"},
    )


@login_required
@require_POST
def discussion_delete(request: HttpRequest, discussion_id: int) -> HttpResponse:
    discussion, _access = _discussion(request, discussion_id)
    try:
        posts.post_delete(post=discussion, by=_me(request))
    except DomainError as error:
        _fail(request, error)
        return redirect(discussion)
    flash.success(request, "Your discussion was deleted.")
    return redirect(discussion.group)


@login_required
@require_POST
def reply_create(request: HttpRequest, discussion_id: int) -> HttpResponse:
    discussion, access = _discussion(request, discussion_id)
    form = ReplyForm(request.POST)
    if not form.is_valid():
        flash.error(request, _errors(form))
        return redirect(discussion)
    quote_of = None
    if form.cleaned_data.get("quote_of"):
        quote_of = Reply.objects.filter(
            pk=form.cleaned_data["quote_of"], discussion=discussion
        ).first()
    try:
        reply = posts.reply_post(
            access=access,
            discussion=discussion,
            author=_me(request),
            body=form.cleaned_data["body"],
            quote_of=quote_of,
        )
    except DomainError as error:
        _fail(request, error)
        return redirect(discussion)
    if reply.status == PostStatus.HELD:
        flash.warning(request, "Your reply is waiting for a moderator before it is published.")
    return redirect(reply)


@login_required
@require_http_methods(["GET", "POST"])
def reply_edit(request: HttpRequest, reply_id: int) -> HttpResponse:
    reply, _access = _reply(request, reply_id)
    if reply.author_id != _me(request).pk:
        raise Http404("No such reply.")
    form = ReplyEditForm(request.POST or None, initial={"body": reply.body})
    if request.method == "POST" and form.is_valid():
        try:
            posts.post_edit(post=reply, by=_me(request), body=form.cleaned_data["body"])
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            return redirect(reply)
    return render(
        request,
        "messaging/community/edit_form.html",
        {
            "form": form,
            "group": reply.discussion.group,
            "discussion": reply.discussion,
            "what": "reply",
        },
    )


@login_required
@require_POST
def reply_delete(request: HttpRequest, reply_id: int) -> HttpResponse:
    reply, _access = _reply(request, reply_id)
    try:
        posts.post_delete(post=reply, by=_me(request))
    except DomainError as error:
        _fail(request, error)
    else:
        flash.success(request, "Your reply was deleted.")
    return redirect(reply.discussion)


def _react(request: HttpRequest, discussion: Discussion, access: Access, reply: Reply | None):
    try:
        reactions.reaction_toggle(
            access=access,
            user=_me(request),
            discussion=discussion,
            reply=reply,
            kind=request.POST.get("kind", ""),
        )
    except DomainError as error:
        _fail(request, error)
    return redirect(reply or discussion)


@login_required
@require_POST
def discussion_react(request: HttpRequest, discussion_id: int) -> HttpResponse:
    discussion, access = _discussion(request, discussion_id)
    return _react(request, discussion, access, None)


@login_required
@require_POST
def reply_react(request: HttpRequest, reply_id: int) -> HttpResponse:
    reply, access = _reply(request, reply_id)
    return _react(request, reply.discussion, access, reply)


@login_required
@require_POST
def follow(request: HttpRequest, discussion_id: int) -> HttpResponse:
    discussion, access = _discussion(request, discussion_id)
    on = request.POST.get("on", "1") == "1"
    if on and not access.is_member:
        flash.error(request, "Join the group to follow its discussions.")
    else:
        reactions.follow_set(user=_me(request), discussion=discussion, on=on)
        flash.success(request, "You follow this discussion." if on else "You no longer follow it.")
    return redirect(discussion)


def _report(request: HttpRequest, discussion: Discussion, access: Access, reply: Reply | None):
    form = ReasonForm(request.POST)
    if not form.is_valid():
        flash.error(request, "Say what is wrong with this post.")
        return redirect(reply or discussion)
    try:
        moderation.post_report(
            access=access,
            reporter=_me(request),
            discussion=discussion,
            reply=reply,
            reason=form.cleaned_data["reason"],
        )
    except DomainError as error:
        _fail(request, error)
    else:
        flash.success(request, "Thank you. The group's moderators will look at it.")
    return redirect(reply or discussion)


@login_required
@require_POST
def discussion_report(request: HttpRequest, discussion_id: int) -> HttpResponse:
    discussion, access = _discussion(request, discussion_id)
    return _report(request, discussion, access, None)


@login_required
@require_POST
def reply_report(request: HttpRequest, reply_id: int) -> HttpResponse:
    reply, access = _reply(request, reply_id)
    return _report(request, reply.discussion, access, reply)


@login_required
@require_GET
def image(request: HttpRequest, discussion_id: int, image_id: int) -> FileResponse:
    discussion, access = _discussion(request, discussion_id)
    if discussion.status != PostStatus.PUBLISHED and not (
        access.can_moderate or discussion.author_id == _me(request).pk
    ):
        raise Http404("No such image.")
    stored = Image.objects.filter(pk=image_id, discussion=discussion).first()
    if stored is None:
        raise Http404("No such image.")
    return _image_response(stored.file, stored.content_type)


# --- moderation ----------------------------------------------------------------------------


@login_required
@require_GET
def moderation_queue(request: HttpRequest, group_id: int) -> HttpResponse:
    access = _group(request, group_id, need="moderate")
    group = access.group
    return render(
        request,
        "messaging/community/moderation.html",
        {
            "group": group,
            "access": access,
            **selectors.moderation_queue(group=group),
            "log": list(group.moderation_actions.select_related("moderator", "member")[:50]),
        },
    )


def _moderate(request: HttpRequest, access: Access, post: Discussion | Reply, back: str):
    if not access.can_moderate:
        raise Http404("No such post.")
    form = ModerateForm(request.POST)
    if not form.is_valid():
        flash.error(request, _errors(form))
        return redirect(back)
    try:
        moderation.post_moderate(
            access=access,
            moderator=_me(request),
            post=post,
            action=form.cleaned_data["action"],
            reason=form.cleaned_data["reason"],
        )
    except DomainError as error:
        _fail(request, error)
    else:
        flash.success(request, "Done. The author is told when a post is hidden or removed.")
    return redirect(back)


def _back(request: HttpRequest, default: str) -> str:
    return safe_next_url(request, default)


@login_required
@require_POST
def discussion_moderate(request: HttpRequest, discussion_id: int) -> HttpResponse:
    discussion, access = _discussion(request, discussion_id)
    return _moderate(
        request,
        access,
        discussion,
        _back(request, reverse("community:moderation", args=[discussion.group_id])),
    )


@login_required
@require_POST
def reply_moderate(request: HttpRequest, reply_id: int) -> HttpResponse:
    reply, access = _reply(request, reply_id)
    return _moderate(
        request,
        access,
        reply,
        _back(request, reverse("community:moderation", args=[reply.discussion.group_id])),
    )


@login_required
@require_POST
def report_dismiss(request: HttpRequest, report_id: int) -> HttpResponse:
    report = Report.objects.select_related("group").filter(pk=report_id).first()
    if report is None:
        raise Http404("No such report.")
    access = _group(request, report.group_id, need="moderate")
    moderation.report_dismiss(access=access, moderator=_me(request), report=report)
    flash.success(request, "The report was dismissed.")
    return redirect("community:moderation", report.group_id)


@login_required
@require_GET
def history(request: HttpRequest, discussion_id: int) -> HttpResponse:
    """The edit history of a discussion and its replies, for moderators."""
    discussion, access = _discussion(request, discussion_id)
    if not access.can_moderate:
        raise Http404("No such discussion.")
    revisions = Revision.objects.filter(discussion=discussion).select_related("edited_by", "reply")
    return render(
        request,
        "messaging/community/history.html",
        {"discussion": discussion, "group": discussion.group, "revisions": revisions},
    )


# --- notifications -------------------------------------------------------------------------


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.notifications_for(user=_me(request)), 30).get_page(
        request.GET.get("page")
    )
    return render(request, "messaging/community/notifications.html", {"page": page})


@login_required
@require_POST
def notifications_read(request: HttpRequest) -> HttpResponse:
    notifications.notification_mark_read(user=_me(request))
    return redirect("community:notifications")


@login_required
@require_http_methods(["GET", "POST"])
def digest_preference(request: HttpRequest) -> HttpResponse:
    preference = notifications.digest_preference_for(user=_me(request))
    form = DigestPreferenceForm(request.POST or None, instance=preference)
    if request.method == "POST" and form.is_valid():
        notifications.digest_preference_set(
            user=_me(request), frequency=form.cleaned_data["frequency"]
        )
        flash.success(request, "Your e-mail preference is saved.")
        return redirect_to_next(request, "community:digest_preference")
    return render(request, "messaging/community/digest_preference.html", {"form": form})


def digest_preference_section(request: HttpRequest) -> dict | None:
    """The account settings page's community e-mail section, for a signed-in person."""
    if not request.user.is_authenticated:
        return None
    preference = notifications.digest_preference_for(user=_me(request))
    return {"form": DigestPreferenceForm(instance=preference)}


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """One-click unsubscribe (RFC 8058): a mail client POSTs ``List-Unsubscribe=One-Click``
    with no session and no CSRF token; the signed token is the proof. A GET (a person
    following the link, or a scanner prefetching it) only shows a button that POSTs."""
    user = notifications.user_for_unsubscribe_token(token)
    if user is None:
        return render(
            request, "messaging/community/unsubscribe.html", {"invalid": True}, status=404
        )
    if request.method == "POST":
        notifications.unsubscribe(token=token)
        return render(request, "messaging/community/unsubscribe.html", {"done": True})
    return render(request, "messaging/community/unsubscribe.html", {"token": token})
