from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse

from billing_portal.audit.models import AuditEntry
from billing_portal.portal.context import OWNER, PortalContext, org_view
from billing_portal.portal.pages import render_page


@org_view(OWNER)
def activity(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    """The org's audit trail, for its owner: every change of plan, seats, credits, invoices, keys and roles."""
    entries = AuditEntry.objects.filter(org=ctx.org).order_by("-at", "-id")
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render_page(request, ctx, "portal/activity.html", "activity", page=page)
