"""Finance export: one month's finalized invoices as a ZIP of their PDFs plus a CSV register.

The month is the invoices' issue date in UTC, the same calendar their numbers' years follow. Voided and
uncollectible invoices are included: finance accounts for every number.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import zipfile
from datetime import UTC, datetime
from typing import TYPE_CHECKING, BinaryIO

from django.db.models import QuerySet

from billing_portal.core.errors import InvalidInput
from invoices.models import Invoice
from invoices.pdf import invoice_document_name, invoice_pdf_open, invoice_render_pdf

if TYPE_CHECKING:
    from accounts.models import Organization

CSV_COLUMNS = (
    "number", "org", "org_name", "issued_at", "period_start", "period_end", "due_at",
    "currency", "subtotal", "tax", "total", "credit_applied", "amount_paid", "status",
)  # fmt: skip
_MONEY_COLUMNS = ("subtotal", "tax", "total", "credit_applied", "amount_paid")
_DATE_COLUMNS = ("issued_at", "period_start", "period_end", "due_at")
# Spreadsheets run a cell that starts with one of these as a formula; customer-typed text must not.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def month_from_string(value: str) -> tuple[int, int]:
    """"2026-03" -> (2026, 3)."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", value.strip())
    # Years 1 to 9998: the month after the last one must still be a date.
    if match is None or not 1 <= int(match[1]) < 9999 or not 1 <= int(match[2]) <= 12:
        message = f"{value!r} is not a month; use YYYY-MM, e.g. 2026-03."
        raise InvalidInput(message, fields={"month": [message]})
    return int(match[1]), int(match[2])


def export_name(*, year: int, month: int, org: Organization | None = None) -> str:
    """The base name of an export's files, e.g. invoices-2026-03 or invoices-2026-03-acme."""
    return f"invoices-{year:04d}-{month:02d}" + (f"-{org.slug}" if org else "")


def invoices_issued_in_month(*, year: int, month: int, org: Organization | None = None) -> QuerySet[Invoice]:
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    invoices = (
        Invoice.objects.finalized()
        .filter(issued_at__gte=start, issued_at__lt=end)
        .order_by("issued_at", "number")
    )
    return invoices.filter(org=org) if org else invoices


def _text(value: str) -> str:
    return f"'{value}" if value.startswith(_FORMULA_STARTS) else value


def _csv_row(invoice: Invoice) -> list[str]:
    values = {
        "number": invoice_document_name(invoice),
        "org": _text(invoice.org.slug),
        "org_name": _text(invoice.billed_name),
        "currency": invoice.currency,
        "status": invoice.status,
    }
    for column in _MONEY_COLUMNS:
        values[column] = f"{invoice.money(column).major:f}"
    for column in _DATE_COLUMNS:
        moment = getattr(invoice, column)
        values[column] = moment.astimezone(UTC).isoformat() if moment else ""
    return [values[column] for column in CSV_COLUMNS]


def invoices_export_month(*, year: int, month: int, out: BinaryIO, org: Organization | None = None) -> int:
    """Write the month's ZIP to `out`; returns how many invoices it holds.

    Each PDF is brought up to date first, and its CSV row is taken from the same read of the invoice, so the
    register and the PDFs always agree.
    """
    name = export_name(year=year, month=month, org=org)
    register = io.StringIO()
    writer = csv.writer(register)
    writer.writerow(CSV_COLUMNS)
    count = 0
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for listed in invoices_issued_in_month(year=year, month=month, org=org):
            invoice = invoice_render_pdf(invoice=listed)
            entry_name = f"{invoice_document_name(invoice)}.pdf"
            with invoice_pdf_open(invoice) as pdf, archive.open(entry_name, "w") as entry:
                shutil.copyfileobj(pdf, entry)
            writer.writerow(_csv_row(invoice))
            count += 1
        # With a byte-order mark Excel reads the UTF-8 names correctly; csv readers with utf-8-sig skip it.
        archive.writestr(f"{name}.csv", register.getvalue().encode("utf-8-sig"))
    return count
