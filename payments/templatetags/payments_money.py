"""``{{ amount|money:currency }}``: minor units to a formatted amount, via format_money."""

from django import template

from marketplace.money import format_money

register = template.Library()


@register.filter
def money(amount: int | None, currency: str) -> str:
    if amount is None or not currency:
        return ""
    return format_money(int(amount), currency)
