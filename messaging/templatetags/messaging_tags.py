from django import template
from django.utils.safestring import SafeString

from messaging.rendering import body_html

register = template.Library()


@register.filter
def message_html(text: str) -> SafeString:
    """Escaped message text with clickable links (``rel="nofollow noopener"``)."""
    return body_html(text or "")


@register.inclusion_tag("messaging/_booking_conversation.html", takes_context=True)
def booking_conversation(context, booking) -> dict:
    """The conversation about ``booking`` for its page: the latest messages and a link, or a
    button that opens the thread. Use: ``{% load messaging_tags %}{% booking_conversation
    booking %}``."""
    from messaging import selectors

    user = context["request"].user
    thread = selectors.thread_for_booking(booking=booking, user=user)
    latest = selectors.message_page(thread=thread, limit=3)[0] if thread else []
    return {
        "booking": booking,
        "thread": thread,
        "latest": latest,
        "unread": selectors.unread_count(user=user, thread_id=thread.pk) if thread else 0,
        "csrf_token": context.get("csrf_token"),
        "may_message": user.is_authenticated
        and user.pk in (booking.client_id, booking.coach.user_id),
    }
