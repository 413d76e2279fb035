"""Invoice PDF download: served from storage to staff and to the billing readers of the invoice's org."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.views.decorators.cache import never_cache

from accounts.permissions import can_see_billing
from accounts.selectors import membership_for
from billing_portal.audit.services import Actor
from invoices.models import Invoice
from invoices.pdf import invoice_document_name, invoice_pdf_open, invoice_render_pdf


@never_cache
@login_required
def invoice_pdf(request: HttpRequest, invoice_id: int) -> FileResponse:
    invoice = get_object_or_404(Invoice.objects.finalized().select_related("org"), pk=invoice_id)
    if not request.user.is_staff:
        membership = membership_for(user=request.user, org=invoice.org)
        if membership is None:
            raise Http404("No such invoice.")  # another org's invoice: do not confirm that it exists
        if not can_see_billing(membership):
            raise PermissionDenied("Your role in this organization cannot see invoices.")
    return pdf_download(invoice, Actor.for_user(request.user))


def pdf_download(invoice: Invoice, actor: Actor) -> FileResponse:
    """The invoice's PDF as an attachment (for the portal and the API)."""
    # Normally the Celery task has stored it already; a missing or stale PDF is rendered here, once.
    invoice = invoice_render_pdf(invoice=invoice, actor=actor)
    return FileResponse(
        invoice_pdf_open(invoice),
        as_attachment=True,
        filename=f"{invoice_document_name(invoice)}.pdf",
        content_type="application/pdf",
    )
