from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.selectors import seat_count
from billing_portal.portal.context import MEMBER, PortalContext, org_view


@org_view(MEMBER)
def overview(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    subscription = ctx.org.subscription
    return render(
        request,
        "portal/overview.html",
        {"ctx": ctx, "subscription": subscription, "seats": seat_count(ctx.org), "tab": "overview"},
    )
