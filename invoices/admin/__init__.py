from __future__ import annotations

import tempfile
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from accounts.models import Organization
from billing_portal.core import clock
from billing_portal.core.admin import (
    AppendOnlyAdmin,
    AuditedChangesAdmin,
    OperationsAdmin,
    ReadOnlyInline,
    money_column,
)
from billing_portal.core.errors import InvalidInput
from billing_portal.core.money import Money
from billing_portal.payments.admin.operations import REFUND
from billing_portal.payments.models import Refund
from invoices.admin import operations
from invoices.export import export_name, invoices_export_month, month_from_string
from invoices.models import Invoice, InvoiceEvent, InvoiceLine, InvoiceSequence, InvoiceStatus, TaxRate

EXPORT_PERMISSION = "invoices.export_invoices"


class InvoiceLineInline(ReadOnlyInline):
    model = InvoiceLine
    fields = ["position", "kind", "description", "period_start", "period_end", "quantity", "unit_price",
              "amount_shown"]  # fmt: skip
    readonly_fields = fields
    show_change_link = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[InvoiceLine]:
        return super().get_queryset(request).select_related("invoice")

    @admin.display(description="unit price")
    def unit_price(self, line: InvoiceLine) -> str:
        return Money(line.unit_amount, line.invoice.currency).format() if line.unit_amount is not None else ""

    @admin.display(description="amount")
    def amount_shown(self, line: InvoiceLine) -> str:
        return Money(line.amount, line.invoice.currency).format()


class InvoiceEventInline(ReadOnlyInline):
    model = InvoiceEvent
    fields = ["at", "kind", "actor_label", "data"]
    readonly_fields = fields
    show_change_link = False


class RefundInline(ReadOnlyInline):
    """Refunds never edit the invoice: they are listed here, and in its history."""

    model = Refund
    fields = ["created_at", "amount_shown", "reason", "provider_reference", "refunded_by"]
    readonly_fields = fields
    show_change_link = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Refund]:
        return super().get_queryset(request).select_related("refunded_by")

    @admin.display(description="amount")
    def amount_shown(self, refund: Refund) -> str:
        return Money(refund.amount, refund.currency).format()


class ExportMonthForm(forms.Form):
    month = forms.CharField(help_text="YYYY-MM: invoices issued in that month (UTC).", max_length=7)
    org = forms.ModelChoiceField(
        Organization.objects.order_by("slug"), required=False, empty_label="All organizations",
        to_field_name="slug",
    )

    def clean_month(self) -> tuple[int, int]:
        try:
            return month_from_string(self.cleaned_data["month"])
        except InvalidInput as error:
            raise ValidationError(error.message) from error


@admin.register(Invoice)
class InvoiceAdmin(OperationsAdmin, AppendOnlyAdmin):
    """Invoices are made and changed only by the billing services; here they are looked up and exported, and
    finance voids, sends, re-renders and refunds them through those services."""

    list_display = ["__str__", "org", "kind", "status_shown", "total_shown", "issued_at", "due_at"]
    list_filter = ["status", "kind", "currency"]
    date_hierarchy = "issued_at"  # the issued-month filter, and what "Export month" exports
    search_fields = ["number", "org__slug", "org__name", "billing_email", "stripe_invoice_id"]
    list_select_related = ["org"]
    inlines = [InvoiceLineInline, InvoiceEventInline, RefundInline]
    operations = (*operations.OPERATIONS, REFUND)
    change_list_template = "invoices/admin/change_list.html"
    fieldsets = [
        (None, {"fields": ["number", "org", "subscription", "kind", "status", "currency", "period_start",
                           "period_end", "memo"]}),
        ("Dates", {"fields": ["created_at", "issued_at", "due_at", "paid_at"]}),
        ("Seller and buyer, as at finalization", {"fields": ["seller", "billed_name", "timezone", "billing_email",
                                                             "tax_id", "billing_address", "country"]}),
        ("Amounts", {"fields": ["subtotal_shown", "tax_name", "tax_rate_bp", "tax_shown", "total_shown",
                                "credit_applied_shown", "amount_paid_shown"]}),
        ("Collection", {"fields": ["attempt_count", "next_payment_attempt_at", "stripe_invoice_id"]}),
        ("PDF", {"fields": ["pdf_download", "pdf_rendered_at", "pdf_fingerprint"]}),
    ]  # fmt: skip
    readonly_fields = [name for _, options in fieldsets for name in options["fields"]]

    subtotal_shown = money_column("subtotal")
    tax_shown = money_column("tax")
    total_shown = money_column("total")
    credit_applied_shown = money_column("credit_applied")
    amount_paid_shown = money_column("amount_paid")

    @admin.display(description="status", ordering="status")
    def status_shown(self, invoice: Invoice) -> str:
        if invoice.status == InvoiceStatus.PAST_DUE:
            return format_html('<strong style="color: #c62828">{}</strong>', invoice.get_status_display())
        return invoice.get_status_display()

    @admin.display(description="PDF")
    def pdf_download(self, invoice: Invoice) -> str:
        if not invoice.is_finalized:
            return "Drafts have no PDF."
        return format_html('<a href="{}">Download PDF</a>', reverse("invoices:pdf", args=[invoice.pk]))

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = {**(extra_context or {}), "can_export": request.user.has_perm(EXPORT_PERMISSION)}
        return super().changelist_view(request, context)

    def get_urls(self) -> list[URLPattern]:
        export = path("export/", self.admin_site.admin_view(self.export_view), name="invoices_invoice_export")
        return [export, *super().get_urls()]

    def export_view(self, request: HttpRequest) -> HttpResponseBase:
        if not request.user.has_perm(EXPORT_PERMISSION):
            raise PermissionDenied
        form = ExportMonthForm(request.POST or None, initial={"month": _previous_month()})
        if request.method == "POST" and form.is_valid():
            (year, month), org = form.cleaned_data["month"], form.cleaned_data["org"]
            # A temporary file, not memory: a month of PDFs can be large. FileResponse streams and closes it.
            archive = tempfile.TemporaryFile()  # noqa: SIM115
            invoices_export_month(year=year, month=month, org=org, out=archive)
            archive.seek(0)
            filename = f"{export_name(year=year, month=month, org=org)}.zip"
            return FileResponse(archive, as_attachment=True, filename=filename,
                                content_type="application/zip")
        context = {**self.admin_site.each_context(request), "opts": self.opts, "form": form,
                   "title": "Export month"}
        return TemplateResponse(request, "invoices/admin/export.html", context)


def _previous_month() -> str:
    """Finance exports a month once it has closed, so the form starts on last month."""
    today = clock.now().date()
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{year:04d}-{month:02d}"


@admin.register(TaxRate)
class TaxRateAdmin(AuditedChangesAdmin):
    """A change applies to invoices finalized afterwards; finalized ones keep the rate they were issued with.
    Rates are set to 0 rather than deleted, so every change stays in the audit trail."""

    list_display = ["country", "name", "rate_bp"]
    search_fields = ["country", "name"]

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(InvoiceSequence)
class InvoiceSequenceAdmin(AppendOnlyAdmin):
    list_display = ["key", "last_value"]
