"""Messaging pages: inbox, a conversation, and the forms posted from them.

Every view reads the thread through ``selectors.thread_get_for_user``, so a non-participant
gets the same 404 as for a thread that does not exist.
"""

from __future__ import annotations

from typing import cast

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from marketplace.errors import DomainError, NotFound
from marketplace.models import User
from messaging import selectors, services
from messaging.forms import MessageForm, ReportForm, StartThreadForm


def _me(request) -> User:
    """The signed-in user (the view is behind a login, permission or staff check)."""
    return cast(User, request.user)


def _thread_or_404(request: HttpRequest, thread_id: int):
    try:
        return selectors.thread_get_for_user(thread_id=thread_id, user=_me(request))
    except NotFound as error:
        raise Http404(error.message) from None


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.thread_list_for_user(user=_me(request)), 20).get_page(
        request.GET.get("page")
    )
    threads = list(page.object_list)
    last = selectors.thread_last_messages(threads=threads)
    rows = [
        {
            "thread": thread,
            "other": thread.other_participant(_me(request)),
            "last": last.get(thread.pk),
        }
        for thread in threads
    ]
    return render(request, "messaging/inbox.html", {"page": page, "rows": rows})


@login_required
@require_GET
def thread_detail(request: HttpRequest, thread_id: int) -> HttpResponse:
    thread = _thread_or_404(request, thread_id)
    participant = thread.is_participant(_me(request))
    try:
        before = int(request.GET["before"]) if request.GET.get("before") else None
    except ValueError:
        before = None
    page, has_older = selectors.message_page(thread=thread, before=before)
    if participant and before is None:
        services.thread_mark_read(thread=thread, user=_me(request))
    other = thread.other_participant(_me(request))
    context = {
        "thread": thread,
        "participant": participant,
        "other": other,
        "messages_page": page,
        "has_older": has_older,
        "oldest_seq": page[0].seq if page else 0,
        "last_seq": page[-1].seq if page else 0,
        "paged": before is not None,
        "other_read_seq": selectors.other_read_seq(thread=thread, user=_me(request)),
        "form": MessageForm(),
        "report_form": ReportForm(),
        "i_blocked": participant and selectors.has_blocked(blocker=_me(request), blocked=other),
        "blocked": participant and selectors.is_blocked_between(first=_me(request), second=other),
        "booking": thread.booking,
    }
    return render(request, "messaging/thread.html", context)


@login_required
@require_POST
def start(request: HttpRequest) -> HttpResponse:
    """The "Message" button of a coach's profile or a booking: find or open the thread."""
    form = StartThreadForm(request.POST)
    if not form.is_valid():
        flash.error(request, "Choose a coach to message.")
        return redirect("messaging:inbox")
    booking = None
    if form.cleaned_data.get("booking"):
        booking = selectors.booking_get(booking_id=form.cleaned_data["booking"])
        if booking is None:
            raise Http404("No such booking.")
    coach = User.objects.filter(pk=form.cleaned_data.get("coach") or 0).first()
    try:
        thread = services.thread_open(by=_me(request), coach=coach, booking=booking)
    except NotFound as error:
        raise Http404(error.message) from None
    except DomainError as error:
        flash.error(request, error.message)
        return redirect("messaging:inbox")
    return redirect(thread)


@login_required
@require_POST
def send(request: HttpRequest, thread_id: int) -> HttpResponse:
    """The form post without JavaScript; the page's script posts to the API instead."""
    thread = _thread_or_404(request, thread_id)
    form = MessageForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.message_send(
                thread=thread,
                sender=_me(request),
                body=form.cleaned_data["body"],
                attachment=form.cleaned_data.get("attachment"),
            )
        except NotFound as error:
            raise Http404(error.message) from None
        except DomainError as error:
            flash.error(request, error.message)
    else:
        flash.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect(thread)


@login_required
@require_POST
def report(request: HttpRequest, thread_id: int, message_id: int) -> HttpResponse:
    thread = _thread_or_404(request, thread_id)
    try:
        message = selectors.message_get_for_participant(message_id=message_id, user=_me(request))
    except NotFound as error:
        raise Http404(error.message) from None
    if message.thread_id != thread.pk:
        raise Http404("No such message.")
    form = ReportForm(request.POST)
    if not form.is_valid():
        flash.error(request, "Say what is wrong with this message.")
        return redirect(thread)
    try:
        services.message_report(
            message=message, reporter=_me(request), reason=form.cleaned_data["reason"]
        )
    except DomainError as error:
        flash.error(request, error.message)
    else:
        flash.success(request, "Thank you. A moderator will look at this message.")
    return redirect(thread)


@login_required
@require_POST
def block(request: HttpRequest, thread_id: int) -> HttpResponse:
    thread = _thread_or_404(request, thread_id)
    if not thread.is_participant(_me(request)):
        raise Http404("No such conversation.")
    other = thread.other_participant(_me(request))
    services.user_block(blocker=_me(request), blocked=other)
    flash.success(
        request, f"You blocked {other.display_name}. Neither of you can send messages here."
    )
    return redirect(thread)


@login_required
@require_POST
def unblock(request: HttpRequest, thread_id: int) -> HttpResponse:
    thread = _thread_or_404(request, thread_id)
    if not thread.is_participant(_me(request)):
        raise Http404("No such conversation.")
    other = thread.other_participant(_me(request))
    services.user_unblock(blocker=_me(request), blocked=other)
    flash.success(request, f"You unblocked {other.display_name}.")
    return redirect(thread)


@login_required
@require_GET
def attachment(request: HttpRequest, thread_id: int, message_id: int) -> FileResponse:
    """Serve an attachment to the participants (and moderators): never from the web root."""
    thread = _thread_or_404(request, thread_id)
    message = thread.messages.filter(pk=message_id).exclude(attachment="").first()
    if message is None or (message.is_hidden and thread.is_participant(_me(request))):
        raise Http404("No such attachment.")
    response = FileResponse(
        message.attachment.open("rb"),
        content_type=message.attachment_type,
        as_attachment=not message.attachment_is_image,
        filename=message.attachment_name or "attachment",
    )
    response["Cache-Control"] = "private, max-age=0, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
