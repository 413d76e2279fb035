"""Rendering a billing page: every page gets the org context, its tab and the app-wide banners."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from billing_portal.core.numbers import whole_number
from billing_portal.portal.context import KEY_ADMINS, OWNER, PortalContext
from billing_portal.subscriptions.models import Status
from billing_portal.subscriptions.selectors import status_label, trial_days_left
from metering.selectors import MeterUsage, quota_usage


@dataclass(frozen=True)
class Banner:
    level: str  # info, warn or bad
    text: str
    link: str = ""
    link_text: str = ""


def banners(ctx: PortalContext, quotas: list[MeterUsage], extra: list[Banner] | None = None) -> list[Banner]:
    subscription = ctx.org.subscription
    found = list(extra or [])
    blocked = [usage.name for usage in quotas if usage.state == "blocked"]
    grace = [usage.name for usage in quotas if usage.state == "grace"]
    if blocked:
        found.append(Banner("bad", f"Limit reached for {', '.join(blocked)}: new calls are blocked until "
                                   f"{quotas[0].window.end:%b %-d}.", reverse("portal:plans"), "Upgrade"))
    if grace:
        found.append(Banner("warn", f"Over the monthly quota for {', '.join(grace)}: calls still succeed in the "
                                    "grace zone.", reverse("portal:usage"), "See usage"))
    days = trial_days_left(subscription)
    if days is not None:
        found.append(Banner("info", f"{subscription.plan.name} trial: {days} day{'s' if days != 1 else ''} left.",
                            reverse("portal:payment"), "Add a payment method"))
    if subscription.status == Status.PAST_DUE:
        found.append(Banner("bad", "Payment is past due.", reverse("portal:payment"), "Update payment method"))
    if subscription.status == Status.PAUSED:
        found.append(Banner("bad", "The trial ended without a payment method: metered work is paused.",
                            reverse("portal:payment"), "Add a payment method"))
    if status_label(subscription) == "Canceling":
        found.append(Banner("warn", f"Your plan is canceled and moves to Free on "
                                    f"{subscription.current_period_end:%b %-d, %Y}.", reverse("portal:plans"), "Undo"))
    return found


TABS = [
    ("overview", "Overview", "portal:overview"),
    ("usage", "Usage", "portal:usage"),
    ("credits", "Credits", "portal:credits"),
    ("invoices", "Invoices", "portal:invoices"),
    ("payment", "Payment", "portal:payment"),
    ("plans", "Plans", "portal:plans"),
    ("members", "Members", "portal:members"),
    ("activity", "Activity", "portal:activity"),
    ("api-keys", "API keys", "portal:api-keys"),
]
# Tabs only some roles see; the rest are for everyone who sees billing.
TAB_RULES = {"activity": OWNER, "api-keys": KEY_ADMINS}  # the same rules as the pages' own org_view


def render_page(request: HttpRequest, ctx: PortalContext, template: str, tab: str, *,
                extra_banners: list[Banner] | None = None, status: int = 200, **context: Any) -> HttpResponse:
    tabs = [(key, label, reverse(url)) for key, label, url in TABS
            if key not in TAB_RULES or TAB_RULES[key](ctx)]
    quotas = context.pop("quotas", None) or quota_usage(org=ctx.org)
    return render(request, template, {
        "ctx": ctx, "tab": tab, "tabs": tabs, "banners": banners(ctx, quotas, extra_banners), "quotas": quotas,
        **context,
    }, status=status)


def page_number(request: HttpRequest) -> int:
    """The ?page= number, 1 for anything that is not a positive whole number."""
    return whole_number(request.GET.get("page", "")) or 1


def redirect_to_next(request: HttpRequest, default: str) -> HttpResponse:
    """Back to the page a form came from (its `next` field) when that is a path on this site, else to `default`
    (a URL name): never off-site, and never a 500 for a malformed value."""
    target = request.POST.get("next", "")
    on_this_site = target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return HttpResponseRedirect(target) if on_this_site else redirect(default)
