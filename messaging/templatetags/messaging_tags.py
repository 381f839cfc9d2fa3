from django import template
from django.utils.safestring import SafeString

from messaging.rendering import body_html

register = template.Library()


@register.filter
def message_html(text: str) -> SafeString:
    """Escaped message text with clickable links (``rel="nofollow noopener"``)."""
    return body_html(text or "")
