"""Template helpers for the coaches pages."""

from __future__ import annotations

from django import forms, template
from django.forms.boundfield import BoundField
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

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
