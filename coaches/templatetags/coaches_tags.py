"""Template helpers for the coaches pages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django import forms, template
from django.forms.boundfield import BoundField
from django.forms.utils import flatatt
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from coaches.models import CoachProfile

register = template.Library()


@register.simple_tag
def quick_widget(field: BoundField) -> SafeString:
    """Render a text-like input or a single select of a *bound* form in Python.

    The search page has a dozen filters; Django's template-based widget rendering (two
    template includes per ``<option>``) cost more than the search itself. Output matches
    Django's own markup (``id``, ``name``, attributes, ``selected``) and is escaped.
    """
    widget = field.field.widget
    attrs = widget.build_attrs(widget.attrs, {"id": field.auto_id})
    if field.errors:
        attrs["aria-invalid"] = "true"
    value = field.value()
    if isinstance(widget, forms.Select) and not widget.allow_multiple_selected:
        current = "" if value is None else str(value)
        choices = getattr(field.field, "choices", [])
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (choice, " selected" if str(choice) == current else "", label)
                for choice, label in choices
            ),
        )
        return format_html(
            '<select name="{}"{}>{}</select>', field.html_name, flatatt(attrs), options
        )
    input_type = getattr(widget, "input_type", "text")
    if value not in (None, ""):
        attrs["value"] = str(value)
    return format_html('<input type="{}" name="{}"{}>', input_type, field.html_name, flatatt(attrs))


# CSS size of each avatar class -> the stored photo size drawn in it (coaches.services.photos)
AVATAR_PHOTO_SIZES = {"xs": "small", "sm": "small", "md": "medium", "lg": "large"}
AVATAR_PIXELS = {"xs": 32, "sm": 48, "md": 80, "lg": 160}


def initials(name: str) -> str:
    """Up to two initials of a name ("Cora van Coach" -> "CC"), for a person without a photo."""
    words = [word for word in name.replace("@", " ").split() if word[:1].isalnum()]
    if not words:
        return "?"
    letters = words[0][0] + (words[-1][0] if len(words) > 1 else "")
    return letters.upper()


@register.simple_tag
def avatar(person: Any, size: str = "sm", *, alt: str = "") -> SafeString:
    """A person's picture: a public coach's photo (the stored square of the right size), or
    their initials. ``person`` is a ``CoachProfile`` or a ``User``. The picture is decorative
    beside the name unless ``alt`` names it."""
    size = size if size in AVATAR_PHOTO_SIZES else "sm"
    profile = person if isinstance(person, CoachProfile) else _coach_profile_of(person)
    name = profile.user.display_name if profile is not None else person.display_name
    if profile is not None and profile.photo and profile.is_bookable:
        url = reverse("coaches:photo", args=[profile.slug])
        pixels = AVATAR_PIXELS[size]
        return format_html(
            '<img class="avatar avatar-{}" src="{}?size={}" alt="{}" width="{}" height="{}"'
            ' loading="lazy" decoding="async">',
            size,
            url,
            AVATAR_PHOTO_SIZES[size],
            alt,
            pixels,
            pixels,
        )
    label = (
        format_html(' role="img" aria-label="{}"', alt)
        if alt
        else SafeString(' aria-hidden="true"')
    )
    return format_html('<span class="avatar avatar-{}"{}>{}</span>', size, label, initials(name))


def _coach_profile_of(user: Any) -> CoachProfile | None:
    if user is None or not getattr(user, "pk", None):
        return None
    try:
        return user.coach_profile
    except CoachProfile.DoesNotExist:
        return None


@register.filter
def utc_iso(moment: datetime) -> str:
    """An aware instant as ISO 8601 in UTC with ``Z`` (what slot links carry)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
