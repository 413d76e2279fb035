"""Beat's catch-up for invoice PDFs: renders that were never queued (the broker was down) or never finished.

Every change that alters what an invoice's PDF shows records an event and queues a render. An invoice whose
latest such event is newer than its latest render (or that was never rendered) may therefore lack its current
PDF; rendering it again is safe, because the render first compares the stored fingerprint and does nothing
when the PDF is already current.
"""

from __future__ import annotations

from django.db.models import F, OuterRef, Q, QuerySet, Subquery

from billing_portal.audit.services import Actor
from invoices.models import Invoice, InvoiceEvent, InvoiceEventKind

# The events after which the PDF shows something else (a refund or an email changes nothing on it).
PDF_CHANGING_EVENTS = (
    InvoiceEventKind.FINALIZED,
    InvoiceEventKind.PAID,
    InvoiceEventKind.PAYMENT_FAILED,
    InvoiceEventKind.VOIDED,
    InvoiceEventKind.UNCOLLECTIBLE,
)


def _latest_event(*kinds: str) -> Subquery:
    events = InvoiceEvent.objects.filter(invoice=OuterRef("pk"), kind__in=kinds).order_by("-pk")
    return Subquery(events.values("pk")[:1])


def invoices_pdf_pending() -> QuerySet[Invoice]:
    """Finalized invoices never rendered, or changed since their last render."""
    return (
        Invoice.objects.finalized()
        .annotate(rendered=_latest_event(InvoiceEventKind.PDF_RENDERED), changed=_latest_event(*PDF_CHANGING_EVENTS))
        .filter(Q(rendered__isnull=True) | Q(changed__gt=F("rendered")))
    )


def invoice_pdf_catch_up(*, invoice_id: int, actor: Actor) -> str:
    from invoices.pdf import invoice_render_pdf  # WeasyPrint is loaded only by the processes that render

    invoice = Invoice.objects.get(pk=invoice_id)
    current = invoice_render_pdf(invoice=invoice, actor=actor)
    return "rendered" if current.pdf.name != invoice.pdf.name else "already done"
