from celery import shared_task

from invoices.models import Invoice


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def render_invoice_pdf(invoice_id: int) -> None:
    """Render (or re-render, when it changed) an invoice's PDF into storage."""
    from invoices.pdf import invoice_render_pdf

    invoice = Invoice.objects.filter(pk=invoice_id).first()
    if invoice is not None and invoice.is_finalized:
        invoice_render_pdf(invoice=invoice)
