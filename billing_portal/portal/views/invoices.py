from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from billing_portal.payments.services import invoice_collect
from billing_portal.portal.context import BILLING, MANAGERS, PortalContext, org_view
from billing_portal.portal.pages import render_page
from billing_portal.subscriptions.services.payment_state import subscription_sync_payment_state
from invoices.account_credit import account_credit_balance
from invoices.models import UNPAID_STATUSES, Invoice

PAGE_SIZE = 50


@org_view(BILLING)
def invoices(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    page = Paginator(Invoice.objects.of_org(ctx.org), PAGE_SIZE).get_page(request.GET.get("page"))
    return render_page(request, ctx, "portal/invoices.html", "invoices", page=page,
                       account_credit=account_credit_balance(ctx.org, ctx.org.subscription.currency))


@org_view(BILLING, writes=MANAGERS)
@require_POST
def pay_now(request: HttpRequest, ctx: PortalContext, invoice_id: int) -> HttpResponse:
    """Pay an open or past-due invoice now with the card on file (the owner is here: authentication passes)."""
    invoice = get_object_or_404(Invoice, pk=invoice_id, org=ctx.org, status__in=UNPAID_STATUSES)
    result = invoice_collect(invoice=invoice, actor=ctx.actor, on_session=True)
    subscription_sync_payment_state(org=ctx.org, actor=ctx.actor)
    if result.succeeded:
        messages.success(request, f"Invoice {invoice.number} is paid.")
    else:
        messages.error(request, f"Invoice {invoice.number} could not be paid: {result.failure_message}")
    return redirect("portal:invoices")
