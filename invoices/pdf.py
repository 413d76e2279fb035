"""Invoice PDFs: rendered with WeasyPrint from templates/invoices/pdf.html, kept in private storage.

A stored PDF carries a fingerprint of everything it shows. Rendering again is skipped while the fingerprint
still matches and happens when it does not (open -> past due -> paid), so the Celery task and the download
view can both simply ask for "the current PDF".
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import posixpath
import threading
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

from babel import Locale
from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile, File
from django.db import transaction
from django.template.loader import render_to_string
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

from billing_portal.audit.services import Actor
from billing_portal.core import clock
from billing_portal.core.errors import Conflict
from billing_portal.core.money import Money
from invoices.models import Invoice, InvoiceEventKind, InvoiceStatus, invoice_pdf_storage
from invoices.services import invoice_event_record

# Part of every fingerprint: bump it when the layout changes enough that stored PDFs should be made again.
PDF_LAYOUT_VERSION = 1
RENDERER = Actor.system("invoice_pdf")
STATIC_SCHEME = "static:"
STYLESHEET = f"{STATIC_SCHEME}css/invoice.css"
PAYMENT_PATH = "/billing/payment/"

_SHOWN_FIELDS = (
    "number", "status", "currency", "issued_at", "due_at", "paid_at", "period_start", "period_end", "seller",
    "billed_name", "timezone", "billing_email", "tax_id", "billing_address", "country", "tax_name", "tax_rate_bp",
    "subtotal", "tax", "total", "credit_applied", "amount_paid", "memo",
)  # fmt: skip
_LINE_FIELDS = ("description", "quantity", "unit_amount", "amount", "period_start", "period_end")
# Renders that change what they read while we render are retried; past this the caller gets a Conflict.
_ATTEMPTS = 3


class StaticAssetFetcher(URLFetcher):
    """Serves `static:<path>` from Django's static files; refuses every other URL (no HTTP, no file paths)."""

    def __init__(self) -> None:
        # A missing font or stylesheet must fail the render, not quietly produce a PDF in a fallback font.
        super().__init__(fail_on_errors=True)

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        if not url.startswith(STATIC_SCHEME):
            raise ValueError(f"Invoice PDFs load only {STATIC_SCHEME} assets, not {url!r}.")
        name = posixpath.normpath(unquote(url.removeprefix(STATIC_SCHEME)))
        if name.startswith(("/", "..")):
            raise ValueError(f"{url!r} points outside the static files.")
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, body=_read_static(name), headers={"Content-Type": content_type})


def _read_static(name: str) -> bytes:
    """The source files (finders) where they ship with the code, else the collected static storage."""
    path = finders.find(name)
    if path:
        with open(path, "rb") as source:
            return source.read()
    with staticfiles_storage.open(name) as stored:
        return stored.read()


_local = threading.local()


def _styles() -> tuple[FontConfiguration, CSS]:
    """Per thread, the stylesheet is parsed and its @font-face files loaded once, not on every render."""
    if not hasattr(_local, "styles"):
        font_config = FontConfiguration()
        stylesheet = CSS(url=STYLESHEET, url_fetcher=StaticAssetFetcher(), font_config=font_config)
        _local.styles = (font_config, stylesheet)
    return _local.styles


def invoice_document_name(invoice: Invoice) -> str:
    """The name finance sees on files: the invoice number (Stripe-numbered invoices use Stripe's id)."""
    return invoice.number or invoice.stripe_invoice_id or f"invoice-{invoice.pk}"


def invoice_pdf_fingerprint(invoice: Invoice) -> str:
    shown = {
        "layout": PDF_LAYOUT_VERSION,
        "invoice": [getattr(invoice, field) for field in _SHOWN_FIELDS],
        "lines": list(invoice.lines.order_by("position").values_list(*_LINE_FIELDS)),
    }
    # Sorted keys: a JSON field read back from PostgreSQL (jsonb) has its keys in another order.
    return hashlib.sha256(json.dumps(shown, default=str, sort_keys=True).encode()).hexdigest()


def _local_date(value: datetime | None, tz: tzinfo) -> date | None:
    """The day in the org's time zone as frozen on the invoice: the days its periods are counted in."""
    return value.astimezone(tz).date() if value else None


def _percent(basis_points: int) -> str:
    return f"{Decimal(basis_points).scaleb(-2).normalize():f}%"


def _context(invoice: Invoice) -> dict[str, Any]:
    def money(amount: int) -> str:
        return Money(amount, invoice.currency).format()

    tz = ZoneInfo(invoice.timezone)

    lines = [
        {
            "description": line.description,
            "period_start": _local_date(line.period_start, tz),
            "period_end": _local_date(line.period_end, tz),
            "quantity": line.quantity,
            "unit_amount": money(line.unit_amount) if line.unit_amount is not None else "",
            "amount": money(line.amount),
        }
        for line in invoice.lines.order_by("position")
    ]
    amount_due = invoice.amount_due.format()
    tax_label = f"{invoice.tax_name or 'Tax'} ({_percent(invoice.tax_rate_bp)})"
    totals = [
        {"label": "Subtotal", "value": money(invoice.subtotal)},
        {"label": tax_label, "value": money(invoice.tax)},
        {"label": "Total", "value": money(invoice.total), "css": "total"},
        *([{"label": "Account credit applied", "value": money(-invoice.credit_applied)}]
          if invoice.credit_applied else []),
        *([{"label": "Added to your account credit", "value": money(-invoice.total)}] if invoice.total < 0 else []),
        {"label": "Amount paid", "value": money(invoice.amount_paid)},
        {"label": "Amount due", "value": amount_due, "css": f"due {invoice.status}"},
    ]
    return {
        "seller": invoice.seller_details,
        "invoice": invoice,
        "status_label": invoice.get_status_display().upper(),
        "country_name": Locale("en").territories.get(invoice.country, invoice.country),
        "issued_on": _local_date(invoice.issued_at, tz),
        "due_on": _local_date(invoice.due_at, tz),
        "paid_on": _local_date(invoice.paid_at, tz),
        "period_start": _local_date(invoice.period_start, tz),
        "period_end": _local_date(invoice.period_end, tz),
        "lines": lines,
        "totals": totals,
        "amount_due": amount_due,
        "payment_url": settings.PORTAL_BASE_URL.rstrip("/") + PAYMENT_PATH,
    }


def invoice_pdf_bytes(*, invoice: Invoice) -> bytes:
    """The PDF as it would be rendered now; nothing is stored."""
    html = render_to_string("invoices/pdf.html", _context(invoice))
    try:
        font_config, stylesheet = _styles()
        document = HTML(string=html, url_fetcher=StaticAssetFetcher())
        return document.write_pdf(stylesheets=[stylesheet], font_config=font_config)
    except FatalURLFetchingError as error:
        # WeasyPrint's fatal error is a BaseException; as one it would take a Celery worker down with it.
        raise ImproperlyConfigured(f"An invoice PDF asset could not be loaded: {error}") from error


def invoice_pdf_open(invoice: Invoice) -> File:
    """The stored PDF, opened for reading.

    Always through `invoice_pdf_storage()`: the FileField bound its storage when the model was imported, so
    `invoice.pdf.open()` would miss a storage configured later (as the tests do).
    """
    return invoice_pdf_storage().open(invoice.pdf.name, "rb")


def _is_current(invoice: Invoice, fingerprint: str) -> bool:
    name = invoice.pdf.name
    return invoice.pdf_fingerprint == fingerprint and bool(name) and invoice_pdf_storage().exists(name)


def _store(rendered: Invoice, fingerprint: str, content: bytes, actor: Actor) -> Invoice | None:
    """Attach the new file if the invoice still shows what was rendered; None when it changed meanwhile."""
    storage = invoice_pdf_storage()
    wanted = f"{rendered.issued_at:%Y/%m}/{invoice_document_name(rendered)}-{fingerprint[:8]}.pdf"
    name = storage.save(wanted, ContentFile(content))
    attached = False
    try:
        with transaction.atomic():
            # Lock the invoice only: the org is read for its clock; org changes need not wait on a PDF.
            locked = Invoice.objects.select_for_update(of=("self",)).select_related("org")
            invoice = locked.get(pk=rendered.pk)
            if invoice_pdf_fingerprint(invoice) != fingerprint:
                return None
            if invoice.pdf.name != name and _is_current(invoice, fingerprint):
                return invoice  # another worker stored the same PDF first
            previous = invoice.pdf.name
            invoice.pdf.name = name
            invoice.pdf_fingerprint = fingerprint
            invoice.pdf_rendered_at = clock.now(org=invoice.org)
            invoice.save(update_fields=["pdf", "pdf_fingerprint", "pdf_rendered_at"])
            invoice_event_record(invoice, InvoiceEventKind.PDF_RENDERED, actor, file=name, fingerprint=fingerprint,
                   size=len(content))
            if previous and previous != name:
                transaction.on_commit(lambda: storage.delete(previous))
        attached = True
        return invoice
    finally:
        if not attached:
            storage.delete(name)


def invoice_render_pdf(*, invoice: Invoice, actor: Actor = RENDERER) -> Invoice:
    """Make the stored PDF show the invoice as it is: render and store it when missing or stale, else nothing.

    Returns the invoice as stored, with `pdf` pointing at the current file. Drafts have no PDF.
    """
    for _ in range(_ATTEMPTS):
        current = Invoice.objects.select_related("org").get(pk=invoice.pk)
        if current.status == InvoiceStatus.DRAFT:
            raise Conflict(f"{current} is a draft; drafts have no PDF.")
        fingerprint = invoice_pdf_fingerprint(current)
        if _is_current(current, fingerprint):
            return current
        stored = _store(current, fingerprint, invoice_pdf_bytes(invoice=current), actor)
        if stored is not None:
            return stored
    raise Conflict(f"Invoice {invoice} kept changing while its PDF was rendered; try again.")
