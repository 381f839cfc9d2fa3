"""Formatting filters every template may load: ``{% load marketplace_format %}``.

``{{ amount|money:currency }}`` (minor units, the viewer's locale), ``{{ moment|when:zone }}``
and ``{{ moment|when_short:zone }}`` (the moment in the named zone, with its name),
``{{ moment|day:zone }}`` (its calendar day there).
"""

from __future__ import annotations

from datetime import datetime

from django import template

from marketplace.dates import format_day, format_short, format_when
from marketplace.money import format_money

register = template.Library()


@register.filter
def money(amount: int | None, currency: str) -> str:
    if amount is None or not currency:
        return ""
    return format_money(int(amount), currency)


@register.filter
def when(moment: datetime | None, zone_name: str | None) -> str:
    return format_when(moment, zone_name) if moment else ""


@register.filter
def day(moment: datetime | None, zone_name: str | None) -> str:
    """``{{ moment|day:zone }}``: the moment's calendar day in the zone, "15 Jan 2027"."""
    return format_day(moment, zone_name) if moment else ""


@register.filter
def when_short(moment: datetime | None, zone_name: str | None) -> str:
    return format_short(moment, zone_name) if moment else ""
