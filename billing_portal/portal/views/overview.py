from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.selectors import seat_count
from billing_portal.portal.context import BILLING, MEMBER, PortalContext, org_view
from billing_portal.portal.pages import render_page
from billing_portal.subscriptions.selectors import next_charge, status_css, status_label, trial_days_left
from invoices.account_credit import account_credit_balance
from metering.selectors import credit_balance


@org_view(MEMBER)
def home(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    """Where sign-in lands: billing people go to Overview; others see their orgs, with no billing links."""
    if ctx.can_see_billing:
        return redirect("portal:overview")
    return render(request, "portal/home.html", {"ctx": ctx, "spaces": ctx.org.spaces.order_by("name")})


@org_view(BILLING)
def overview(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    subscription = ctx.org.subscription
    return render_page(
        request, ctx, "portal/overview.html", "overview",
        subscription=subscription, seats=seat_count(ctx.org), status_text=status_label(subscription),
        status_class=status_css(subscription), next_charge=next_charge(subscription),
        trial_days=trial_days_left(subscription),
        account_credit=account_credit_balance(ctx.org, subscription.currency),
        balance=credit_balance(org=ctx.org, member=ctx.membership),  # the viewer's own pool on per-member plans
    )
