from __future__ import annotations

from typing import Any

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.middleware.csrf import get_token
from django.utils.html import format_html
from django.utils.safestring import SafeString

from billing_portal.catalog.models import PlanPrice
from billing_portal.core.money import Money
from billing_portal.portal.context import FORM_ORG_FIELD

register = template.Library()


@register.filter
def base_price(price: PlanPrice, interval: str) -> str:
    return price.base(interval).format()


@register.filter
def seat_price(price: PlanPrice, interval: str) -> str:
    return price.seat(interval).format()


@register.filter
def quota_label(value: int | None) -> str:
    return "Unlimited" if value is None else intcomma(value)


@register.filter
def money(amount: int, currency: str) -> str:
    """An integer of minor units in `currency`, formatted: {{ invoice.total|money:invoice.currency }}."""
    return Money(int(amount), currency).format()


@register.filter
def percent_of(used: int, limit: int | None) -> int:
    """How full a quota bar is, 0 to 100 (the grace zone shows as a full, patterned bar)."""
    if not limit:
        return 0
    return min(100, used * 100 // limit)


@register.simple_tag(takes_context=True)
def portal_form(context: dict[str, Any]) -> SafeString:
    """What every portal form sends besides its fields: the CSRF token and the org its page was for."""
    return format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
                       '<input type="hidden" name="{}" value="{}">',
                       get_token(context["request"]), FORM_ORG_FIELD, context["ctx"].org.pk)
